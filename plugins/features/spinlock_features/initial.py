"""INITIAL: features of the initial condition ``u0`` alone, per channel plus channel pairs.

Columns are ``{channel}__{feature}`` for every channel in declaration order, then
``{a}__{b}__corr`` for every channel pair ``a < b``. Nothing here reads trajectories, so the
family runs as soon as θ and the ICs exist.
"""

from __future__ import annotations

import math

import torch

from spinlock_core.api import Column, DomainInfo, FeatureBatch, FeatureFamily

from ._manifest import check_unique
from ._morphology import morphology
from ._spectral import spectral_ops
from ._stats import channel_correlation, finite_samples, histogram_entropy, moments, nan_rows
from .config import InitialConfig

__all__ = ["InitialConfig", "InitialFeatures", "INITIAL_FEATURES"]

#: Per-channel features: (name, unit, definition). ``field`` is the unit of the field itself.
INITIAL_FEATURES = (
    ("mean", "field", "spatial mean"),
    ("std", "field", "spatial standard deviation (0 below float32 resolution)"),
    ("skewness", "1", "third standardised moment; NaN for a constant field"),
    ("kurtosis", "1", "excess kurtosis (fourth standardised moment - 3); NaN for a constant field"),
    ("min", "field", "minimum value"),
    ("max", "field", "maximum value"),
    ("entropy", "1", "histogram entropy on the field's own [min, max] range / log(bins); 0 if constant"),
    ("spectral_centroid", "rad/length", "power-weighted mean |k| over non-DC modes"),
    ("spectral_bandwidth", "rad/length", "power-weighted standard deviation of |k| over non-DC modes"),
    ("spectral_peak_k", "rad/length", "|k| of the radial shell holding the most power"),
    ("spectral_slope", "1", "OLS slope of log shell-mean power vs log |k| (white noise: 0)"),
    ("correlation_length", "length", "lag where the radially averaged autocorrelation falls to 1/e"),
    ("n_components", "count", "connected components (4-neighbour) above mean + threshold * std"),
    ("largest_component_fraction", "1", "area of the largest component / area above threshold"),
    ("perimeter_per_area", "1/length", "boundary length / area of the region above threshold"),
    ("symmetry_mirror_x", "1", "max over periodic shifts of corr(u, u mirrored in x)"),
    ("symmetry_mirror_y", "1", "max over periodic shifts of corr(u, u mirrored in y)"),
    ("symmetry_rot180", "1", "max over periodic shifts of corr(u, u rotated by 180 degrees)"),
)


def _symmetry(x: torch.Tensor, periodic: bool) -> torch.Tensor:
    """``[N, H, W]`` -> ``[N, 3]`` correlations with the x-mirror, y-mirror and 180° rotation.

    On periodic grids the best alignment over all circular shifts is taken (one FFT
    cross-correlation), so a symmetry axis anywhere in the domain counts; otherwise the
    transforms are about the grid centre. NaN for a constant field.
    """
    d = x - x.mean((-2, -1), keepdim=True)
    var = d.square().mean((-2, -1))
    flat = var.sqrt() <= 1e-6 * x.abs().amax((-2, -1))
    outs = []
    for dims in ((-1,), (-2,), (-2, -1)):
        t = torch.flip(d, dims)
        if periodic:
            h, w = x.shape[-2:]
            cross = torch.fft.irfft2(torch.fft.rfft2(d) * torch.fft.rfft2(t).conj(), s=(h, w))
            outs.append(cross.flatten(1).amax(-1) / (h * w))
        else:
            outs.append((d * t).mean((-2, -1)))
    out = torch.stack(outs, -1) / torch.where(flat, torch.ones_like(var), var).unsqueeze(-1)
    return torch.where(flat.unsqueeze(-1), torch.full_like(out, math.nan), out)


class InitialFeatures(FeatureFamily):
    """Amplitude, spectrum, entropy, correlation length, morphology and symmetry of ``u0``."""

    name = "initial"
    scope = "sample"
    needs_trajectories = False
    Config = InitialConfig

    def __init__(self, config: InitialConfig | None = None):
        self.config = config or InitialConfig()

    def columns(self, domain: DomainInfo) -> list[Column]:
        cols = []
        for ch in domain.channels:
            for feat, unit, doc in INITIAL_FEATURES:
                unit = unit.replace("field", f"[{ch}]")
                cols.append(Column(name=f"{ch}__{feat}", unit=unit, doc=f"{doc} of channel {ch}"))
        chans = domain.channels
        for i, a in enumerate(chans):
            for b in chans[i + 1 :]:
                cols.append(
                    Column(name=f"{a}__{b}__corr", unit="1", doc=f"Pearson correlation of {a} and {b}")
                )
        return check_unique(self.name, cols)

    def extract(self, batch: FeatureBatch) -> torch.Tensor:
        u0 = torch.as_tensor(batch.u0)
        u0 = u0.float() if u0.dtype != torch.float32 else u0
        u0, bad = finite_samples(u0)  # a non-finite IC (a failed sample): NaN row
        b, c, h, w = u0.shape
        grid = batch.domain.grid
        fields = u0.reshape(b * c, h, w)
        flat = fields.reshape(b * c, -1)
        ops = spectral_ops(grid, None, u0.device)
        power = ops.power(fields)
        spec = ops.summary(power)
        cols = [
            *moments(flat),
            histogram_entropy(flat, self.config.hist_bins),
            spec[:, 0],
            spec[:, 1],
            spec[:, 2],
            spec[:, 3],
            ops.correlation_length(power),
        ]
        per_channel = torch.cat(
            [
                torch.stack(cols, -1),
                morphology(fields, self.config.morphology_threshold, grid),
                _symmetry(fields, grid.periodic),
            ],
            -1,
        ).reshape(b, c * len(INITIAL_FEATURES))
        if c > 1:
            corr, ok = channel_correlation(u0.reshape(b, c, -1))
            iu = torch.triu_indices(c, c, 1, device=u0.device)
            pairs = corr[:, iu[0], iu[1]]
            pairs = torch.where(ok.view(-1, 1), pairs, torch.full_like(pairs, math.nan))
            per_channel = torch.cat([per_channel, pairs], -1)
        return nan_rows(per_channel, bad).contiguous()
