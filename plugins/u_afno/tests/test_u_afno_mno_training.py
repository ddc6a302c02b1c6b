"""The ``mno`` stage's data sources, loss plumbing, NaN handling, evaluation and data parallelism."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from spinlock_core import registry
from spinlock_core.checkpoint import load_checkpoint
from spinlock_core.config import compose
from spinlock_core.errors import ConfigError, DatasetError
from spinlock_core.mno import train as mno_stage
from spinlock_core.mno.data import OnlineTargets, StoredTargets
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.runner import Runner, StageContext
from spinlock_core.storage import Dataset

SMALL = [
    "domain=reaction_diffusion",
    "device=cpu",
    "stage=mno",
    "generate.n_samples=8",
    "generate.grid=16",
    "generate.steps=6",
    "features=[]",
    "mno.epochs=2",
    "mno.batch_size=4",
    "mno.tbptt.window=3",
]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()


def _generate(run_dir, *extra):
    Runner(compose([*SMALL, *extra, f"run.dir={run_dir}", "stage=generate"])).run()


def _context(run_dir, *extra):
    config = compose([*SMALL, *extra, f"run.dir={run_dir}"])
    fingerprint = Runner(config).fingerprint("mno")
    return StageContext(config=config, run_dir=run_dir, stage="mno", fingerprint=fingerprint)


def test_online_targets_equal_the_stored_trajectories(tmp_path):
    _generate(tmp_path)
    with Dataset(tmp_path / "dataset") as ds:
        stored, online = StoredTargets(ds, "cpu"), OnlineTargets(ds, "cpu")
        assert (online.horizon, online.realizations, online.channels) == (
            stored.horizon,
            stored.realizations,
            stored.channels,
        )
        pairs = np.array([[1, 0], [5, 1], [6, 0]])
        stored.fit_normaliser(pairs)
        online.set_normaliser(stored.mean, stored.std)
        for a, b in zip(stored.batch(pairs, 6), online.batch(pairs, 6), strict=True):
            if isinstance(a, dict):
                assert all(torch.equal(a[k], b[k]) for k in a)
            else:
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_stored_mode_without_trajectories_names_the_fix(tmp_path):
    _generate(tmp_path, "generate.store_trajectories=false")
    with Dataset(tmp_path / "dataset") as ds, pytest.raises(DatasetError, match="mno.data=online"):
        StoredTargets(ds, "cpu")


def test_online_training_runs_without_stored_trajectories(tmp_path):
    _generate(tmp_path, "generate.store_trajectories=false")
    metrics = mno_stage.train(
        _context(tmp_path, "generate.store_trajectories=false", "mno.data=online", "mno.epochs=1")
    )
    assert np.isfinite(metrics["val_rel_l2"])


def test_evaluation_and_figures_are_written(tmp_path):
    Runner(compose([*SMALL, f"run.dir={tmp_path}", "mno.eval_figures=2"])).run()
    out = tmp_path / "mno"
    evaluation = json.loads((out / "evaluation.json").read_text())
    summary, per_step = evaluation["summary"], evaluation["per_step"]
    assert len(per_step["rel_l2"]) == evaluation["horizon"] == 6
    # predicting zero has a relative L2 of exactly 1; persistence is exact before the first step
    level, sentence = summary.pop("verdict")  # the model against its trivial baselines, in words
    assert level in ("good", "mixed", "poor", "unknown") and "MNO" in sentence
    assert all(np.isfinite(v) for v in summary.values())
    assert summary["zero_vrmse"] > 0 and summary["persistence_rel_l2"] > 0
    assert "truth_spread" in summary  # the CNO family is stochastic: the error floor is reported
    names = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert "training_curves.png" in names and "error_vs_horizon.png" in names
    assert sum(n.startswith("rollout_") for n in names) == 2


def test_weighted_losses_change_training_and_are_logged(tmp_path):
    _generate(tmp_path)
    plain = mno_stage.train(_context(tmp_path, "mno.epochs=1"))
    (tmp_path / "mno").rename(tmp_path / "mno-plain")
    both = mno_stage.train(_context(tmp_path, "mno.epochs=1", "mno.loss.ic=2", "loss.ic.steps=2"))
    assert "loss_ic" in both and "loss_ic" not in plain
    assert both["train_loss"] != plain["train_loss"]


def test_unknown_loss_and_stray_loss_options_are_errors(tmp_path):
    with pytest.raises(registry.UnknownPluginError, match="Installed losses: .*traj"):
        compose([*SMALL, "mno.loss.trajectory=1"])
    with pytest.raises(ConfigError, match=r"loss 'commit', which is not in mno.loss.*mno.loss.commit=WEIGHT"):
        compose([*SMALL, "loss.commit.hidden=3"])
    with pytest.raises(ConfigError, match="weighting"):
        compose([*SMALL, "loss.traj.weighting=cubic"])


class _NaNLoss(torch.nn.Module):
    def forward(self, pred, target, ctx):
        return pred.sum() * float("nan"), {}


def test_nonfinite_steps_are_skipped_then_the_run_aborts(tmp_path, monkeypatch):
    _generate(tmp_path)
    monkeypatch.setattr(mno_stage, "build_losses", lambda *a: {"nan": (1.0, _NaNLoss())})
    context = _context(tmp_path, "mno.save_every=1")
    with pytest.raises(mno_stage.NonFiniteError, match="2 of 2 optimizer steps"):
        mno_stage.train(context)
    first, second = sorted((tmp_path / "mno" / "checkpoints").glob("step_*.pt"))
    a, b = load_checkpoint(first)[0], load_checkpoint(second)[0]
    assert b["skipped"] == 2
    for key in a["model"]:  # skipped steps never touch the weights
        assert torch.equal(a["model"][key], b["model"][key]), key


@pytest.mark.skipif(sys.platform == "win32", reason="torchrun with gloo")
def test_two_ranks_match_one_rank_with_the_global_batch(tmp_path):
    """Data parallel: 2 ranks x batch 2 train the same weights as 1 rank x batch 4 (up to fp sums)."""
    common = [*SMALL, "mno.epochs=1", "mno.batch_size=2", "mno.tbptt.window=6"]
    _generate(tmp_path / "two", *common[3:])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [f"{a}" for a in common] + [f"run.dir={tmp_path / 'two'}"]
    with socket.socket() as free:  # a port no earlier torchrun (or other test) still holds
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", f"--master-port={port}"]
    done = subprocess.run(
        [*launch, "-m", "spinlock_core", "run", *args], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, f"torchrun failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    _generate(tmp_path / "one", *common[3:])
    mno_stage.train(_context(tmp_path / "one", "mno.epochs=1", "mno.batch_size=4", "mno.tbptt.window=6"))
    two = load_checkpoint(tmp_path / "two" / "mno" / "model.pt")[0]
    one = load_checkpoint(tmp_path / "one" / "mno" / "model.pt")[0]
    assert two["step"] == one["step"] == 4
    for key in one["model"]:
        torch.testing.assert_close(two["model"][key], one["model"][key], rtol=1e-4, atol=1e-5)
