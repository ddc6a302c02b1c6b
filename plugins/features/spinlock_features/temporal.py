"""TEMPORAL: per-timestep feature curves ``[B, T', D]``.

At every kept state (every ``stride``-th, the IC first) the spatial, spectral and
cross-channel statistics of each realization are averaged over channels, then reduced over the
M realizations by each configured statistic: column ``{feature}__{stat}``, statistics inner.
The ensemble spread across realizations closes the row. The kept state indices are
:meth:`TemporalFeatures.kept_states`.
"""

from __future__ import annotations

import math

import torch

from spinlock_core.api import Column, DomainInfo, FeatureBatch, FeatureFamily

from ._manifest import check_unique
from ._realizations import aggregate
from ._shared import cached_state_stats
from ._spectral import spectral_ops
from ._stats import CROSS_NAMES, cross_channel_stats, finite_samples, nan_rows
from ._timestep import iter_chunks, state_names, state_table
from .config import TemporalConfig

__all__ = ["TemporalConfig", "TemporalFeatures", "curve_features"]

_DOCS = {
    "mean": ("field", "spatial mean"),
    "std": ("field", "spatial standard deviation"),
    "skewness": ("1", "spatial skewness (NaN if constant)"),
    "kurtosis": ("1", "spatial excess kurtosis (NaN if constant)"),
    "grad_rms": ("field/length", "rms gradient magnitude"),
    "l2_raw": ("field", "rms value sqrt(mean u^2)"),
    "tv_raw": ("field/length", "total variation mean|du/dx| + mean|du/dy|"),
    "entropy_raw": ("1", "histogram entropy / log(bins) (0 if constant)"),
    "spectral_centroid": ("rad/length", "power-weighted mean |k| over non-DC modes"),
    "spectral_slope": ("1", "OLS slope of log shell-mean power vs log |k|"),
    "spectral_flatness": ("1", "geometric / arithmetic mean of shell-mean power"),
    "xc_eig_top_fraction": ("1", "top eigenvalue of the channel correlation matrix / C (1 if C=1)"),
    "xc_participation_ratio": ("1", "(sum l)^2 / sum l^2 / C of the channel correlations (1 if C=1)"),
    "xc_abs_corr_mean": ("1", "mean |corr| over channel pairs (NaN if C=1)"),
    "xc_mutual_info": ("1", "mean MI / min entropy over channel pairs (NaN if C=1)"),
}
_STATE = (
    "mean",
    "std",
    "skewness",
    "kurtosis",
    "grad_rms",
    "l2_raw",
    "tv_raw",
    "entropy_raw",
    "spectral_centroid",
    "spectral_slope",
    "spectral_flatness",
)


def curve_features(n_bands: int) -> list[tuple[str, str, str]]:
    """Per-state features ``(name, unit, definition)`` in column order (before aggregation)."""
    feats = [(n, *_DOCS[n]) for n in _STATE]
    feats += [(f"band_{j}", "1", f"fraction of non-DC power in band {j}") for j in range(n_bands)]
    feats += [(n, *_DOCS[n]) for n in CROSS_NAMES]
    return feats


class TemporalFeatures(FeatureFamily):
    """Spatial, spectral and cross-channel curves over time, with their realization spread."""

    name = "temporal"
    scope = "timestep"
    needs_trajectories = True
    Config = TemporalConfig

    def __init__(self, config: TemporalConfig | None = None):
        self.config = config or TemporalConfig()

    def kept_states(self, n_states: int) -> range:
        """Indices of the states that become rows of the curves."""
        return range(0, n_states, self.config.stride)

    def columns(self, domain: DomainInfo) -> list[Column]:
        cols = [
            Column(
                name=f"{n}__{a}",
                unit=u,
                scope="timestep",
                aggregate=a,
                doc=f"{d} (channel mean; {a} over realizations)",
            )
            for n, u, d in curve_features(self.config.n_bands())
            for a in self.config.aggregates
        ]
        cols.append(
            Column(
                name="ensemble_spread",
                unit="field",
                scope="timestep",
                aggregate="ensemble",
                doc="sqrt(mean over pixels and channels of the variance over realizations); NaN if M=1",
            )
        )
        return check_unique(self.name, cols)

    def extract(self, batch: FeatureBatch) -> torch.Tensor:
        cfg = self.config
        u = torch.as_tensor(batch.trajectories)
        u = u.float() if u.dtype != torch.float32 else u
        u = u[:, :, :: cfg.stride]
        u, bad = finite_samples(u)  # a diverged sample: NaN rows, the others untouched
        b, m, n, c, h, w = u.shape
        grid = batch.domain.grid
        ops = spectral_ops(grid, cfg.band_edges, u.device)
        names = state_names(ops.n_bands, scales=False)
        keep = [names.index(k) for k in (*_STATE, *(f"band_{j}" for j in range(ops.n_bands)))]
        # SUMMARY's statistics of every state, where they are bitwise ours (see _shared.py)
        shared = None
        if cfg.stride == 1:
            shared = cached_state_stats(
                batch, bad, cfg.band_edges, cfg.hist_bins, cfg.mi_bins, cfg.chunk_states
            )
            shared = shared if shared is not None and shared.shape == (b, m, n) else None
        states = u.reshape(b * m * n, c, h, w)
        parts = []
        for s in iter_chunks(states.shape[0], cfg.chunk_states):
            if shared is not None:  # the same chunks; the scale columns follow ours
                table, cross = shared.table[s], shared.cross[s]
            else:
                table = state_table(states[s], grid, ops, cfg.hist_bins, None)
                cross = cross_channel_stats(states[s], cfg.mi_bins)
            parts.append(torch.cat([table[..., keep].mean(1), cross], -1))  # channel mean
        curves = torch.cat(parts).reshape(b, m, n, -1)
        agg = aggregate(curves, cfg.aggregates, dim=1).reshape(b, n, -1)  # stats inner
        if m > 1:
            spread = u.var(1, correction=0).mean((-3, -2, -1)).sqrt()  # [B, T']
        else:
            spread = torch.full((b, n), math.nan, device=u.device, dtype=u.dtype)
        return nan_rows(torch.cat([agg, spread.unsqueeze(-1)], -1), bad).contiguous()
