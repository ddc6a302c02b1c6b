"""Gray-Scott operator: accuracy, convergence order, fixed points, batching, θ sensitivity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spinlock_core.errors import ConfigError
from spinlock_core.interfaces import Grid
from spinlock_reaction_diffusion.gray_scott import (
    PEARSON_REGIMES,
    GrayScottConfig,
    GrayScottOperator,
    etdrk4_coefficients,
)

THETA = {"F": np.array([0.04]), "k": np.array([0.06])}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny FFTs run ~20x faster on one thread than with intra-op threading on a busy CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _ic(n: int, batch: int = 1) -> torch.Tensor:
    """A smooth two-spot IC ``[batch, 1, 2, n, n]`` (float64) on [-1, 1]²."""
    grid = GrayScottOperator().grid_for((n, n))
    y, x = grid.coordinates(dtype=torch.float64)
    fields = []
    for b in range(batch):
        s = 0.1 * b
        bump = torch.exp(-((x - s) ** 2 + y**2) / 0.02) + torch.exp(
            -((x + 0.3) ** 2 + (y - 0.2 - s) ** 2) / 0.01
        )
        fields.append(torch.stack((1 - 0.5 * bump, 0.25 * bump)))
    return torch.stack(fields)[:, None]


def _run(u0, theta, dt, total, n=None, dtype=torch.float64, **cfg):
    op = GrayScottOperator(GrayScottConfig(dt=dt, substeps=int(round(total / dt)), **cfg))
    grid = op.grid_for(u0.shape[-2:])
    stepper = op.build(theta, list(range(u0.shape[0])), 0, grid, torch.device("cpu"), dtype)
    return stepper.step(u0.to(dtype), 0)


def test_defaults_and_parameter_space():
    op = GrayScottOperator()
    assert op.name == "gray_scott" and op.stochastic is False and op.channels == ("A", "B")
    space = op.parameter_space
    assert space.names == ["F", "k"]
    assert (space["F"].low, space["F"].high, space["k"].low, space["k"].high) == (0.01, 0.1, 0.045, 0.07)
    c = op.config
    assert (c.diffusion_a, c.diffusion_b, c.extent, c.dt, c.substeps) == (2e-5, 1e-5, (-1.0, 1.0), 1.0, 10)
    assert op.stored_dt == 10.0
    op2 = GrayScottOperator(GrayScottConfig(F_range=[0.02, 0.03], k_range=[0.05, 0.06]))
    assert op2.parameter_space["F"].high == 0.03
    with pytest.raises(ConfigError):
        GrayScottConfig(F_range=(0.1, 0.01))
    with pytest.raises(ConfigError):
        GrayScottConfig(dt=0.0)


def test_contour_coefficients_match_closed_forms():
    z = torch.tensor([-3.0, -1.0, -0.3, 0.0], dtype=torch.float64)
    c = etdrk4_coefficients(z, 1.0)
    zz = z[:3]
    assert torch.allclose(c["Q"][:3], (torch.exp(zz / 2) - 1) / zz, atol=1e-13)
    f1 = (-4 - zz + torch.exp(zz) * (4 - 3 * zz + zz**2)) / zz**3
    assert torch.allclose(c["f1"][:3], f1, atol=1e-12)
    # z -> 0 limits: Q = 1/2, f1 = f2 = f3 = 1/6.
    assert c["Q"][3].item() == pytest.approx(0.5, abs=1e-14)
    for name in ("f1", "f2", "f3"):
        assert c[name][3].item() == pytest.approx(1 / 6, abs=1e-14)


def test_accuracy_against_eight_times_smaller_dt():
    u0 = _ic(32)
    coarse = _run(u0, THETA, 1.0, 100.0)
    fine = _run(u0, THETA, 1.0 / 8, 100.0)
    err = (coarse - fine).abs().max().item()
    assert err < 1e-6, err  # measured 1.3e-8
    assert (fine - u0).abs().max() > 0.05  # it did evolve


def test_fourth_order_in_time():
    u0 = _ic(32)
    ref = _run(u0, THETA, 1.0 / 16, 40.0)
    errs = [(_run(u0, THETA, dt, 40.0) - ref).abs().max().item() for dt in (2.0, 1.0, 0.5)]
    ratios = [errs[0] / errs[1], errs[1] / errs[2]]
    assert all(10 < r < 24 for r in ratios), (errs, ratios)


def test_matches_independent_rk_solver():
    """Against scipy's DOP853 on the same spectral semi-discretisation (no dealiasing)."""
    from scipy.integrate import solve_ivp

    n, F, k, T = 16, 0.04, 0.06, 20.0
    u0 = _ic(n)
    ours = _run(u0, THETA, 1.0, T, dealias=False)[0, 0].numpy()
    kk = 2 * np.pi * np.fft.fftfreq(n, d=2.0 / n)
    lap = -(kk[:, None] ** 2 + kk[None, :] ** 2)

    def rhs(_, y):
        a, b = y.reshape(2, n, n)
        da = 2e-5 * np.fft.ifft2(lap * np.fft.fft2(a)).real - a * b * b + F * (1 - a)
        db = 1e-5 * np.fft.ifft2(lap * np.fft.fft2(b)).real + a * b * b - (F + k) * b
        return np.concatenate((da.ravel(), db.ravel()))

    sol = solve_ivp(rhs, (0, T), u0[0, 0].numpy().ravel(), method="DOP853", rtol=1e-11, atol=1e-12)
    ref = sol.y[:, -1].reshape(2, n, n)
    assert np.abs(ours - ref).max() < 1e-6


@pytest.mark.parametrize("F,k", [(0.01, 0.045), (0.04, 0.06), (0.1, 0.07)])
def test_trivial_fixed_point_is_preserved(F, k):
    u0 = torch.zeros(1, 1, 2, 16, 16)
    u0[:, :, 0] = 1.0
    out = _run(u0, {"F": np.array([F]), "k": np.array([k])}, 1.0, 50.0, dtype=torch.float32)
    assert (out - u0).abs().max() < 1e-6


def test_mass_balance_of_uniform_state():
    """A spatially uniform state follows the ODE; A + B obeys d(A+B)/dt = F(1-A) - (F+k)B."""
    F, k = 0.03, 0.055
    u0 = torch.zeros(1, 1, 2, 8, 8, dtype=torch.float64)
    u0[:, :, 0], u0[:, :, 1] = 0.6, 0.3
    out = _run(u0, {"F": np.array([F]), "k": np.array([k])}, 0.5, 1.0)
    assert out[0, 0].std(dim=(1, 2)).max() < 1e-13  # stays uniform
    a, b = 0.6, 0.3
    for _ in range(20000):  # forward Euler with a tiny step as the ODE reference
        r = a * b * b
        a, b = a + 5e-5 * (-r + F * (1 - a)), b + 5e-5 * (r - (F + k) * b)
    assert out[0, 0, 0, 0, 0].item() == pytest.approx(a, abs=1e-5)
    assert out[0, 0, 1, 0, 0].item() == pytest.approx(b, abs=1e-5)


def test_batch_independence_and_realizations():
    u0 = _ic(16, batch=3).float()
    theta = {"F": np.array([0.02, 0.04, 0.06]), "k": np.array([0.05, 0.06, 0.065])}
    both = _run(u0.expand(3, 2, 2, 16, 16).contiguous(), theta, 1.0, 10.0, dtype=torch.float32)
    alone = _run(u0[1:2], {n: v[1:2] for n, v in theta.items()}, 1.0, 10.0, dtype=torch.float32)
    assert torch.allclose(both[1, 0], alone[0, 0], atol=1e-6, rtol=0)
    assert torch.allclose(both[1, 1], alone[0, 0], atol=1e-6, rtol=0)  # M realizations agree


def test_different_theta_gives_different_dynamics():
    u0 = _ic(16)
    a = _run(u0, {"F": np.array([0.02]), "k": np.array([0.05])}, 1.0, 50.0)
    b = _run(u0, {"F": np.array([0.02]), "k": np.array([0.06])}, 1.0, 50.0)
    c = _run(u0, {"F": np.array([0.05]), "k": np.array([0.05])}, 1.0, 50.0)
    assert (a - b).abs().max() > 1e-3 and (a - c).abs().max() > 1e-3


def test_low_precision_storage_dtype():
    u0 = _ic(16).to(torch.bfloat16)
    out = _run(u0, THETA, 1.0, 10.0, dtype=torch.bfloat16)
    ref = _run(u0.double(), THETA, 1.0, 10.0)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
    assert (out.double() - ref).abs().max() < 1e-2


def test_grid_and_theta_checks():
    op = GrayScottOperator()
    with pytest.raises(ConfigError, match="grid_for"):
        op.build(THETA, [0], 0, Grid(shape=(8, 8)), torch.device("cpu"), torch.float32)
    with pytest.raises(ConfigError, match="lacks"):
        op.build({"F": np.array([0.04])}, [0], 0, op.grid_for((8, 8)), torch.device("cpu"), torch.float32)


def test_derived_columns_name_the_nearest_regime():
    op = GrayScottOperator()
    names = [r[0] for r in PEARSON_REGIMES]
    F = np.array([r[1] for r in PEARSON_REGIMES] + [0.0401])
    k = np.array([r[2] for r in PEARSON_REGIMES] + [0.0601])
    cols = op.derived_columns({"F": F, "k": k}, op.grid_for((8, 8)))
    assert cols["pearson_regime"].tolist() == list(range(len(names))) + [names.index("theta")]
    assert np.allclose(cols["pearson_distance"][:-1], 0)
    assert cols["pearson_distance"][-1] == pytest.approx(math.hypot(1e-4 / 0.09, 1e-4 / 0.025))
