"""Reproducible randomness, independent of batch composition.

Every random draw in spinlock is derived from ``(global seed, sample index, stream)``, so a
sample's θ, initial condition, weights and noise do not depend on which batch it was in, on
the batch size, or on the rank that made it: that is what makes replay and resume exact.

Two tools:

* :func:`generator_for` gives a ``torch.Generator`` for one-off per-sample draws
  (weights, initial conditions).
* :func:`counter_uniform` / :func:`counter_normal` give *stateless* counter-based draws for
  whole batches at once (noise at every time step) without a Python loop over samples: the
  value at element ``j`` of sample ``b`` at counter ``t`` is a hash of ``(key_b, t, j)``.
  The integer hash runs the same on every device, so these draws are bitwise identical on
  CPU and GPU.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported lazily so that the CLI starts fast
    import torch

__all__ = ["sample_seed", "generator_for", "sample_keys", "counter_uniform", "counter_normal"]

_MASK32 = 0xFFFFFFFF


def sample_seed(global_seed: int, index: int, stream: str) -> int:
    """A 63-bit seed for one ``(global seed, sample index, stream)`` triple.

    Uses BLAKE2b over a fixed byte encoding, so it is stable across processes, Python
    versions and platforms (unlike ``hash``).
    """
    if global_seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got {global_seed}, {index}")
    payload = struct.pack("<QQ", global_seed, index) + stream.encode("utf-8")
    digest = hashlib.blake2b(payload, digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def generator_for(global_seed: int, index: int, stream: str, device="cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded from ``(global_seed, index, stream)``."""
    import torch

    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(sample_seed(global_seed, index, stream))
    return gen


def sample_keys(global_seed: int, indices, stream: str, device="cpu") -> torch.Tensor:
    """Per-sample 32-bit keys (int64 tensor ``[B]``) for the counter-based draws."""
    import torch

    keys = [sample_seed(global_seed, int(i), stream) & _MASK32 for i in indices]
    return torch.tensor(keys, dtype=torch.int64, device=device)


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """The murmur3 32-bit finaliser on int64 tensors holding 32-bit values.

    Products wrap modulo 2**64 and are masked back to 32 bits, which keeps the low bits
    exact, so the result is the same on every device.
    """
    x = x ^ (x >> 16)
    x = (x * 0x85EBCA6B) & _MASK32
    x = x ^ (x >> 13)
    x = (x * 0xC2B2AE35) & _MASK32
    return x ^ (x >> 16)


def _operands(keys: torch.Tensor, counter, shape, offset=None):
    """Key, counter and element-index tensors, broadcastable to ``[B, *shape]``."""
    import torch

    numel = 1
    for s in shape:
        numel *= int(s)
    element = torch.arange(numel, device=keys.device, dtype=torch.int64).view(1, *shape)
    if offset is not None:
        element = element + offset
    key = keys.to(torch.int64).view(-1, *([1] * len(shape))) & _MASK32
    counter = torch.as_tensor(counter, device=keys.device, dtype=torch.int64)
    counter = (
        counter.view(-1, *([1] * len(shape))) if counter.ndim else counter.view(*([1] * (len(shape) + 1)))
    )
    return key, counter, element


def _bits(key, counter, element, lane: int):
    x = _mix32(key ^ ((counter * 0x9E3779B9 + lane * 0x7F4A7C15) & _MASK32))
    x = _mix32(x ^ ((element * 0x632BE5AB) & _MASK32))
    return _mix32(x ^ (key * 0x2545F491 & _MASK32))


def _uniform64(key, counter, element, lane: int):
    import torch

    return (_bits(key, counter, element, lane).to(torch.float64) + 0.5) * (1.0 / 4294967296.0)


def _normal(key, counter, element, lane: int):
    """Box-Muller on two uniform lanes, in float64."""
    import math

    import torch

    u1 = _uniform64(key, counter, element, 2 * lane)
    u2 = _uniform64(key, counter, element, 2 * lane + 1)
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)


def _uniform32(key, counter, element, lane: int):
    import torch

    return ((_bits(key, counter, element, lane) >> 9).to(torch.float32) + 0.5) * (1.0 / 8388608.0)


_compiled: dict[str, object] = {}


def _kernel(fn, device_type: str):
    """``fn`` fused into one kernel by ``torch.compile`` on CUDA (eager, the integer hash is
    dozens of passes over the field: ~40x slower). Its arguments are tensors whose sizes are
    dynamic, so batches and shapes of any size reuse one compiled graph."""
    if device_type != "cuda":
        return fn
    if fn.__name__ not in _compiled:
        import torch

        _compiled[fn.__name__] = torch.compile(fn, dynamic=True)
    return _compiled[fn.__name__]


def counter_uniform(keys: torch.Tensor, counter, shape, *, lane: int = 0, dtype=None, offset=None):
    """Uniform draws strictly inside (0, 1), shape ``[B, *shape]``, keyed by ``keys`` and ``counter``.

    ``counter`` is an int (same for all samples) or an int tensor ``[B]``; ``lane`` separates
    independent streams that share a key and counter. ``dtype`` is float32 (23 random bits,
    the default) or float64 (32 bits); both are exactly representable, so 0 and 1 never occur.
    ``offset`` (int64, broadcastable to ``[B, *shape]``) is added to each draw's element index
    (its flat position): it lets a caller embed a smaller per-sample array in a padded one
    and still get the values the smaller shape would give.
    """
    import torch

    dtype = dtype or torch.float32
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"counter_uniform returns float32 or float64, not {dtype}; cast afterwards")
    fn = _uniform32 if dtype == torch.float32 else _uniform64
    key, count, element = _operands(keys, counter, tuple(shape), offset)
    return _kernel(fn, keys.device.type)(key, count, element, lane)


def counter_normal(keys: torch.Tensor, counter, shape, *, lane: int = 0, dtype=None, offset=None):
    """Standard normal draws ``[B, *shape]`` by Box-Muller on two counter-uniform lanes (float64).

    ``offset`` shifts the element indices as in :func:`counter_uniform`.
    """
    import torch

    key, count, element = _operands(keys, counter, tuple(shape), offset)
    z = _kernel(_normal, keys.device.type)(key, count, element, lane)
    return z.to(dtype or torch.float32)
