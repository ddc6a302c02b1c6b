"""SUMMARY known answers: trajectories whose features are known analytically."""

from __future__ import annotations

import math

import pytest
import torch
from synthetic_fields import make_batch, make_domain, smooth_field

from spinlock_features import SummaryFeatures

DT = 0.1


def run(traj, channels=None, **cfg):
    """Features of trajectories ``[B, M, T, C, H, W]`` as ``{name without __mean: [B]}``."""
    channels = channels or tuple(f"c{i}" for i in range(traj.shape[3]))
    domain = make_domain(channels=channels, shape=tuple(traj.shape[-2:]), dt=DT)
    fam = SummaryFeatures(SummaryFeatures.Config(**cfg))
    out = fam.extract(make_batch(domain, traj))
    return {c.name.removesuffix("__mean"): out[:, i] for i, c in enumerate(fam.columns(domain))}


def pattern(seed=0, shape=(16, 16), channels=1):
    return smooth_field(torch.Generator().manual_seed(seed), shape, 0.15, channels)  # zero mean, rms 1


def times(n):
    return (torch.arange(n) * DT).view(-1, 1, 1, 1)


def test_linear_ramp_in_time():
    phi, psi = pattern(0), pattern(1)
    f = run((psi + times(16) * phi)[None, None])
    assert f["trend_strength"].item() == pytest.approx(1, abs=1e-5)
    assert f["oscillation_amplitude"].item() == pytest.approx(0, abs=1e-3)
    assert math.isnan(f["dominant_frequency"].item())  # nothing left after detrending


def test_oscillation_frequency_and_amplitude():
    n, cycles, amp = 32, 4, 2.5
    freq = cycles / (n * DT)
    u = amp * torch.sin(2 * math.pi * freq * times(n)) * pattern(0)
    f = run(u[None, None])
    assert f["dominant_frequency"].item() == pytest.approx(freq, rel=1e-5)
    assert f["oscillation_amplitude"].item() == pytest.approx(amp, rel=0.1)
    assert f["trend_strength"].item() < 0.1


def test_exponential_growth_rates():
    lam = 0.7
    f = run((torch.exp(lam * times(12)) * pattern(0))[None, None])
    assert f["energy_growth_rate"].item() == pytest.approx(2 * lam, rel=1e-4)
    assert f["variance_growth_rate"].item() == pytest.approx(2 * lam, rel=1e-4)
    assert f["l2_raw_final_initial_ratio"].item() == pytest.approx(math.exp(lam * 11 * DT), rel=1e-4)
    assert f["l2_raw_monotonicity"].item() == 1 and f["l1_low_monotonicity"].item() == 1


def test_linear_invariant_drift():
    f = run(((1 + times(10)) * pattern(0))[None, None])
    assert f["l2_raw_mean_drift"].item() == pytest.approx(1.0, rel=1e-4)  # rms(phi) = 1 per unit time
    assert f["l2_raw_drift_var"].item() == pytest.approx(0, abs=1e-6)
    assert f["l2_raw_final_initial_ratio"].item() == pytest.approx(1 + 9 * DT, rel=1e-5)
    assert f["entropy_raw_mean_drift"].item() == pytest.approx(0, abs=1e-4)  # shape unchanged
    f = run(((2 - times(10)) * pattern(0))[None, None])
    assert f["l2_raw_monotonicity"].item() == -1


def test_constant_trajectory():
    f = run(torch.full((1, 2, 6, 1, 8, 8), 3.0))
    assert f["std_tmean"].item() == 0 and f["std_tmean__std"].item() == 0
    assert f["entropy_raw_drift_var"].item() == 0
    assert f["energy_growth_rate"].item() == pytest.approx(0, abs=1e-6)
    for name in (
        "variance_growth_rate",
        "spectral_slope_tmean",
        "trend_strength",
        "autocorr_decay_time",
        "skewness_tmean",
        "increment_irreversibility",
        "entropy_raw_final_initial_ratio",
        "l1_high_final_initial_ratio",
    ):
        assert math.isnan(f[name].item()), name
    assert f["spike_fraction"].item() == 0 and f["time_to_stationarity"].item() == 0
    assert math.isnan(f["ensemble_divergence_rate"].item())  # identical realizations never diverge


def test_autocorrelation_decay_of_ar1():
    rho, n = 0.8, 200
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(n, 1, 16, 16)
    x[0] = torch.randn(1, 16, 16, generator=g)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + math.sqrt(1 - rho**2) * torch.randn(1, 16, 16, generator=g)
    f = run(x[None, None])
    assert f["autocorr_decay_time"].item() == pytest.approx(-DT / math.log(rho), rel=0.12)


def test_spikes_bursts_and_stationarity():
    n = 24
    phi = pattern(0)
    steps = torch.full((n,), 0.01)
    steps[5] = 1.0  # one spike
    steps[12:14] = 1.0  # one burst of two
    steps[0] = 0
    u = (steps.cumsum(0).view(-1, 1, 1, 1) + 0.001 * torch.arange(n).view(-1, 1, 1, 1) ** 2) * phi
    f = run(u[None, None])
    assert f["spike_fraction"].item() == pytest.approx(3 / (n - 1))
    assert f["burst_rate"].item() == pytest.approx(1 / (n - 1))
    ramp = torch.clamp(torch.arange(30.0), max=20).view(-1, 1, 1, 1) * phi
    f = run(ramp[None, None], stationarity_tol=0.05)
    assert f["time_to_stationarity"].item() == pytest.approx(19 * DT, rel=1e-5)


def test_irreversibility_sign():
    n = 40
    saw = (torch.arange(n) % 10).float().view(-1, 1, 1, 1)  # slow rise, sudden fall
    f = run((saw * pattern(0))[None, None])
    assert f["increment_irreversibility"].item() < -1
    sine = 2 + torch.sin(2 * math.pi * torch.arange(n + 1) / 10).view(-1, 1, 1, 1)  # 4 whole periods
    assert run((sine * pattern(0))[None, None])["increment_irreversibility"].item() == pytest.approx(
        0, abs=1e-3
    )


def test_lagged_cross_correlation_asymmetry():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20, 1, 16, 16, generator=g)
    lagged = torch.cat([a[1:], torch.roll(a, 1, 0)[1:]], 1)  # channel 1 is channel 0 one step later
    f = run(lagged[None, None])
    assert f["lag_xcorr_asymmetry"].item() == pytest.approx(1, abs=0.1)
    same = run(torch.cat([a, a], 1)[None, None])
    assert same["lag_xcorr_asymmetry"].item() == pytest.approx(0, abs=1e-5)
    assert math.isnan(run(a[None, None])["lag_xcorr_asymmetry"].item())


def test_cross_channel_identical_and_single():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4, 1, 16, 16, generator=g)
    f = run(torch.cat([a, a, a], 1)[None, None])
    assert f["xc_abs_corr_mean"].item() == pytest.approx(1, abs=1e-5)
    assert f["xc_mutual_info"].item() == pytest.approx(1, abs=1e-5)
    assert f["xc_eig_top_fraction"].item() == pytest.approx(1, abs=1e-5)
    assert f["xc_participation_ratio"].item() == pytest.approx(1 / 3, abs=1e-5)
    one = run(a[None, None])
    assert one["xc_eig_top_fraction"].item() == 1 and one["xc_participation_ratio"].item() == 1
    assert math.isnan(one["xc_abs_corr_mean"].item()) and math.isnan(one["xc_mutual_info"].item())


def test_spectral_bands_of_a_plane_wave():
    x = torch.arange(16) / 16
    wave = torch.cos(2 * math.pi * 3 * x).view(1, -1).expand(16, 16)  # k = 3 * 2π: band [2k1, 4k1)
    f = run(wave.expand(4, 1, 16, 16)[None, None])
    assert [f[f"band_{j}_tmean"].item() for j in range(4)] == pytest.approx([0, 1, 0, 0], abs=1e-6)
    assert f["spectral_centroid_tmean"].item() == pytest.approx(6 * math.pi, rel=1e-5)
    g = torch.Generator().manual_seed(0)
    noise = run(torch.randn(1, 1, 8, 1, 32, 32, generator=g))
    assert noise["spectral_slope_tmean"].item() == pytest.approx(0, abs=0.1)
    assert noise["spectral_flatness_tmean"].item() > 0.9


def test_ensemble_divergence_rate():
    lam, n = 1.3, 12
    g = torch.Generator().manual_seed(0)
    eta = torch.randn(3, 1, 1, 16, 16, generator=g)
    u = pattern(0) + 1e-3 * torch.exp(lam * times(n)) * eta  # [M, T, C, H, W]
    f = run(u[None])
    assert f["ensemble_divergence_rate"].item() == pytest.approx(lam, rel=1e-3)
    assert math.isnan(run(u[None, :1])["ensemble_divergence_rate"].item())
