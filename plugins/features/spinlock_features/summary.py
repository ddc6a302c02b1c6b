"""SUMMARY: one row per sample summarising its trajectories.

Each feature is computed per trajectory (one realization), averaged over channels so the
columns are the same for every domain, then reduced over the M realizations by each configured
statistic: column ``{feature}__{stat}``, features in :func:`trajectory_features` order with the
statistics inner. Two ensemble columns (how fast realizations diverge) follow.
Units: ``field`` is the unit of the state variables, ``time`` and ``length`` the domain's.
"""

from __future__ import annotations

import math

import torch

from spinlock_core.api import Column, DomainInfo, FeatureBatch, FeatureFamily

from ._manifest import check_unique
from ._realizations import aggregate, masked_slope, time_axis
from ._shared import state_stats
from ._spectral import spectral_ops
from ._stats import (
    CROSS_NAMES,
    REL_EPS,
    finite_samples,
    first_crossing,
    nan_rows,
    ols_slope,
)
from ._timestep import INVARIANTS, SCALES, iter_chunks, state_names
from .config import SummaryConfig

__all__ = ["SummaryConfig", "SummaryFeatures", "trajectory_features", "ENSEMBLE_FEATURES"]

_SPATIAL = (
    ("mean", "field"),
    ("std", "field"),
    ("skewness", "1"),
    ("kurtosis", "1"),
    ("grad_rms", "field/length"),
)
_DRIFT = (
    ("mean_drift", "[I]/time", "mean rate of change dI/dt"),
    ("drift_var", "([I]/time)^2", "variance of dI/dt over steps"),
    ("final_initial_ratio", "1", "I(T)/I(0); NaN when I(0) is 0"),
    ("monotonicity", "1", "mean sign of dI over steps (-1..1)"),
)
_TEMPORAL = (
    ("energy_growth_rate", "1/time", "OLS slope of log mean(u^2) vs time"),
    ("variance_growth_rate", "1/time", "OLS slope of log spatial variance vs time"),
    ("autocorr_decay_time", "time", "lag where the pixelwise temporal autocorrelation falls to 1/e"),
    ("dominant_frequency", "1/time", "peak of the detrended pixelwise temporal power spectrum (cycles)"),
    ("oscillation_amplitude", "field", "sqrt(2 * mean over pixels of the linearly detrended variance)"),
    ("trend_strength", "1", "fraction of temporal variance explained by per-pixel linear trends"),
    ("spike_fraction", "1", "fraction of steps whose activity rms(du)/dt exceeds mean + k*std"),
    ("burst_rate", "1/step", "runs of >= 2 consecutive spike steps, per step"),
    ("time_to_stationarity", "time", "time after which rms(u) stays within tol*range of its final value"),
)
_CAUSAL = (
    (
        "lag_xcorr_asymmetry",
        "1",
        "max over channel pairs |corr(a_t, b_t+lag) - corr(b_t, a_t+lag)|; NaN if C=1",
    ),
    ("increment_irreversibility", "1", "skewness of the increments of the rms series (0 if reversible)"),
)
_CROSS_DOCS = {
    "xc_eig_top_fraction": "time mean of the top eigenvalue of the channel correlation matrix / C (1 if C=1)",
    "xc_participation_ratio": "time mean of (sum l)^2 / sum l^2 / C of channel correlations (1 if C=1)",
    "xc_abs_corr_mean": "time mean of mean |corr| over channel pairs (NaN if C=1)",
    "xc_mutual_info": "time mean of mean MI / min entropy over channel pairs (NaN if C=1)",
}
#: Per-sample ensemble columns (not reduced over realizations; aggregate "ensemble").
ENSEMBLE_FEATURES = (
    (
        "ensemble_divergence_rate",
        "1/time",
        "OLS slope of log ensemble spread vs time (spread > 0); NaN if M=1",
    ),
    ("ensemble_spread_final", "1", "final spread / rms of the final ensemble mean; NaN if M=1"),
)
_INV_UNITS = {"l1": "field", "l2": "field", "linf": "field", "tv": "field/length", "entropy": "1"}


def trajectory_features(n_bands: int) -> list[tuple[str, str, str]]:
    """The per-trajectory features ``(name, unit, definition)`` in column order."""
    feats = []
    for name, unit in _SPATIAL:
        feats.append((f"{name}_tmean", unit, f"time mean of the spatial {name}"))
        feats.append((f"{name}_tstd", unit, f"time std of the spatial {name}"))
    for j in range(n_bands):
        feats.append((f"band_{j}_tmean", "1", f"time mean of the fraction of non-DC power in band {j}"))
    feats += [
        ("spectral_slope_tmean", "1", "time mean of the radial spectral slope"),
        ("spectral_flatness_tmean", "1", "time mean of the shell-power flatness (geo/arith mean)"),
        ("spectral_centroid_tmean", "rad/length", "time mean of the power-weighted mean |k|"),
    ]
    feats += list(_TEMPORAL) + list(_CAUSAL)
    for scale in SCALES:
        for inv in INVARIANTS:
            for metric, unit, doc in _DRIFT:
                feats.append(
                    (
                        f"{inv}_{scale}_{metric}",
                        unit.replace("[I]", _INV_UNITS[inv]),
                        f"{doc} of the {inv} invariant of the {scale} field",
                    )
                )
    feats += [(n, "1", _CROSS_DOCS[n]) for n in CROSS_NAMES]
    return feats


class SummaryFeatures(FeatureFamily):
    """Spatial, spectral, temporal, causal, invariant-drift, cross-channel and ensemble summaries."""

    name = "summary"
    scope = "sample"
    needs_trajectories = True
    Config = SummaryConfig

    def __init__(self, config: SummaryConfig | None = None):
        self.config = config or SummaryConfig()

    def columns(self, domain: DomainInfo) -> list[Column]:
        cols = [
            Column(name=f"{n}__{a}", unit=u, aggregate=a, doc=f"{d} (channel mean; {a} over realizations)")
            for n, u, d in trajectory_features(self.config.n_bands())
            for a in self.config.aggregates
        ]
        cols += [Column(name=n, unit=u, aggregate="ensemble", doc=d) for n, u, d in ENSEMBLE_FEATURES]
        return check_unique(self.name, cols)

    def extract(self, batch: FeatureBatch) -> torch.Tensor:
        cfg = self.config
        u = torch.as_tensor(batch.trajectories)
        u = u.float() if u.dtype != torch.float32 else u
        u, bad = finite_samples(u)  # a diverged sample: NaN row, the others untouched
        b, m, t_len, c, h, w = u.shape
        grid = batch.domain.grid
        t = time_axis(batch.time, t_len, batch.domain.dt, u.device)
        ops = spectral_ops(grid, cfg.band_edges, u.device)
        cutoff = cfg.lowpass_cutoff or 4 * 2 * math.pi / min(grid.lengths)
        names = state_names(ops.n_bands, scales=True)
        # per-state statistics, left in batch.shared for TEMPORAL
        stats = state_stats(
            batch, u, bad, grid, ops, cfg.band_edges, cfg.hist_bins, cfg.mi_bins, cutoff, cfg.chunk_states
        )
        table = stats.table.reshape(b, m, t_len, c, len(names)).movedim(2, -1)  # [B, M, C, K, T]
        cross = stats.cross.reshape(b, m, t_len, len(CROSS_NAMES))

        def series(name):
            return table[:, :, :, names.index(name)]  # [B, M, C, T]

        f = {}
        for name, _ in _SPATIAL:
            s = series(name)
            f[f"{name}_tmean"], f[f"{name}_tstd"] = s.mean(-1), s.std(-1, correction=0)
        for j in range(ops.n_bands):
            f[f"band_{j}_tmean"] = series(f"band_{j}").mean(-1)
        for k in ("slope", "flatness", "centroid"):
            f[f"spectral_{k}_tmean"] = series(f"spectral_{k}").mean(-1)
        f["energy_growth_rate"] = ols_slope(torch.log(series("l2_raw").double().square()), t)
        f["variance_growth_rate"] = ols_slope(torch.log(series("std").double().square()), t)
        rows = max(cfg.chunk_states // t_len, 1)
        flat = u.reshape(b * m, t_len, c, h, w)
        pix = [_pixel_pass(flat[s], t, cfg) for s in iter_chunks(b * m, rows)]
        for key in pix[0]:
            f[key] = torch.cat([p[key] for p in pix]).reshape(b, m, *pix[0][key].shape[1:])
        activity = f.pop("activity")
        f["spike_fraction"], f["burst_rate"] = _spikes(activity, cfg.spike_sigma)
        f["time_to_stationarity"] = _stationarity(series("l2_raw"), t, cfg.stationarity_tol)
        f["increment_irreversibility"] = _irreversibility(series("l2_raw"))
        scale0 = series("linf_raw")[..., 0]
        for scale in SCALES:
            for inv in INVARIANTS:
                for key, val in _drift(series(f"{inv}_{scale}"), t, scale0).items():
                    f[f"{inv}_{scale}_{key}"] = val
        for j, n in enumerate(CROSS_NAMES):
            f[n] = cross[..., j].mean(-1)
        feats = trajectory_features(ops.n_bands)
        per_traj = torch.stack([_channel_mean(f[n].to(u.dtype), b, m) for n, _, _ in feats], -1)
        agg = aggregate(per_traj, cfg.aggregates, dim=1).reshape(b, -1)  # [B, F * A], stats inner
        ens = torch.cat([_ensemble(u[s], t) for s in iter_chunks(b, max(cfg.chunk_states // (m * t_len), 1))])
        return nan_rows(torch.cat([agg, ens], -1), bad).contiguous()


def _channel_mean(x: torch.Tensor, b: int, m: int) -> torch.Tensor:
    """``[B, M]`` or ``[B, M, C]`` -> ``[B, M]`` (mean over channels; NaN propagates)."""
    return x.reshape(b, m, -1).mean(-1)


def _pixel_pass(u: torch.Tensor, t: torch.Tensor, cfg: SummaryConfig) -> dict[str, torch.Tensor]:
    """Pixelwise temporal statistics of trajectories ``u [r, T, C, H, W]``.

    One FFT along time (zero-padded to 2T) gives the autocorrelation; the spectrum of the
    linearly detrended series follows from the same FFT by linearity, so no detrended copy of
    the trajectories is made.
    """
    r, n, c, h, w = u.shape
    nan = torch.full((r, c), math.nan, device=u.device, dtype=u.dtype)
    out = {
        k: nan
        for k in ("autocorr_decay_time", "dominant_frequency", "oscillation_amplitude", "trend_strength")
    }
    out["lag_xcorr_asymmetry"] = nan[:, 0]
    out["activity"] = torch.full((r, c, max(n - 1, 1)), math.nan, device=u.device, dtype=u.dtype)
    if n < 2:
        return out
    dt = float(t[-1] - t[0]) / (n - 1)
    tc = (t - t.mean()).to(u.dtype)
    var_tc = tc.square().mean()
    d = u - u.mean(1, keepdim=True)
    var_t = d.square().mean((1, 3, 4))  # [r, C]
    cov = (d * tc.view(1, -1, 1, 1, 1)).mean(1)  # [r, C, H, W]
    slope = cov / var_tc
    trend = (cov.square() / var_tc).mean((-2, -1))
    detr = (var_t - trend).clamp_min(0)
    scale = u.abs().amax((1, 3, 4))
    live = var_t.sqrt() > REL_EPS * scale
    one = torch.ones_like(var_t)
    out["trend_strength"] = torch.where(live, trend / torch.where(live, var_t, one), nan)
    out["oscillation_amplitude"] = torch.sqrt(2 * detr)
    spec = torch.fft.rfft(d, n=2 * n, dim=1)  # [r, T+1, C, H, W]
    s_c = spec.abs().square().mean((-2, -1))  # [r, T+1, C]
    acf = torch.fft.irfft(s_c, n=2 * n, dim=1)[:, :n].transpose(1, 2)  # [r, C, T]
    acf = acf / torch.where(live, acf[..., 0], one).unsqueeze(-1)
    out["autocorr_decay_time"] = torch.where(live, first_crossing(acf, math.exp(-1), dt), nan)
    f_tc = torch.fft.rfft(tc, n=2 * n)  # [T+1]
    cross = torch.einsum("rkchw,rchw->rkc", spec, slope.to(spec.dtype)) / (h * w)
    s_d = (
        s_c
        - 2 * (f_tc.conj().view(1, -1, 1) * cross).real
        + f_tc.abs().square().view(1, -1, 1) * (slope.square().mean((-2, -1)).unsqueeze(1))
    )
    peak = s_d[:, 1:].argmax(1) + 1
    osc = live & (detr > 1e-8 * var_t)
    out["dominant_frequency"] = torch.where(osc, peak.to(u.dtype) / (2 * n * dt), nan)
    inc = u[:, 1:] - u[:, :-1]
    out["activity"] = (inc.square().mean((-2, -1)).sqrt() / dt).transpose(1, 2)  # [r, C, T-1]
    lag = cfg.lag
    if c > 1 and n > lag:
        g = u - u.mean((1, 3, 4), keepdim=True)
        sd = g.square().mean((1, 3, 4)).sqrt()  # [r, C]
        s_ab = torch.einsum("rtchw,rtdhw->rcd", g[:, :-lag], g[:, lag:]) / ((n - lag) * h * w)
        norm = sd.unsqueeze(-1) * sd.unsqueeze(-2)
        asym = (s_ab - s_ab.transpose(1, 2)).abs() / torch.where(norm > 0, norm, torch.ones_like(norm))
        ok = (sd > REL_EPS * scale).all(-1)
        out["lag_xcorr_asymmetry"] = torch.where(ok, asym.flatten(1).amax(-1), nan[:, 0])
    return out


def _spikes(a: torch.Tensor, k: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Activity ``[..., T-1]`` -> (spike fraction, bursts per step)."""
    mu, sd = a.mean(-1, keepdim=True), a.std(-1, correction=0, keepdim=True)
    above = (a > mu + k * sd) & (sd > REL_EPS * mu.abs())
    prev = torch.nn.functional.pad(above[..., :-1], (1, 0))
    nxt = torch.nn.functional.pad(above[..., 1:], (0, 1))
    starts = above & nxt & ~prev
    n = a.shape[-1]
    frac, bursts = above.to(a.dtype).mean(-1), starts.to(a.dtype).sum(-1) / n
    undefined = torch.isnan(a).any(-1)
    nan = torch.full_like(frac, math.nan)
    return torch.where(undefined, nan, frac), torch.where(undefined, nan, bursts)


def _irreversibility(r: torch.Tensor) -> torch.Tensor:
    """Skewness of the increments of the rms series ``[..., T]``.

    The rms is used rather than the pixel values because the sign of an increment skewness
    flips with the sign of the field; the amplitude series has no such ambiguity. A
    time-reversible series has 0; a slow rise with sudden falls is negative. NaN if constant.
    """
    if r.shape[-1] < 2:
        return torch.full(r.shape[:-1], math.nan, device=r.device, dtype=r.dtype)
    inc = r.diff(dim=-1)
    d = inc - inc.mean(-1, keepdim=True)
    m2 = d.square().mean(-1)
    moving = m2.sqrt() > REL_EPS * r.abs().amax(-1)
    skew = d.pow(3).mean(-1) / torch.where(moving, m2, torch.ones_like(m2)).pow(1.5)
    return torch.where(moving, skew, torch.full_like(skew, math.nan))


def _stationarity(r: torch.Tensor, t: torch.Tensor, tol: float) -> torch.Tensor:
    """rms series ``[..., T]`` -> time after which it stays within tol * range of its end value."""
    rng = r.amax(-1) - r.amin(-1)
    dev = (r - r[..., -1:]).abs() > tol * rng.unsqueeze(-1)
    n = r.shape[-1]
    last = n - 1 - dev.flip(-1).to(torch.int8).argmax(-1)
    idx = torch.where(dev.any(-1), (last + 1).clamp_max(n - 1), torch.zeros_like(last))
    return (t[idx] - t[0]).to(r.dtype)


def _drift(series: torch.Tensor, t: torch.Tensor, scale0: torch.Tensor) -> dict[str, torch.Tensor]:
    """Invariant series ``[..., T]`` -> drift metrics (see ``_DRIFT``)."""
    if series.shape[-1] < 2:
        nan = torch.full(series.shape[:-1], math.nan, device=series.device, dtype=series.dtype)
        return dict.fromkeys(("mean_drift", "drift_var", "final_initial_ratio", "monotonicity"), nan)
    rate = series.diff(dim=-1) / t.diff().to(series.dtype)
    i0 = series[..., 0]
    zero = i0.abs() <= REL_EPS * scale0
    ratio = series[..., -1] / torch.where(zero, torch.ones_like(i0), i0)
    return {
        "mean_drift": rate.mean(-1),
        "drift_var": rate.var(-1, correction=0),
        "final_initial_ratio": torch.where(zero, torch.full_like(ratio, math.nan), ratio),
        "monotonicity": torch.sign(rate).mean(-1),
    }


def _ensemble(u: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Trajectories of whole samples ``[s, M, T, C, H, W]`` -> ``[s, 2]`` ensemble columns."""
    s, m = u.shape[:2]
    if m < 2:
        return torch.full((s, 2), math.nan, device=u.device, dtype=u.dtype)
    spread = u.var(1, correction=0).mean((2, 3, 4)).sqrt()  # [s, T]
    rms = u.square().mean((1, 3, 4, 5)).sqrt()
    rate = masked_slope(torch.log(spread.double().clamp_min(1e-300)), t, spread > REL_EPS * rms)
    mean_final = u[:, :, -1].mean(1).square().mean((1, 2, 3)).sqrt()
    final = spread[:, -1] / torch.where(mean_final > 0, mean_final, torch.ones_like(mean_final))
    final = torch.where(mean_final > 0, final, torch.full_like(final, math.nan))
    return torch.stack([rate.to(u.dtype), final], -1)
