"""Building blocks shared by the initial-condition types.

Everything draws from the ``torch.Generator`` it is given, on that generator's device, and
computes in float64; the IC types cast the result at the end. Lengths are in domain units
(the grid's extent), never in pixels, so a type means the same thing at every resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from spinlock_core.api import ConfigError, Grid, ICGenerator

if TYPE_CHECKING:
    import torch


def _dtype():
    import torch

    return torch.float64


def uniform(gen: torch.Generator, shape=(), low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """Uniform draws in [low, high) on the generator's device."""
    import torch

    return low + (high - low) * torch.rand(shape, generator=gen, device=gen.device, dtype=_dtype())


def log_uniform(gen: torch.Generator, low: float, high: float) -> float:
    """One draw, uniform in log between ``low`` and ``high`` (``low`` when they are equal)."""
    u = float(uniform(gen))
    return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))


def normal(gen: torch.Generator, shape) -> torch.Tensor:
    import torch

    return torch.randn(shape, generator=gen, device=gen.device, dtype=_dtype())


def randint(gen: torch.Generator, low: int, high: int) -> int:
    """One integer in [low, high], both included."""
    import torch

    return int(torch.randint(low, high + 1, (), generator=gen, device=gen.device))


def coordinates(grid: Grid, device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y [H, 1], x [1, W])`` in domain units, float64."""
    return grid.coordinates(device=device, dtype=_dtype())


def delta(a: torch.Tensor, centre, length: float, periodic: bool) -> torch.Tensor:
    """``a - centre``, wrapped to the nearest periodic image when the grid is periodic."""
    d = a - centre
    if periodic:
        d = d - length * (d / length).round()
    return d


def standardize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Zero mean and unit (population) std per channel of ``x [C, H, W]``; flat channels -> 0."""
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    std = x.std(dim=(-2, -1), keepdim=True, correction=0)
    return x / std.clamp_min(eps) * (std > eps)


def gaussian_spectrum_field(gen: torch.Generator, n: int, grid: Grid, length_scale: float) -> torch.Tensor:
    """``n`` independent stationary Gaussian fields ``[n, H, W]``, zero mean and unit std.

    Spectral synthesis: white noise filtered by ``sqrt(S(k))`` with the squared-exponential
    spectrum ``S(k) = exp(-|k|² ℓ² / 2)`` (k in rad per domain unit), so the covariance is
    ``exp(-r² / (2 ℓ²))``: ``ℓ`` is the correlation length in domain units. Periodic by
    construction; each field is standardized exactly (empirical mean and std).
    """
    import torch

    h, w = grid.shape
    noise = normal(gen, (n, h, w))
    ky, kx = grid.wavenumbers(device=noise.device, dtype=torch.float64)
    filt = torch.exp(-(ky**2 + kx**2) * length_scale**2 / 4)  # sqrt of S(k)
    field = torch.fft.irfft2(torch.fft.rfft2(noise) * filt, s=(h, w))
    return standardize(field)


def bandpass_field(
    gen: torch.Generator, n: int, grid: Grid, wavelength: float, rel_width: float
) -> torch.Tensor:
    """``n`` fields ``[n, H, W]`` with power in an annulus ``|k| ≈ 2π / wavelength``; standardized."""
    import torch

    h, w = grid.shape
    noise = normal(gen, (n, h, w))
    ky, kx = grid.wavenumbers(device=noise.device, dtype=torch.float64)
    k0 = 2 * math.pi / wavelength
    filt = torch.exp(-(((ky**2 + kx**2).sqrt() - k0) ** 2) / (2 * (rel_width * k0) ** 2))
    return standardize(torch.fft.irfft2(torch.fft.rfft2(noise) * filt, s=(h, w)))


def lattice_wavevector(grid: Grid, angle: float, wavelength: float) -> tuple[float, float]:
    """Angular wavevector ``(ky, kx)`` near ``angle`` and ``2π / wavelength``.

    On a periodic grid it is snapped to the nearest non-zero lattice vector (an integer number
    of cycles along each axis) so that plane waves are exactly periodic.
    """
    (ly, lx), k = grid.lengths, 2 * math.pi / wavelength
    ky, kx = k * math.sin(angle), k * math.cos(angle)
    if grid.periodic:
        my, mx = round(ky * ly / (2 * math.pi)), round(kx * lx / (2 * math.pi))
        if my == 0 and mx == 0:
            mx = 1
        ky, kx = 2 * math.pi * my / ly, 2 * math.pi * mx / lx
    return ky, kx


def weighted_choice(gen: torch.Generator, weights) -> int:
    """Index ``i`` with probability ``weights[i] / sum``; zero weights are never chosen."""
    total = float(sum(weights))
    u = float(uniform(gen)) * total
    acc, last = 0.0, None
    for i, w in enumerate(weights):
        if w <= 0:
            continue
        acc += w
        last = i
        if u < acc:
            return i
    return last  # rounding at the top end


class ICType(ICGenerator):
    """An IC type with an attrs ``config``; ``theta`` (this sample's decoded θ) is optional.

    Generic types return ``[C, H, W]`` standardized per channel (zero mean, unit std); the
    Gray-Scott types return (A, B) fields in the Gray-Scott convention.
    """

    config_class: ClassVar[type]
    #: Whether the type reads θ (e.g. The Well's Fourier IC perturbs a θ-dependent state).
    uses_theta: ClassVar[bool] = False
    #: Whether the type splits into :meth:`draw` (one sample's random parameters, small, from
    #: its generator) and :meth:`render` (the fields of a whole batch at once, on the device).
    #: Then a batch costs one set of tensor ops, and when the library draws on the host no
    #: host sync per sample; ``render`` must treat every sample alone (no batch-wide sums or
    #: batch-dependent shapes), so a sample's field is bitwise the same in any batch.
    batched: ClassVar[bool] = False

    def __init__(self, config: Any = None):
        if config is None:
            config = self.config_class()
        elif isinstance(config, Mapping):
            config = make_config(self.config_class, config, self.name)
        self.config = config

    def sample(self, generator, channels, grid, device, dtype, theta=None):
        """One initial condition ``[C, H, W]`` in ``dtype`` on ``device``."""
        if channels < 1:
            raise ConfigError(f"IC {self.name!r}: channels must be >= 1, got {channels}")
        if self.batched:
            params = self.draw(generator, int(channels), grid, theta)
            out = self.render([params], int(channels), grid, device)[0]
        else:
            out = self._sample(generator, int(channels), grid, theta)
        return out.to(device=device, dtype=dtype)

    def _sample(self, gen, channels: int, grid: Grid, theta) -> torch.Tensor:
        raise NotImplementedError

    def draw(self, gen, channels: int, grid: Grid, theta) -> Any:
        """One sample's random parameters, drawn from ``gen`` only (batched types)."""
        raise NotImplementedError

    def render(self, params: Sequence[Any], channels: int, grid: Grid, device) -> torch.Tensor:
        """The fields ``[B, C, H, W]`` (float64, on ``device``) of ``B`` samples' :meth:`draw`."""
        raise NotImplementedError


def make_config(cls: type, values: Mapping[str, Any], where: str):
    """``cls(**values)`` with a ConfigError that lists the valid fields on unknown keys."""
    valid = [a.name for a in attrs.fields(cls)]
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ConfigError(f"IC {where!r}: unknown option(s) {unknown}; valid: {valid}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"IC {where!r}: {err}") from None


def positive_range(instance, attribute, value):
    """attrs validator: ``(low, high)`` with ``0 < low <= high``."""
    lo, hi = value
    if not 0 < lo <= hi:
        raise ConfigError(f"{type(instance).__name__}.{attribute.name}: need 0 < low <= high, got {value}")


def count_range(instance, attribute, value):
    """attrs validator: integer ``(low, high)`` with ``0 <= low <= high``."""
    lo, hi = value
    if not 0 <= lo <= hi:
        raise ConfigError(f"{type(instance).__name__}.{attribute.name}: need 0 <= low <= high, got {value}")


def float_pair(value) -> tuple[float, float]:
    lo, hi = value
    return (float(lo), float(hi))


def int_pair(value) -> tuple[int, int]:
    lo, hi = value
    if int(lo) != lo or int(hi) != hi:
        raise ConfigError(f"expected a pair of integers, got {list(value)}")
    return (int(lo), int(hi))


def rng_field(default, kind="float"):
    """An attrs field for a YAML ``[low, high]`` pair of lengths (>0) or counts (>=0)."""
    if kind == "float":
        return attrs.field(default=default, converter=float_pair, validator=positive_range)
    return attrs.field(default=default, validator=count_range, converter=int_pair)
