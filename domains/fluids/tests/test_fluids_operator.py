"""The navier_stokes operator and the fluids domain: θ, batching, the stepper's solver state,
initial conditions, derived columns, presets and config errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.errors import ConfigError
from spinlock_core.interfaces import Grid
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.rollout import rollout
from spinlock_core.seeding import generator_for
from spinlock_fluids.config import FluidsConfig, NavierStokesConfig
from spinlock_fluids.domain import FluidsDomain, unit_torus
from spinlock_fluids.grf import GaussianRandomField
from spinlock_fluids.navier_stokes import NavierStokesOperator
from spinlock_fluids.solver import TorusSolver

CPU = torch.device("cpu")
FAST = {"dt": 0.01, "time_per_state": 0.05}  # 5 solver steps per stored state


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _theta(b: int, nu=1e-3, amplitude=0.1, n=1, orientation=0) -> dict[str, np.ndarray]:
    def col(v, dtype):
        return np.broadcast_to(np.asarray(v, dtype=dtype), (b,)).copy()

    return {
        "nu": col(nu, np.float64),
        "amplitude": col(amplitude, np.float64),
        "forcing_wavenumber": col(n, np.int64),
        "forcing_orientation": col(orientation, np.int64),
    }


def _ics(b: int, size: int, channels: int = 1, seed: int = 0, start: int = 0, **domain):
    domain = FluidsDomain(FluidsConfig(**domain))
    _, u0 = domain.initial_conditions(NavierStokesOperator()).sample(
        seed, range(start, start + b), channels, unit_torus(size), CPU, torch.float32
    )
    return u0


def _roll(theta, u0, steps, dtype=torch.float32, **cfg):
    op = NavierStokesOperator(NavierStokesConfig(**{**FAST, **cfg}))
    stepper = op.build(theta, list(range(u0.shape[0])), 0, unit_torus(u0.shape[-1]), CPU, dtype)
    return rollout(stepper, u0.to(dtype), steps=steps, realizations=1).states


def test_parameter_space_channels_and_defaults():
    op = NavierStokesOperator()
    space = op.parameter_space
    assert space.names == ["nu", "amplitude", "forcing_wavenumber", "forcing_orientation"]
    assert (space["nu"].low, space["nu"].high, space["nu"].log) == (1e-5, 1e-3, True)
    assert space["forcing_orientation"].choices == ("diagonal", "antidiagonal", "x", "y")
    assert op.stochastic is False and op.channels == ("vorticity",)
    assert op.time_per_state == 1.0 and op.substeps == 1000
    velocity = NavierStokesOperator(NavierStokesConfig(store_velocity=True))
    assert velocity.channels == ("vorticity", "velocity_x", "velocity_y")
    assert FluidsDomain().grid(32, op) == Grid(shape=(32, 32), extent=((0.0, 1.0), (0.0, 1.0)))


def test_derived_columns():
    op = NavierStokesOperator()
    theta = _theta(3, nu=[1e-3, 1e-5, 1e-3], amplitude=[0.1, 0.1, 0.0], n=[1, 2, 1], orientation=[0, 2, 1])
    derived = op.derived_columns(theta, unit_torus(16))
    assert list(derived) == list(op.derived_names)
    assert np.allclose(derived["forcing_wavenumber_norm"], [math.sqrt(2), 2.0, math.sqrt(2)])
    paper = math.log10(0.1 / (1e-6 * (2 * math.pi * math.sqrt(2)) ** 3))
    assert derived["log10_grashof"][0] == pytest.approx(paper) and paper == pytest.approx(2.154, abs=1e-3)
    assert np.isnan(derived["log10_grashof"][2])  # no forcing: no Grashof number


def test_batch_equals_one_at_a_time_with_different_theta():
    u0 = _ics(3, 16)
    theta = _theta(3, nu=[1e-3, 1e-4, 1e-5], amplitude=[0.1, 0.05, 0.2], n=[1, 2, 1], orientation=[0, 2, 3])
    both = _roll(theta, u0, 3)
    for b in range(3):
        alone = _roll({k: v[b : b + 1] for k, v in theta.items()}, u0[b : b + 1], 3)
        assert torch.allclose(both[b], alone[0], atol=1e-6, rtol=0), b
    assert (both[0, 0, -1] - both[1, 0, -1]).abs().max() > 1e-3  # θ matters


def test_unforced_taylor_green_through_the_operator_and_velocity_channels():
    n, nu, steps = 16, 1e-2, 4
    y, x = unit_torus(n).coordinates(dtype=torch.float64)
    w0 = torch.sin(2 * math.pi * x) * torch.sin(2 * math.pi * y)
    u0 = torch.stack((w0, torch.zeros_like(w0), torch.zeros_like(w0)))[None]
    states = _roll(_theta(1, nu=nu, amplitude=0.0), u0, steps, dtype=torch.float64, store_velocity=True)
    t = steps * FAST["time_per_state"]
    decay = math.exp(-8 * math.pi**2 * nu * t)
    w, u, v = states[0, 0, -1]
    assert torch.allclose(w, w0 * decay, atol=1e-6)
    assert torch.allclose(
        u, torch.sin(2 * math.pi * x) * torch.cos(2 * math.pi * y) / (4 * math.pi) * decay, atol=1e-7
    )
    assert torch.allclose(
        v, -torch.cos(2 * math.pi * x) * torch.sin(2 * math.pi * y) / (4 * math.pi) * decay, atol=1e-7
    )


def test_stored_velocity_is_divergence_free():
    u0 = _ics(2, 16, channels=3)
    states = _roll(_theta(2), u0, 2, store_velocity=True)
    for field in (u0[:, None], states[:, 0, -1:]):
        w, u, v = field[:, 0, 0], field[:, 0, 1], field[:, 0, 2]
        solver = TorusSolver(16, dtype=torch.float32)
        div = solver.to_physical(
            solver.to_advection[2] * solver.to_spectral(u) + solver.to_advection[3] * solver.to_spectral(v)
        )
        assert div.abs().max() < 1e-5 * w.abs().max()


def test_solver_grid_finer_than_the_stored_grid_keeps_its_own_state():
    """Stored at 16² from a 32² solver equals a 32² run subsampled: the stepper continues from
    its fine state rather than from the subsampled one; a state the caller changed restarts."""
    spectrum = torch.fft.rfft2(5 * _ics(2, 32).double())
    k = (
        torch.fft.fftfreq(32, d=1 / 32)
        .abs()
        .view(-1, 1)
        .maximum(torch.fft.rfftfreq(32, d=1 / 32).view(1, -1))
    )
    u_fine = torch.fft.irfft2(spectrum * (k <= 4), s=(32, 32)).float()  # exactly representable at 16²
    theta = _theta(2, nu=1e-4, amplitude=0.2)
    fine = _roll(theta, u_fine, 3)[..., ::2, ::2]
    op = NavierStokesOperator(NavierStokesConfig(solver_grid=32, **FAST))
    stepper = op.build(theta, [0, 1], 0, unit_torus(16), CPU, torch.float32)
    coarse = rollout(stepper, u_fine[..., ::2, ::2], steps=3, realizations=1).states
    scale = fine.abs().max()
    assert (coarse - fine).abs().max() < 1e-5 * scale
    no_state = _roll(theta, u_fine[..., ::2, ::2], 3)  # a 16² solver: the cascade is cut at k = 5
    assert (no_state - fine).abs().max() > 1e-3 * scale
    # A sample whose state the caller changed restarts from it; the others continue at 32².
    first = stepper.step(u_fine[:, None, :, ::2, ::2], 0)
    changed = first.clone()
    changed[1] *= 0.5
    again = stepper.step(changed, 1)
    fresh = op.build(theta, [0, 1], 0, unit_torus(16), CPU, torch.float32).step(changed, 0)
    assert torch.equal(again[1], fresh[1])
    # (FFT batches may round differently by position, hence not bitwise)
    continued = (again[0] - coarse[0, :, 2]).abs().max()
    assert continued < 1e-6 * scale
    assert (again[0] - fresh[0]).abs().max() > 100 * continued


def test_ics_are_per_sample_and_follow_the_paper_recipe():
    a = _ics(4, 32, seed=3)
    b = _ics(2, 32, seed=3, start=2)
    assert torch.equal(a[2:], b)  # batch composition does not matter
    assert not torch.equal(a, _ics(4, 32, seed=4))
    assert a.abs().mean(dim=(1, 2, 3)).min() > 0 and a.mean(dim=(1, 2, 3)).abs().max() < 0.05
    direct = GaussianRandomField(256).sample([generator_for(3, 1, "ic")])[:, ::8, ::8]
    assert torch.equal(a[1, 0], direct[0])  # drawn on 256², every 8th point kept
    coarse = _ics(1, 32, seed=3, start=1, ic_grid=64)
    assert not torch.equal(coarse[0], a[1])  # another drawing grid is another (equally valid) draw


def test_preset_pins_the_papers_dataset_at_every_scale(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()
    for scale in ("small", "production"):
        config = compose(["domain=fluids", "preset=fno_ns_1e-3", f"scale={scale}"])
        op, gen = config.section("operator"), config.section("generate")
        assert (op.nu_range, op.amplitude_range, op.wavenumber_range) == ((1e-3, 1e-3), (0.1, 0.1), (1, 1))
        assert (op.orientations, op.scheme, op.dt, op.solver_grid, op.time_per_state) == (
            ("diagonal",),
            "euler",
            1e-3,
            64,
            1.0,
        )
        assert (gen.n_samples, gen.grid, gen.steps, gen.realizations) == (1200, 64, 50, 1)
        assert config.section("domain").ic_grid == 256
    assert (
        compose(["domain=fluids", "preset=fno_ns_1e-3", "generate.n_samples=8"]).section("generate").n_samples
        == 8
    )
    small = compose(["domain=fluids"]).section("operator")
    assert (small.scheme, small.dt, small.time_per_state) == ("heun", 5e-3, 0.5)
    assert compose(["domain=fluids", "scale=production"]).section("operator").time_per_state == 0.2


@pytest.mark.parametrize(
    "make,match",
    [
        pytest.param(lambda: NavierStokesConfig(nu_range=(1e-3, 1e-5)), "low <= high", id="nu-reversed"),
        pytest.param(lambda: NavierStokesConfig(nu_range=(0.0, 1e-3)), "must be > 0", id="nu-zero"),
        pytest.param(
            lambda: NavierStokesConfig(amplitude_range=(-0.1, 0.1)), ">= 0", id="amplitude-negative"
        ),
        pytest.param(
            lambda: NavierStokesConfig(wavenumber_range=(0, 2)), "must be > 0", id="wavenumber-zero"
        ),
        pytest.param(
            lambda: NavierStokesConfig(orientations=("diagonal", "up")), "choose distinct", id="orientation"
        ),
        pytest.param(lambda: NavierStokesConfig(orientations=()), "choose distinct", id="no-orientation"),
        pytest.param(
            lambda: NavierStokesConfig(dt=0.3, time_per_state=1.0), "whole multiple", id="dt-not-dividing"
        ),
        pytest.param(lambda: NavierStokesConfig(dt=-1e-3), "must be > 0", id="dt-negative"),
        pytest.param(lambda: FluidsConfig(ic_tau=0.0), "must be > 0", id="tau-zero"),
    ],
)
def test_config_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_build_and_sampling_errors():
    op = NavierStokesOperator(NavierStokesConfig(solver_grid=48, **FAST))
    with pytest.raises(ConfigError, match="multiple of the stored grid"):
        op.build(_theta(1), [0], 0, unit_torus(32), CPU, torch.float32)
    other_box = Grid(shape=(16, 16), extent=((-1.0, 1.0), (-1.0, 1.0)))
    with pytest.raises(ConfigError, match="unit torus"):
        NavierStokesOperator().build(_theta(1), [0], 0, other_box, CPU, torch.float32)
    with pytest.raises(ConfigError, match="lacks"):
        NavierStokesOperator().build({"nu": np.array([1e-3])}, [0], 0, unit_torus(16), CPU, torch.float32)
    with pytest.raises(ConfigError, match="ic_grid"):
        _ics(1, 48)
    with pytest.raises(ConfigError, match="1 .vorticity. or 3"):
        _ics(1, 16, channels=2)
    with pytest.raises(ConfigError, match="one IC type"):
        FluidsDomain().initial_conditions(NavierStokesOperator(), {"gaussian_blobs": 1.0})
    assert FluidsDomain().initial_conditions(NavierStokesOperator(), {"grf": 1.0}).names == ("grf",)
    with pytest.raises(ValueError, match="channel"):
        stepper = NavierStokesOperator(NavierStokesConfig(**FAST)).build(
            _theta(1), [0], 0, unit_torus(16), CPU, torch.float32
        )
        stepper.step(torch.zeros(1, 1, 3, 16, 16), 0)
