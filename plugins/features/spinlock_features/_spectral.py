"""Spectral operators in physical units, shared by every family.

Power comes from ``rfft2(norm="forward")`` so the power of all modes sums to the mean square
of the field (Parseval). Wavenumbers are angular, in rad per unit length of the grid's extent,
so the same pattern gives the same values at any resolution. Every reduction over modes is one
matrix product with a precomputed ``[modes, Q]`` matrix: no loops, no per-sample branches.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from spinlock_core.api import Grid

from ._stats import first_crossing

__all__ = ["SpectralOps", "spectral_ops", "default_band_edges", "SPECTRAL_NAMES"]

#: Per-field spectral scalars returned by :meth:`SpectralOps.summary` (band fractions follow).
SPECTRAL_NAMES = (
    "spectral_centroid",
    "spectral_bandwidth",
    "spectral_peak_k",
    "spectral_slope",
    "spectral_flatness",
)


def default_band_edges(grid: Grid) -> tuple[float, ...]:
    """Octave bands of the fundamental ``k1 = 2π / min(Lx, Ly)``: ``[k1,2k1), .. [8k1, inf)``."""
    k1 = 2 * math.pi / min(grid.lengths)
    return (k1, 2 * k1, 4 * k1, 8 * k1, math.inf)


class SpectralOps:
    """Precomputed mode weights, radial shells and band masks for one grid/device/dtype."""

    def __init__(self, grid: Grid, band_edges: tuple[float, ...], device, dtype=torch.float32):
        h, w = grid.shape
        ky, kx = grid.wavenumbers(device=device, dtype=torch.float64)
        kmag = torch.sqrt(ky**2 + kx**2)  # [H, Wr]
        wr = kx.shape[1]
        # rfft keeps half the plane: columns other than 0 (and Nyquist for even W) stand for two modes
        weight = torch.full((wr,), 2.0, dtype=torch.float64, device=device)
        weight[0] = 1.0
        if w % 2 == 0:
            weight[-1] = 1.0
        weight = weight.view(1, -1).expand(h, wr)
        nondc = (kmag > 0).double()
        self.dk = min(2 * math.pi / grid.lengths[0], 2 * math.pi / grid.lengths[1])
        kny = min(math.pi / grid.spacing[0], math.pi / grid.spacing[1])
        shell = torch.round(kmag / self.dk).long()
        self.n_shells = int(shell.max()) + 1
        #: complete shells 1..K (inside the inscribed Nyquist circle) used for slope and flatness
        self.k_complete = max(int(math.floor(kny / self.dk + 1e-9)), 1)
        shell_mat = torch.nn.functional.one_hot(shell.flatten(), self.n_shells).double()
        shell_mat = shell_mat * (weight * nondc).reshape(-1, 1)
        counts = shell_mat.sum(0)
        self.shell_k = torch.arange(self.n_shells, dtype=torch.float64, device=device) * self.dk
        edges = torch.tensor(band_edges, dtype=torch.float64, device=device)
        if edges.numel() < 2 or not bool((edges[1:] > edges[:-1]).all()):
            raise ValueError(f"band edges must be >= 2 increasing values, got {band_edges}")
        k = kmag.flatten()
        bands = [((k >= lo) & (k < hi)).double() for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        bands = torch.stack(bands, 1) * (weight * nondc).reshape(-1, 1)
        wv = (weight * nondc).reshape(-1, 1)
        # columns: total, sum k P, sum k^2 P, bands..., shells...
        mat = torch.cat([wv, wv * k.view(-1, 1), wv * k.view(-1, 1) ** 2, bands, shell_mat], 1)
        self.n_bands = bands.shape[1]
        self.matrix = mat.to(dtype)
        self.counts = counts.to(dtype)
        self.kmag = kmag.to(dtype)
        self.band_empty = bands.sum(0) == 0
        lk = torch.log(self.shell_k[1 : self.k_complete + 1])
        self.log_k_centered = (lk - lk.mean()).to(dtype)
        self.shape = (h, w)
        self.dtype = dtype
        self._spacing = grid.spacing
        self._lengths = grid.lengths

    def power(self, x: torch.Tensor) -> torch.Tensor:
        """Power per rfft2 mode ``[..., H, Wr]`` of a field ``[..., H, W]`` (DC is kept, ignored later)."""
        return torch.fft.rfft2(x, norm="forward").abs().square()

    def summary(self, power: torch.Tensor) -> torch.Tensor:
        """``[..., H, Wr]`` mode power -> ``[..., 5 + n_bands]`` (see :data:`SPECTRAL_NAMES`).

        Centroid/bandwidth/band fractions weigh all non-DC modes by power; the peak is the
        shell with the most power; slope and flatness use the shell-mean power (power per
        mode) over complete shells, so white noise has slope 0 and flatness 1. A field without
        non-DC power (constant) gives NaN everywhere.
        """
        lead = power.shape[:-2]
        q = power.reshape(-1, power.shape[-2] * power.shape[-1]) @ self.matrix
        total, m1, m2 = q[:, 0], q[:, 1], q[:, 2]
        nb = self.n_bands
        bands, shells = q[:, 3 : 3 + nb], q[:, 3 + nb :]
        dead = ~(total > 0)
        safe = torch.where(dead, torch.ones_like(total), total)
        centroid = m1 / safe
        bandwidth = torch.sqrt((m2 / safe - centroid**2).clamp_min(0))
        peak = self.shell_k.to(power.dtype)[shells[:, 1:].argmax(-1) + 1]
        mean_shell = shells[:, 1 : self.k_complete + 1] / self.counts[1 : self.k_complete + 1]
        floor = 1e-12 * (safe / self.counts[1:].sum()).unsqueeze(-1)
        logp = torch.log(mean_shell + floor)
        lk = self.log_k_centered
        if lk.numel() > 1:
            slope = (logp * lk).sum(-1) / lk.square().sum()
        else:
            slope = torch.full_like(total, math.nan)
        flatness = torch.exp(logp.mean(-1)) / (mean_shell.mean(-1) + floor[:, 0])
        fractions = bands / safe.unsqueeze(-1)
        fractions = fractions.masked_fill(self.band_empty, math.nan)
        out = torch.cat([torch.stack([centroid, bandwidth, peak, slope, flatness], -1), fractions], -1)
        out = out.masked_fill(dead.unsqueeze(-1), math.nan)
        return out.reshape(*lead, out.shape[-1])

    def correlation_length(self, power: torch.Tensor) -> torch.Tensor:
        """``[..., H, Wr]`` power -> first lag (length units) where the radially averaged
        autocorrelation of the mean-removed field falls below 1/e, linearly interpolated.

        Wiener-Khinchin: the periodic autocorrelation is the inverse transform of the power.
        NaN if it never falls below 1/e within half the domain, or for a constant field.
        """
        if not hasattr(self, "_lag_matrix"):
            self._build_lags(power.device)
        p = power.clone()
        p[..., 0, 0] = 0
        lead = p.shape[:-2]
        acf = torch.fft.irfft2(p, s=self.shape, norm="forward").reshape(-1, self.shape[0] * self.shape[1])
        radial = (acf @ self._lag_matrix) / acf[:, :1]  # [N, R], radial[:, 0] = 1
        length = first_crossing(radial, math.exp(-1), self._lag_step)
        length = torch.where(acf[:, 0] > 0, length, torch.full_like(length, math.nan))
        return length.reshape(lead)

    def _build_lags(self, device):
        h, w = self.shape
        dy, dx = self._spacing
        iy = torch.arange(h, device=device, dtype=torch.float64)
        ix = torch.arange(w, device=device, dtype=torch.float64)
        ly = torch.minimum(iy, h - iy).view(-1, 1) * dy
        lx = torch.minimum(ix, w - ix).view(1, -1) * dx
        dist = torch.sqrt(ly**2 + lx**2).flatten()
        step = min(dy, dx)
        nbin = int(math.floor(min(self._lengths) / 2 / step + 1e-9)) + 1
        idx = torch.round(dist / step).long()
        mat = torch.nn.functional.one_hot(idx.clamp_max(nbin), nbin + 1)[:, :nbin].double()
        mat = mat / mat.sum(0).clamp_min(1)
        self._lag_matrix = mat.to(self.dtype)
        self._lag_step = step

    def lowpass(self, x: torch.Tensor, cutoff: float) -> torch.Tensor:
        """Gaussian low-pass ``exp(-k^2 / (2 cutoff^2))`` applied in Fourier space (periodic)."""
        gain = torch.exp(-0.5 * (self.kmag / cutoff) ** 2)
        return torch.fft.irfft2(torch.fft.rfft2(x) * gain, s=self.shape)


@lru_cache(maxsize=32)
def _cached(grid: Grid, band_edges: tuple[float, ...], device: str, dtype: torch.dtype) -> SpectralOps:
    return SpectralOps(grid, band_edges, torch.device(device), dtype)


def spectral_ops(
    grid: Grid, band_edges: tuple[float, ...] | None, device, dtype=torch.float32
) -> SpectralOps:
    """The cached :class:`SpectralOps` for ``grid`` (default bands: :func:`default_band_edges`)."""
    edges = tuple(float(e) for e in (band_edges or default_band_edges(grid)))
    return _cached(grid, edges, str(torch.device(device)), dtype)
