"""Initial-condition library: shapes, determinism, normalisation, length scales, type draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spinlock_core.errors import ConfigError
from spinlock_core.interfaces import Grid
from spinlock_core.seeding import generator_for
from spinlock_reaction_diffusion._ic_fields import gaussian_spectrum_field
from spinlock_reaction_diffusion._ic_well import steady_state
from spinlock_reaction_diffusion.ics import (
    GENERIC_WEIGHTS,
    GRAY_SCOTT_WEIGHTS,
    IC_TYPES,
    GaussianRandomField,
    ICLibrary,
    WellFourier,
    sample_batch,
)

GRID = Grid(shape=(32, 48), extent=((-1.0, 1.0), (0.0, 3.0)))
GS_GRID = Grid(shape=(32, 32), extent=((-1.0, 1.0), (-1.0, 1.0)))
GENERIC = list(GENERIC_WEIGHTS)
GRAY_SCOTT = list(GRAY_SCOTT_WEIGHTS)


def _gen(i=0, stream="ic"):
    return generator_for(7, i, stream)


def test_registry_has_every_required_type():
    required = {"grf", "multiscale_grf", "localized", "structured", "composite", "turing", "reaction_front"}
    assert required | {"well_gaussian", "well_fourier"} == set(IC_TYPES)


@pytest.mark.parametrize("name", GENERIC)
@pytest.mark.parametrize("channels", [1, 3])
def test_generic_shape_finite_normalised(name, channels):
    for i in range(4):
        u = IC_TYPES[name]().sample(_gen(i), channels, GRID, "cpu", torch.float32)
        assert u.shape == (channels, 32, 48) and u.dtype == torch.float32
        assert torch.isfinite(u).all()
        u = u.double()
        assert u.mean(dim=(1, 2)).abs().max() < 1e-5
        assert (u.std(dim=(1, 2), correction=0) - 1).abs().max() < 1e-4


@pytest.mark.parametrize("name", list(IC_TYPES))
def test_deterministic_per_generator(name):
    ic = IC_TYPES[name]()
    a = ic.sample(_gen(3), 2, GS_GRID, "cpu", torch.float64)
    b = ic.sample(_gen(3), 2, GS_GRID, "cpu", torch.float64)
    c = ic.sample(_gen(4), 2, GS_GRID, "cpu", torch.float64)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_well_gaussian_convention():
    for i in range(4):
        u = IC_TYPES["well_gaussian"]().sample(_gen(i), 2, GS_GRID, "cpu", torch.float32)
        assert u.shape == (2, 32, 32) and torch.isfinite(u).all()
        assert u.amin(dim=(1, 2)).tolist() == [0.0, 0.0]
        assert u.amax(dim=(1, 2)).tolist() == pytest.approx([1.0, 1.0])
        assert u[0].median() > 0.5 and u[1].median() < 0.5  # A ≈ 1 background, B ≈ 0


def test_well_fourier_convention_and_steady_state():
    ic = WellFourier()
    u = torch.stack([ic.sample(_gen(i), 2, GS_GRID, "cpu", torch.float64) for i in range(8)])
    assert torch.isfinite(u).all()
    means = u.mean(dim=(0, 2, 3))
    assert abs(means[0] - 1) < 0.05 and abs(means[1]) < 0.05
    assert u[:, 0].min() > 0.3 and u[:, 1].abs().max() < 0.7
    # With θ that has the non-trivial steady state, the field perturbs that state.
    F, k = 0.098, 0.057
    mu, mv, du, dv = steady_state(F, k)
    assert 0 < mu < 1 and 0 < mv < 1 and du < 0.9 and dv < 0.9
    v = torch.stack(
        [ic.sample(_gen(i), 2, GS_GRID, "cpu", torch.float64, theta={"F": F, "k": k}) for i in range(8)]
    )
    assert abs(v[:, 0].mean() - mu) < 0.05 and abs(v[:, 1].mean() - mv) < 0.05
    assert steady_state(0.014, 0.054) == (1.0, 0.0, 1.0, 1.0)  # gliders: trivial state only


@pytest.mark.parametrize("name", GRAY_SCOTT)
def test_gray_scott_types_need_two_channels(name):
    with pytest.raises(ConfigError, match="2 channels"):
        IC_TYPES[name]().sample(_gen(), 3, GS_GRID, "cpu", torch.float32)


def _correlation_length(fields: torch.Tensor, grid: Grid) -> float:
    """Lag where the mean periodic autocorrelation along the axes falls below exp(-1/2)."""
    spec = torch.fft.rfft2(fields)
    ac = torch.fft.irfft2(spec.abs() ** 2, s=fields.shape[-2:]).mean(0)
    ac = ac / ac[0, 0]
    n = min(grid.shape) // 2
    prof = 0.5 * (ac[0, :n] + ac[:n, 0])
    i = int((prof < math.exp(-0.5)).nonzero()[0])
    a, b = prof[i - 1].item(), prof[i].item()
    return (i - 1 + (a - math.exp(-0.5)) / (a - b)) * grid.spacing[0]


def test_grf_length_scale_sets_correlation_length():
    grid = Grid(shape=(128, 128))
    measured = []
    for ell in (0.03, 0.06):
        fields = gaussian_spectrum_field(_gen(1), 8, grid, ell)
        measured.append(_correlation_length(fields, grid))
        # For covariance exp(-r²/2ℓ²) the exp(-1/2) crossing is at r = ℓ.
        assert measured[-1] == pytest.approx(ell, rel=0.2)
    assert measured[1] > 1.6 * measured[0]
    # Through the IC type too: a longer configured scale gives a longer correlation.
    short = GaussianRandomField({"length_scale": [0.03, 0.03]}).sample(_gen(2), 8, grid, "cpu", torch.float64)
    long = GaussianRandomField({"length_scale": [0.1, 0.1]}).sample(_gen(2), 8, grid, "cpu", torch.float64)
    assert _correlation_length(long, grid) > 2 * _correlation_length(short, grid)


def test_type_draw_follows_weights_and_skips_zero_weight():
    lib = ICLibrary({"grf": 1.0, "localized": 0.0, "turing": 3.0})
    draws = np.array([lib.draw(generator_for(0, i, "ic")) for i in range(4000)])
    assert not (draws == 1).any()
    frac = (draws == 2).mean()
    assert abs(frac - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 4000)
    assert lib.probabilities.tolist() == [0.25, 0.0, 0.75]


def test_library_errors():
    with pytest.raises(ConfigError, match="valid: .*grf"):
        ICLibrary({"gaussian_random_field": 1.0})
    with pytest.raises(ConfigError, match="unknown option"):
        ICLibrary({"grf": 1.0}, {"grf": {"lengthscale": [0.1, 0.2]}})
    with pytest.raises(ConfigError):
        ICLibrary({"grf": 1.0}, {"turing": {}})
    with pytest.raises(ConfigError):
        ICLibrary({"grf": -1.0, "turing": 2.0})
    with pytest.raises(ConfigError):
        ICLibrary({"grf": 0.0})
    with pytest.raises(ConfigError):
        ICLibrary({"grf": 1.0}, {"grf": {"length_scale": [0.2, 0.1]}})


def test_sample_batch_is_batch_independent():
    lib = ICLibrary(GENERIC_WEIGHTS)
    types, u = sample_batch(lib, 11, [3, 5, 8], 3, GRID, "cpu", torch.float32)
    assert types.dtype == np.int64 and types.shape == (3,) and u.shape == (3, 3, 32, 48)
    t1, u1 = sample_batch(lib, 11, [5], 3, GRID, "cpu", torch.float32)
    assert t1[0] == types[1] and torch.equal(u1[0], u[1])
    t2, _ = sample_batch(lib, 12, [3, 5, 8], 3, GRID, "cpu", torch.float32)
    _, u2 = sample_batch(lib, 12, [5], 3, GRID, "cpu", torch.float32)
    assert not torch.equal(u1[0], u2[0])


def test_sample_batch_passes_theta():
    lib = ICLibrary({"well_fourier": 1.0})
    theta = {"F": np.array([0.014, 0.098]), "k": np.array([0.054, 0.057])}
    _, u = sample_batch(lib, 0, [0, 1], 2, GS_GRID, "cpu", torch.float64, theta=theta)
    assert abs(u[0, 0].mean() - 1) < 0.1
    assert abs(u[1, 0].mean() - steady_state(0.098, 0.057)[0]) < 0.1


def test_gallery_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from spinlock_reaction_diffusion.gallery import ic_gallery

    lib = ICLibrary({"grf": 1.0, "well_gaussian": 0.0})
    out = ic_gallery(lib, 2, Grid(shape=(16, 16), extent=((-1, 1), (-1, 1))), tmp_path / "g.png", per_type=2)
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_amplitude_scales_unit_std_types_per_sample_and_leaves_well_types_alone():
    import torch

    from spinlock_core.interfaces import Grid
    from spinlock_reaction_diffusion.ics import ICLibrary

    grid = Grid(shape=(16, 16))
    scaled = ICLibrary({"grf": 1.0}, amplitude=(0.5, 2.0))
    stds = [
        scaled.sample(torch.Generator().manual_seed(s), 1, grid, "cpu", torch.float32)[1].std().item()
        for s in range(20)
    ]
    assert 0.5 <= min(stds) < 0.8 and 1.4 < max(stds) <= 2.01
    well = ICLibrary({"well_gaussian": 1.0}, amplitude=(0.5, 2.0))
    field = well.sample(
        torch.Generator().manual_seed(0),
        2,
        Grid(shape=(16, 16), extent=((-1, 1), (-1, 1))),
        "cpu",
        torch.float32,
    )[1]
    assert field.min() >= 0 and field.max() <= 1


def test_bad_amplitude_range():
    from spinlock_core.errors import ConfigError
    from spinlock_reaction_diffusion.ics import ICLibrary

    with pytest.raises(ConfigError, match="0 < low <= high"):
        ICLibrary({"grf": 1.0}, amplitude=(0.0, 1.0))
