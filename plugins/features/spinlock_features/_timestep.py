"""Per-state statistics shared by SUMMARY and TEMPORAL.

A *state* is one field ``[C, H, W]`` at one time of one realization. :func:`state_table` maps
a stack of states to per-channel scalars; :func:`iter_chunks` bounds memory by processing the
flattened states in fixed-size chunks (chunking never mixes samples, so it cannot break purity).
"""

from __future__ import annotations

import torch

from spinlock_core.api import Grid

from ._spectral import SPECTRAL_NAMES, SpectralOps
from ._stats import gradient_stats, histogram_entropy, moments

__all__ = ["state_names", "state_table", "INVARIANTS", "SCALES", "iter_chunks"]

#: Invariant norms tracked at every scale (see ``docs/features.md``).
INVARIANTS = ("l1", "l2", "linf", "tv", "entropy")
#: Scales: the raw field, its Gaussian low-pass and the remainder (high-pass).
SCALES = ("raw", "low", "high")
_BASE = ("mean", "std", "skewness", "kurtosis", "grad_rms")


def state_names(n_bands: int, scales: bool) -> tuple[str, ...]:
    """Names of the last axis of :func:`state_table`, in order."""
    names = list(_BASE) + [f"{i}_raw" for i in INVARIANTS] + list(SPECTRAL_NAMES)
    names += [f"band_{j}" for j in range(n_bands)]
    if scales:
        names += [f"{i}_{s}" for s in SCALES[1:] for i in INVARIANTS]
    return tuple(names)


def _invariants(x: torch.Tensor, grid: Grid, bins: int) -> list[torch.Tensor]:
    flat = x.flatten(-2)
    _, tv = gradient_stats(x, grid)
    return [
        flat.abs().mean(-1),
        flat.square().mean(-1).sqrt(),
        flat.abs().amax(-1),
        tv,
        histogram_entropy(flat, bins),
    ]


def state_table(
    x: torch.Tensor, grid: Grid, ops: SpectralOps, bins: int, cutoff: float | None
) -> torch.Tensor:
    """``[n, C, H, W]`` -> ``[n, C, K]`` with columns :func:`state_names` (scales if ``cutoff``)."""
    flat = x.flatten(-2)
    mean, std, skew, kurt, _, _ = moments(flat)
    grad_rms, _ = gradient_stats(x, grid)
    cols = [mean, std, skew, kurt, grad_rms, *_invariants(x, grid, bins)]
    spec = ops.summary(ops.power(x))
    out = [torch.stack(cols, -1), spec]
    if cutoff is not None:
        low = ops.lowpass(x, cutoff)
        out.append(torch.stack(_invariants(low, grid, bins) + _invariants(x - low, grid, bins), -1))
    return torch.cat(out, -1)


def iter_chunks(total: int, size: int):
    """Slices covering ``range(total)`` in pieces of at most ``size``."""
    size = max(int(size), 1)
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))
