"""The fluids domain through the installed entry points and the real stages: plugins list,
generate, exact replay, the shipped feature families, stored velocity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.replay import compare_replay
from spinlock_core.runner import Runner
from spinlock_core.stages.features import read_table
from spinlock_core.storage import STATUS, Dataset

TINY = [
    "domain=fluids",
    "device=cpu",
    "generate.grid=16",
    "generate.steps=3",
    "generate.n_samples=8",
    "generate.batch_size=3",
    "operator.dt=0.01",
    "operator.time_per_state=0.05",
    "domain.ic_grid=64",
]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _run(run_dir, *extra):
    Runner(compose([*TINY, f"run.dir={run_dir}", *extra])).run()
    return run_dir


def test_entry_points_register_the_domain_and_operator():
    from typer.testing import CliRunner

    from spinlock_core.cli import build_app

    assert "fluids" in registry.available("domains")
    assert "navier_stokes" in registry.available("operators")
    spec = registry.load("domains", "fluids")
    assert spec.extras["operators"] == ("navier_stokes",)
    result = CliRunner().invoke(build_app(), ["plugins", "list"])
    assert result.exit_code == 0, result.output
    assert "spinlock-domain-fluids" in result.output and "navier_stokes" in result.output


def test_generate_then_replay_is_bitwise(tmp_path):
    run = _run(tmp_path / "r", "stage=generate", "generate.inline_features=false")
    with Dataset(run / "dataset") as ds:
        assert (ds.read("samples/status") == STATUS["ok"]).all()
        traj = ds.read("trajectories")
        assert traj.shape == (8, 1, 4, 1, 16, 16)
        assert ds.attrs["time_per_state"] == pytest.approx(0.05)
        assert {"theta/derived/forcing_wavenumber_norm", "theta/derived/log10_grashof"} <= set(
            ds.array_names()
        )
    assert np.abs(traj[:, 0, -1] - traj[:, 0, 0]).max() > 1e-3  # it evolved
    for index in (0, 7):
        assert compare_replay(run / "dataset", index)["identical"]


def test_shipped_feature_families_run_unchanged(tmp_path):
    run = _run(tmp_path / "r", "stage=features")
    path = run / "features" / "features.h5"
    arch, columns = read_table(path, "architecture")
    names = [c["name"] for c in columns]
    assert names[-2:] == ["derived__forcing_wavenumber_norm", "derived__log10_grashof"]
    assert np.isfinite(arch).all()
    for family in ("initial", "summary", "temporal"):
        table, _ = read_table(path, family)
        assert table.shape[0] == 8 and np.isfinite(table).any(axis=0).sum() > 5, family


def test_velocity_channels_through_generate(tmp_path):
    run = _run(
        tmp_path / "r", "stage=generate", "generate.inline_features=false", "operator.store_velocity=true"
    )
    with Dataset(run / "dataset") as ds:
        traj = ds.read("trajectories")
        assert traj.shape[3] == 3
        assert ds.attrs["channels"] == '["vorticity", "velocity_x", "velocity_y"]'
    # The stored velocity is the velocity of the stored vorticity: its discrete curl returns it.
    w, u, v = (torch.as_tensor(traj[:, 0, -1, c], dtype=torch.float64) for c in range(3))
    k = 2 * np.pi * torch.fft.fftfreq(16, d=1 / 16, dtype=torch.float64)
    kx, ky = k.view(1, -1), k.view(-1, 1)
    curl = torch.fft.ifft2(1j * kx * torch.fft.fft2(v) - 1j * ky * torch.fft.fft2(u)).real
    resolved = (k.abs().view(-1, 1) < 16 * np.pi) & (k.abs().view(1, -1) < 16 * np.pi) & (kx**2 + ky**2 > 0)
    w_resolved = torch.fft.ifft2(torch.fft.fft2(w) * resolved).real  # no mean, no Nyquist modes
    assert (curl - w_resolved).abs().max() < 1e-5 * w.abs().max()
