"""The Well's two initial-condition families for Gray-Scott, in the (A, B) convention.

Both follow The Well's generator (``danfortunato/spectral-gray-scott``: ``random_gaussians.m``,
``init_fourier.m``) with coordinates mapped onto [-1, 1]² (The Well's domain), so the same
sharpness or mode count gives the same pattern on any extent and resolution.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs

from spinlock_core.errors import ConfigError

from ._ic_fields import ICType, coordinates, randint, rng_field, uniform

if TYPE_CHECKING:
    import torch

__all__ = ["WellGaussianConfig", "WellGaussian", "WellFourierConfig", "WellFourier"]


def _check_two(name: str, channels: int) -> None:
    if channels != 2:
        raise ConfigError(f"IC {name!r} makes Gray-Scott (A, B) fields: needs 2 channels, got {channels}")


def _unit_coords(grid, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Grid coordinates mapped affinely onto [-1, 1) per axis: ``(y [H], x [W])``."""
    y, x = coordinates(grid, device)
    (y0, y1), (x0, x1) = grid.extent
    return (2 * (y.view(-1) - y0) / (y1 - y0) - 1, 2 * (x.view(-1) - x0) / (x1 - x0) - 1)


def _minmax(x: torch.Tensor) -> torch.Tensor:
    """Rescale to [0, 1] (The Well's ``normalize``); a flat field becomes 0."""
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else x * 0


@attrs.frozen(kw_only=True)
class WellGaussianConfig:
    """The Well's Gaussian-blob IC."""

    #: Number of blobs per field [low, high] (The Well: [10, 100]).
    count: tuple[int, int] = rng_field((10, 100), kind="int")
    #: Blob amplitude [low, high] (The Well: [1, 3]).
    amplitude: tuple[float, float] = rng_field((1.0, 3.0))
    #: Sharpness s in exp(-s r²), r on [-1, 1]² [low, high] (The Well: [150, 300]).
    sharpness: tuple[float, float] = rng_field((150.0, 300.0))


class WellGaussian(ICType):
    """A = minmax(1 - G_1), B = minmax(G_2), G = Σ_j a_j exp(-s_j |x - c_j|²) over the 3x3
    periodic tiling; A = 1 and B = 0 away from blobs, both span exactly [0, 1]."""

    name = "well_gaussian"
    config_class = WellGaussianConfig

    def _blobs(self, gen, y, x) -> torch.Tensor:
        c = self.config
        m = randint(gen, *c.count)
        a = uniform(gen, (m,), *c.amplitude)
        s = uniform(gen, (m,), *c.sharpness)
        cx, cy = uniform(gen, (m,), -1, 1), uniform(gen, (m,), -1, 1)
        shifts = (-2.0, 0.0, 2.0)  # the 3x3 tiling is separable: Σ_images = (Σ_y)(Σ_x)
        gy = sum((-s[:, None] * (y[None, :] - cy[:, None] + d) ** 2).exp() for d in shifts)
        gx = sum((-s[:, None] * (x[None, :] - cx[:, None] + d) ** 2).exp() for d in shifts)
        return (a[:, None] * gy).T @ gx  # [H, W]

    def _sample(self, gen, channels, grid, theta):
        import torch

        _check_two(self.name, channels)
        y, x = _unit_coords(grid, gen.device)
        g1 = self._blobs(gen, y, x)
        g2 = self._blobs(gen, y, x)
        return torch.stack((_minmax(1 - g1), _minmax(g2)))


@attrs.frozen(kw_only=True)
class WellFourierConfig:
    """The Well's Fourier IC."""

    #: Size n of the n x n grid of uniform values that is trig-interpolated (The Well: 32).
    n_modes: int = attrs.field(default=32, validator=attrs.validators.ge(2))


def _trig_matrix(n: int, t: torch.Tensor) -> torch.Tensor:
    """``[len(t), n]``: evaluates the trigonometric interpolant of n equispaced samples on
    [-1, 1) at points ``t`` (the periodic sinc kernel; for even n the Nyquist mode is split
    symmetrically, so the interpolant is real)."""
    import torch

    nodes = -1 + 2 * torch.arange(n, dtype=t.dtype, device=t.device) / n
    theta = math.pi * (t[:, None] - nodes[None, :])  # 2π (t - t_j) / period 2
    half = theta / 2
    small = half.sin().abs() < 1e-12
    sin_half = torch.where(small, torch.ones_like(half), half.sin())
    if n % 2 == 0:
        k = torch.sin(n * half) * torch.cos(half) / (n * sin_half)
    else:
        k = torch.sin(n * half) / (n * sin_half)
    return torch.where(small, torch.ones_like(k), k)


def steady_state(F: float, k: float) -> tuple[float, float, float, float]:
    """``(mean_A, mean_B, dA, dB)``: the state The Well perturbs and the perturbation sizes.

    (1, 0, 1, 1) unless k < (√F - 2F)/2, where the non-trivial steady state exists; then its
    lower-A branch with sizes 0.9·min(mean, 1 - mean).
    """
    if not k < (math.sqrt(F) - 2 * F) / 2:
        return 1.0, 0.0, 1.0, 1.0
    a = math.sqrt(F) / (F + k)
    root = math.sqrt(max(a * a - 4, 0.0))
    mu, mv = (a - root) / (2 * a), math.sqrt(F) * (a + root) / 2
    return mu, mv, 0.9 * min(mu, 1 - mu), 0.9 * min(mv, 1 - mv)


class WellFourier(ICType):
    """A = Ā + dA/2 · P_1, B = B̄ + dB/2 · P_2, P = trig-interp of U(-1/2, 1/2) on an n x n grid;
    (Ā, B̄, dA, dB) = (1, 0, 1, 1) or the non-trivial steady state when θ = (F, k) is given
    and has one. So A ∈ Ā ± dA/4 and B ∈ B̄ ± dB/4 (up to interpolation overshoot; B may dip
    slightly below 0, as in The Well)."""

    name = "well_fourier"
    config_class = WellFourierConfig
    uses_theta = True

    def _sample(self, gen, channels, grid, theta):
        import torch

        _check_two(self.name, channels)
        n = self.config.n_modes
        y, x = _unit_coords(grid, gen.device)
        py, px = _trig_matrix(n, y), _trig_matrix(n, x)
        mu, mv, du, dv = (1.0, 0.0, 1.0, 1.0)
        if theta is not None and "F" in theta and "k" in theta:
            mu, mv, du, dv = steady_state(float(theta["F"]), float(theta["k"]))
        fields = []
        for mean, amp in ((mu, du), (mv, dv)):
            values = uniform(gen, (n, n), -0.5, 0.5)
            fields.append(mean + 0.5 * amp * (py @ values @ px.T))
        return torch.stack(fields)
