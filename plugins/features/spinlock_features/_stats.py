"""Per-field statistics shared by the families: moments, gradients, histograms, channels.

Every function reduces over the trailing spatial axes of its own input only, so a sample's
values never depend on its batch. Degenerate inputs give NaN where the quantity is undefined
(e.g. skewness of a constant field) and the defined value where there is one (entropy 0).
"""

from __future__ import annotations

import math

import torch

from spinlock_core.api import Grid

__all__ = [
    "moments",
    "gradient_stats",
    "histogram_entropy",
    "mutual_information",
    "channel_correlation",
    "cross_channel_stats",
    "CROSS_NAMES",
    "ols_slope",
    "first_crossing",
    "REL_EPS",
    "finite_samples",
    "nan_rows",
]

#: Relative size below which a spread counts as zero (float32 resolution of the field's scale).
REL_EPS = 1e-6


def finite_samples(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x [B, ...]`` -> (``x`` with every sample holding a non-finite value set to 0, ``bad [B]``).

    A diverged sample (NaN or inf anywhere, e.g. its states after ``diverged_step``) would
    otherwise reach reductions that raise (``eigvalsh``) or loop on garbage; the families
    compute on the zeroed copy and return NaN rows for it (:func:`nan_rows`). The other
    samples' values are untouched, so their features are bitwise those of a batch without it.
    """
    bad = ~torch.isfinite(x.reshape(x.shape[0], -1)).all(-1)
    if bool(bad.any()):
        x = torch.where(
            bad.view(-1, *([1] * (x.ndim - 1))), torch.zeros((), dtype=x.dtype, device=x.device), x
        )
    return x, bad


def nan_rows(out: torch.Tensor, bad: torch.Tensor) -> torch.Tensor:
    """``out [B, ...]`` with the rows of the samples flagged in ``bad [B]`` set to NaN."""
    return out.masked_fill(bad.view(-1, *([1] * (out.ndim - 1))), math.nan)


def moments(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``[..., P]`` -> mean, std, skewness, excess kurtosis, min, max (each ``[...]``).

    The std is 0 when the spread is below float32 resolution of the field's scale; skewness
    and kurtosis are then NaN (undefined).
    """
    mean = x.mean(-1)
    d = x - mean.unsqueeze(-1)
    var = d.square().mean(-1)
    scale = x.abs().amax(-1)
    flat = var.sqrt() <= REL_EPS * scale
    std = torch.where(flat, torch.zeros_like(var), var.sqrt())
    safe = torch.where(flat, torch.ones_like(var), var)
    skew = d.pow(3).mean(-1) / safe.pow(1.5)
    kurt = d.pow(4).mean(-1) / safe.square() - 3.0
    nan = torch.full_like(var, math.nan)
    return mean, std, torch.where(flat, nan, skew), torch.where(flat, nan, kurt), x.amin(-1), x.amax(-1)


def _diffs(x: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences divided by the spacing along y and x (wrapping if periodic)."""
    dy, dx = grid.spacing
    if grid.periodic:
        gy = (torch.roll(x, -1, -2) - x) / dy
        gx = (torch.roll(x, -1, -1) - x) / dx
    else:
        gy = (x[..., 1:, :] - x[..., :-1, :]) / dy
        gx = (x[..., :, 1:] - x[..., :, :-1]) / dx
    return gy, gx


def gradient_stats(x: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, torch.Tensor]:
    """``[..., H, W]`` -> (rms gradient magnitude, total variation per area), both field/length.

    Total variation is the anisotropic ``mean |du/dx| + mean |du/dy|`` (forward differences).
    """
    gy, gx = _diffs(x, grid)
    rms = torch.sqrt(gy.square().mean((-2, -1)) + gx.square().mean((-2, -1)))
    tv = gy.abs().mean((-2, -1)) + gx.abs().mean((-2, -1))
    return rms, tv


def _bin_index(x: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bin of every value on the field's own [min, max] range; also whether the range is empty."""
    lo, hi = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
    span = hi - lo
    flat = span <= REL_EPS * torch.maximum(hi.abs(), lo.abs())
    safe = torch.where(flat, torch.ones_like(span), span)
    idx = ((x - lo) / safe * bins).long().clamp_(0, bins - 1)
    return idx, flat.squeeze(-1)


def _entropy(counts: torch.Tensor) -> torch.Tensor:
    p = counts / counts.sum(-1, keepdim=True)
    return -(p * torch.log(torch.where(p > 0, p, torch.ones_like(p)))).sum(-1)


def histogram_entropy(x: torch.Tensor, bins: int) -> torch.Tensor:
    """``[..., P]`` -> Shannon entropy of a ``bins``-bin histogram over the field's own range,
    divided by ``log(bins)`` so it lies in [0, 1]. A constant field has entropy 0."""
    lead = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1])
    idx, _ = _bin_index(x, bins)
    counts = torch.zeros(x.shape[0], bins, device=x.device, dtype=x.dtype)
    counts.scatter_add_(1, idx, torch.ones_like(x))
    return (_entropy(counts) / math.log(bins)).reshape(lead)


def mutual_information(x: torch.Tensor, y: torch.Tensor, bins: int) -> torch.Tensor:
    """``[..., P]`` pairs -> plug-in mutual information over ``min(H(x), H(y))`` in [0, 1].

    Histograms use each field's own range. Identical fields give 1; NaN if either is constant.
    """
    lead = x.shape[:-1]
    x, y = x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
    ix, fx = _bin_index(x, bins)
    iy, fy = _bin_index(y, bins)
    joint = torch.zeros(x.shape[0], bins * bins, device=x.device, dtype=x.dtype)
    joint.scatter_add_(1, ix * bins + iy, torch.ones_like(x))
    joint = joint.view(-1, bins, bins)
    hx, hy = _entropy(joint.sum(2)), _entropy(joint.sum(1))
    hxy = _entropy(joint.flatten(1))
    denom = torch.minimum(hx, hy)
    bad = fx | fy | (denom <= 0)
    mi = (hx + hy - hxy) / torch.where(bad, torch.ones_like(denom), denom)
    return torch.where(bad, torch.full_like(mi, math.nan), mi).reshape(lead)


def channel_correlation(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[N, C, P]`` -> Pearson correlation matrices ``[N, C, C]`` and which are defined ``[N]``
    (every channel has spread); undefined matrices are returned as the identity."""
    d = x - x.mean(-1, keepdim=True)
    var = d.square().mean(-1)
    flat = var.sqrt() <= REL_EPS * x.abs().amax(-1)
    z = d / torch.where(flat, torch.ones_like(var), var).sqrt().unsqueeze(-1)
    eye = torch.eye(x.shape[1], device=x.device, dtype=x.dtype)
    corr = (z @ z.transpose(1, 2) / x.shape[-1]).clamp(-1, 1) * (1 - eye) + eye  # exact unit diagonal
    ok = ~flat.any(-1)
    eye = eye.expand_as(corr)
    return torch.where(ok.view(-1, 1, 1), corr, eye), ok


#: Names of :func:`cross_channel_stats` outputs.
CROSS_NAMES = ("xc_eig_top_fraction", "xc_participation_ratio", "xc_abs_corr_mean", "xc_mutual_info")


def cross_channel_stats(x: torch.Tensor, mi_bins: int) -> torch.Tensor:
    """``[N, C, H, W]`` -> ``[N, 4]`` channel-count-independent cross-channel scalars.

    * top eigenvalue of the channel correlation matrix over C (1/C .. 1; 1 for C = 1),
    * participation ratio ``(sum l)^2 / sum l^2`` over C (1/C .. 1; 1 for C = 1),
    * mean |correlation| over channel pairs (NaN for C = 1),
    * mean normalised mutual information over pairs (NaN for C = 1).

    All NaN when some channel is constant (the correlation is undefined).
    """
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    nan = torch.full((n,), math.nan, device=x.device, dtype=x.dtype)
    corr, ok = channel_correlation(flat)
    finite = torch.isfinite(corr).all(-1).all(-1)  # a non-finite field: eigvalsh would raise
    ok = ok & finite
    corr = torch.where(finite.view(-1, 1, 1), corr, torch.eye(c, device=x.device, dtype=x.dtype))
    top = torch.linalg.eigvalsh(corr)[:, -1] / c
    pr = c / corr.square().sum((1, 2))  # (sum l)^2 / sum l^2 = C^2 / ||R||_F^2, divided by C
    if c > 1:
        iu = torch.triu_indices(c, c, 1, device=x.device)
        abs_corr = corr[:, iu[0], iu[1]].abs().mean(-1)
        mi = mutual_information(flat[:, iu[0]], flat[:, iu[1]], mi_bins).mean(-1)
    else:
        abs_corr, mi = nan, nan
    out = torch.stack([top, pr, abs_corr, mi], -1)
    return torch.where(ok.view(-1, 1), out, torch.full_like(out, math.nan))


def ols_slope(y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Least-squares slope of ``y [..., T]`` against ``t [T]`` (NaN stays NaN; inf -> NaN)."""
    tc = t - t.mean()
    denom = tc.square().sum()
    if t.numel() < 2 or not denom > 0:
        return torch.full(y.shape[:-1], math.nan, device=y.device, dtype=y.dtype)
    s = ((y - y.mean(-1, keepdim=True)) * tc).sum(-1) / denom
    return torch.where(torch.isfinite(s), s, torch.full_like(s, math.nan))


def first_crossing(curve: torch.Tensor, level: float, step: float) -> torch.Tensor:
    """First position (``index * step``, linearly interpolated) where ``curve [..., L]``, which
    starts above ``level``, falls below it; NaN if it never does."""
    below = curve < level
    first = below.to(torch.int8).argmax(-1, keepdim=True).clamp_min(1)
    c1 = curve.gather(-1, first).squeeze(-1)
    c0 = curve.gather(-1, first - 1).squeeze(-1)
    pos = (first.squeeze(-1) - 1 + (c0 - level) / (c0 - c1)) * step
    return torch.where(below.any(-1), pos, torch.full_like(pos, math.nan))
