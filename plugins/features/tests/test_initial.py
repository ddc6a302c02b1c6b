"""INITIAL known answers on synthetic fields with analytic values."""

from __future__ import annotations

import math

import pytest
import torch
from synthetic_fields import make_batch, make_domain, smooth_field

from spinlock_features import InitialFeatures

L = 2.0  # a non-unit box, so wavenumbers and lengths must be physical


def run(u0, channels=("u",), shape=None, periodic=True, **cfg):
    shape = shape or tuple(u0.shape[-2:])
    domain = make_domain(channels=channels, shape=shape, extent=((0.0, L), (0.0, L)), periodic=periodic)
    fam = InitialFeatures(InitialFeatures.Config(**cfg))
    out = fam.extract(make_batch(domain, u0=u0))
    return {c.name: out[:, i] for i, c in enumerate(fam.columns(domain))}


def grid_xy(n=32):
    x = torch.arange(n) * L / n
    return x.view(1, -1), x.view(-1, 1)


def test_plane_wave_spectrum():
    x, _ = grid_xy()
    k0 = 2 * math.pi * 3 / L
    f = run(torch.cos(k0 * x).expand(32, 32)[None, None])
    assert f["u__spectral_peak_k"].item() == pytest.approx(k0, rel=1e-5)
    assert f["u__spectral_centroid"].item() == pytest.approx(k0, rel=1e-5)
    assert f["u__spectral_bandwidth"].item() == pytest.approx(0, abs=1e-2)
    assert f["u__std"].item() == pytest.approx(1 / math.sqrt(2), rel=1e-5)
    assert f["u__mean"].item() == pytest.approx(0, abs=1e-6)


def test_white_noise_is_flat_and_power_law_has_its_slope():
    g = torch.Generator().manual_seed(0)
    f = run(torch.randn(32, 1, 32, 32, generator=g))
    assert f["u__spectral_slope"].mean().item() == pytest.approx(0, abs=0.08)
    # a field with shell-mean power ~ |k|^-3
    ky = torch.fft.fftfreq(32, d=L / 32).view(-1, 1) * 2 * math.pi
    kx = torch.fft.rfftfreq(32, d=L / 32).view(1, -1) * 2 * math.pi
    k = torch.sqrt(ky**2 + kx**2)
    amp = torch.where(k > 0, k.clamp_min(1e-9) ** -1.5, torch.zeros_like(k))
    phase = torch.rand(8, 32, 17, generator=g) * 2 * math.pi
    field = torch.fft.irfft2(amp * torch.exp(1j * phase), s=(32, 32))
    f = run(field[:, None].float())
    assert f["u__spectral_slope"].mean().item() == pytest.approx(-3.0, abs=0.3)


def test_constant_field():
    f = run(torch.full((1, 1, 16, 16), 2.5))
    assert f["u__std"].item() == 0 and f["u__entropy"].item() == 0
    assert f["u__mean"].item() == pytest.approx(2.5)
    for name in (
        "skewness",
        "kurtosis",
        "spectral_slope",
        "spectral_centroid",
        "correlation_length",
        "largest_component_fraction",
        "perimeter_per_area",
        "symmetry_mirror_x",
    ):
        assert math.isnan(f[f"u__{name}"].item()), name
    assert f["u__n_components"].item() == 0


def test_two_level_field_moments_and_entropy():
    x, _ = grid_xy(16)
    u = torch.where(x < L / 2, 1.0, -1.0).expand(16, 16)[None, None]
    f = run(u.float(), hist_bins=8)
    assert f["u__std"].item() == pytest.approx(1)
    assert f["u__skewness"].item() == pytest.approx(0, abs=1e-6)
    assert f["u__kurtosis"].item() == pytest.approx(-2, abs=1e-5)
    assert f["u__entropy"].item() == pytest.approx(math.log(2) / math.log(8), rel=1e-5)
    ramp = torch.arange(32.0).view(1, -1).expand(32, 32)[None, None]
    assert run(ramp, hist_bins=32)["u__entropy"].item() == pytest.approx(1, rel=1e-6)


def test_correlation_length_of_a_plane_wave():
    """The radial average of cos(k0 x) is J0(k0 r): 1/e is reached at r = z / k0, J0(z) = 1/e."""
    from scipy.optimize import brentq
    from scipy.special import j0

    z = brentq(lambda s: j0(s) - math.exp(-1), 0.5, 2.4)
    x, _ = grid_xy(64)
    k0 = 2 * math.pi * 4 / L
    f = run(torch.cos(k0 * x).expand(64, 64)[None, None])
    assert f["u__correlation_length"].item() == pytest.approx(z / k0, rel=0.1)
    smooth = run(smooth_field(torch.Generator().manual_seed(1), (32, 32), 0.3)[None])
    rough = run(smooth_field(torch.Generator().manual_seed(1), (32, 32), 0.05)[None])
    assert smooth["u__correlation_length"].item() > 2 * rough["u__correlation_length"].item()


def test_morphology_counts_squares():
    u = torch.zeros(1, 1, 32, 32)
    u[0, 0, 2:6, 2:6] = 1  # 4x4
    u[0, 0, 10:18, 10:18] = 1  # 8x8
    u[0, 0, 24:26, 2:4] = 1  # 2x2
    f = run(u)
    dx = L / 32
    assert f["u__n_components"].item() == 3
    assert f["u__largest_component_fraction"].item() == pytest.approx(64 / (16 + 64 + 4))
    perimeter = (16 + 32 + 8) * dx
    assert f["u__perimeter_per_area"].item() == pytest.approx(perimeter / (84 * dx * dx), rel=1e-5)


def test_morphology_wraps_on_periodic_grids_only():
    u = torch.zeros(1, 1, 16, 16)
    u[0, 0, 4:8, 0:2] = 1
    u[0, 0, 4:8, 14:16] = 1  # touches the first block across the x boundary
    assert run(u)["u__n_components"].item() == 1
    assert run(u, periodic=False)["u__n_components"].item() == 2


def test_symmetry_scores():
    g = torch.Generator().manual_seed(2)
    base = torch.randn(4, 1, 32, 32, generator=g)
    mx = run(base + torch.flip(base, (-1,)))
    rot = run(base + torch.flip(base, (-2, -1)))
    noise = run(base)
    assert torch.allclose(mx["u__symmetry_mirror_x"], torch.ones(4), atol=1e-5)
    assert torch.allclose(rot["u__symmetry_rot180"], torch.ones(4), atol=1e-5)
    assert (noise["u__symmetry_mirror_x"] < 0.5).all() and (mx["u__symmetry_mirror_y"] < 0.5).all()
    # a symmetry axis anywhere counts on a periodic grid
    shifted = run(torch.roll(base + torch.flip(base, (-1,)), 5, -1))
    assert torch.allclose(shifted["u__symmetry_mirror_x"], torch.ones(4), atol=1e-5)


def test_cross_channel_correlation():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(2, 1, 16, 16, generator=g)
    f = run(torch.cat([a, a, -a], 1), channels=("u", "v", "w"))
    assert torch.allclose(f["u__v__corr"], torch.ones(2), atol=1e-5)
    assert torch.allclose(f["u__w__corr"], -torch.ones(2), atol=1e-5)
