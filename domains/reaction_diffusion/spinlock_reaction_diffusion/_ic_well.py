"""The Well's two initial-condition families for Gray-Scott, in the (A, B) convention.

Both follow The Well's generator (``danfortunato/spectral-gray-scott``: ``random_gaussians.m``,
``init_fourier.m``) with coordinates mapped onto [-1, 1]² (The Well's domain), so the same
sharpness or mode count gives the same pattern on any extent and resolution.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs

from spinlock_core.api import ConfigError

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
    """Rescale each field of ``x [..., H, W]`` to [0, 1] (The Well's ``normalize``); a flat one becomes 0."""
    import torch

    low = x.amin(dim=(-2, -1), keepdim=True)
    span = x.amax(dim=(-2, -1), keepdim=True) - low
    return (x - low) / torch.where(span > 0, span, 1.0)  # a flat field is 0 / 1


def _images(offset: torch.Tensor, minus_s: torch.Tensor, shifts) -> torch.Tensor:
    """Σ_d exp(-s (offset + d)²), in place: the same values as the plain expression, fewer passes."""
    total = None
    for d in shifts:
        term = (offset + d).pow_(2).mul_(minus_s).exp_()
        total = term if total is None else total.add_(term)
    return total


#: Samples rendered together at most: bounds the ``[B, 2, K, H]`` temporaries of the blobs.
_RENDER_CHUNK = 64


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
    batched = True

    def _draw_blobs(self, gen) -> torch.Tensor:
        """``[4, m]``: amplitude, sharpness, x and y centre of each of m blobs."""
        import torch

        c = self.config
        m = randint(gen, *c.count)
        a = uniform(gen, (m,), *c.amplitude)
        s = uniform(gen, (m,), *c.sharpness)
        cx, cy = uniform(gen, (m,), -1, 1), uniform(gen, (m,), -1, 1)
        return torch.stack((a, s, cx, cy))

    def draw(self, gen, channels, grid, theta):
        _check_two(self.name, channels)
        return self._draw_blobs(gen), self._draw_blobs(gen)

    def render(self, params, channels, grid, device):
        """Both fields of every sample: each blob's separable factors, then one batched product
        over blobs padded with zeros to ``count[1]``, so each sample's sum has the same length
        (and so the same rounding) in any batch."""
        import torch

        _check_two(self.name, channels)
        chunks = [
            self._render(params[i : i + _RENDER_CHUNK], grid, device)
            for i in range(0, len(params), _RENDER_CHUNK)
        ]
        if not chunks:
            return torch.zeros((0, 2, *grid.shape), dtype=torch.float64, device=device)
        return torch.cat(chunks)

    def _render(self, params, grid, device) -> torch.Tensor:
        import torch

        k_max, (h, w) = self.config.count[1], grid.shape
        fields = [p for sample in params for p in sample]  # sample b's A and B blobs: 2b, 2b + 1
        counts = torch.tensor([p.shape[1] for p in fields])
        a, s, cx, cy = (v[:, None] for v in torch.cat(fields, dim=1).to(device))  # every blob: [N, 1]
        y, x = _unit_coords(grid, device)
        shifts = (-2.0, 0.0, 2.0)  # the 3x3 tiling is separable: Σ_images = (Σ_y)(Σ_x)
        gy, gx = _images(y - cy, -s, shifts), _images(x - cx, -s, shifts)  # [N, H], [N, W]
        row = torch.repeat_interleave(torch.arange(len(fields)), counts)
        col = torch.arange(len(row)) - torch.repeat_interleave(counts.cumsum(0) - counts, counts)
        row, col = row.to(device), col.to(device)
        lhs = gy.new_zeros((len(fields), k_max, h))
        rhs = gx.new_zeros((len(fields), k_max, w))
        lhs[row, col] = a * gy
        rhs[row, col] = gx
        g = torch.bmm(lhs.transpose(1, 2), rhs).view(len(params), 2, h, w)
        return torch.stack((_minmax(1 - g[:, 0]), _minmax(g[:, 1])), dim=1)


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
    batched = True

    def __init__(self, config=None):
        super().__init__(config)
        self._matrices: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def draw(self, gen, channels, grid, theta):
        """``(values [2, n, n], means (Ā, B̄), scales (dA/2, dB/2))``."""
        import torch

        _check_two(self.name, channels)
        n = self.config.n_modes
        mu, mv, du, dv = (1.0, 0.0, 1.0, 1.0)
        if theta is not None and "F" in theta and "k" in theta:
            mu, mv, du, dv = steady_state(float(theta["F"]), float(theta["k"]))
        values = torch.stack([uniform(gen, (n, n), -0.5, 0.5) for _ in range(2)])
        return values, (mu, mv), (0.5 * du, 0.5 * dv)

    def _interpolation(self, grid, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``(P_y [H, n], P_x^T [n, W])``, cached per grid and device."""
        key = (grid.shape, grid.extent, str(device))
        if key not in self._matrices:
            y, x = _unit_coords(grid, device)
            n = self.config.n_modes
            self._matrices[key] = (_trig_matrix(n, y), _trig_matrix(n, x).T)
        return self._matrices[key]

    def render(self, params, channels, grid, device):
        import torch

        _check_two(self.name, channels)
        b, n, (h, w) = len(params), self.config.n_modes, grid.shape
        if b == 0:
            return torch.zeros((0, 2, h, w), dtype=torch.float64, device=device)
        py, pxt = self._interpolation(grid, device)
        values = torch.stack([p[0] for p in params]).to(device).view(b * 2, n, n)
        interp = torch.bmm(torch.bmm(py.expand(b * 2, h, n), values), pxt.expand(b * 2, n, w))
        mean = torch.tensor([p[1] for p in params], dtype=torch.float64).to(device).view(b, 2, 1, 1)
        scale = torch.tensor([p[2] for p in params], dtype=torch.float64).to(device).view(b, 2, 1, 1)
        return mean + scale * interp.view(b, 2, h, w)
