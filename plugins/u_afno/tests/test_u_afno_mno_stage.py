"""The core ``mno`` stage with the ``u_afno`` backbone: exact resume and TBPTT windowing."""

from __future__ import annotations

import types

import attrs
import pytest
import torch

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.mno.train import tbptt_step, train
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.runner import Runner, StageContext
from spinlock_core.stages.config import MNOConfig, TBPTTConfig
from spinlock_losses.specs import TrajOptions
from spinlock_losses.traj import TrajectoryLoss

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
    "mno.save_every=1",
]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()


def _context(run_dir):
    config = compose([*SMALL, f"run.dir={run_dir}"])
    runner = Runner(config)
    config_only = compose([*SMALL, f"run.dir={run_dir}", "stage=generate"])
    Runner(config_only).run()
    return StageContext(config=config, run_dir=run_dir, stage="mno", fingerprint=runner.fingerprint("mno"))


def _weights(run_dir):
    from spinlock_core.checkpoint import load_checkpoint

    return load_checkpoint(run_dir / "mno" / "model.pt")[0]


def test_interrupted_training_resumes_bitwise(tmp_path):
    train(_context(tmp_path / "a"))
    context = _context(tmp_path / "b")
    train(context, stop_after_steps=3)  # an interruption after 3 optimizer steps
    assert not (tmp_path / "b" / "mno" / "model.pt").exists()
    train(context)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a["step"] == b["step"] and a["history"] == b["history"]
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key


def test_stage_runs_through_the_runner_and_writes_metrics(tmp_path):
    Runner(compose([*SMALL, f"run.dir={tmp_path}"])).run()
    metrics = (tmp_path / "mno" / "metrics.json").read_text()
    assert "val_rel_l2" in metrics and "persistence_rel_l2" in metrics
    assert (tmp_path / "mno" / "best_model.pt").is_file()
    assert len(list((tmp_path / "mno" / "checkpoints").glob("step_*.pt"))) == 3  # mno.keep


class _Linear(torch.nn.Module):
    """A one-parameter model u' = a * u, so gradients can be reasoned about."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.9))

    def forward(self, state, theta, noise):
        return self.a * state


def _grads(mode, steps=6, window=3):
    model, u0 = _Linear(), torch.ones(1, 1, 2, 2, requires_grad=True)
    targets = torch.zeros(1, steps, 1, 2, 2)
    cfg = attrs.evolve(MNOConfig(), tbptt=TBPTTConfig(window=window, mode=mode))
    traj = TrajectoryLoss(TrajOptions(), setup=types.SimpleNamespace(horizon=steps))
    tbptt_step(model, u0, targets, None, cfg, {"traj": (1.0, traj)})
    return model.a.grad.clone(), torch.zeros_like(u0) if u0.grad is None else u0.grad.clone()


def _manual(windows, steps=6, detach=True):
    """Gradients of the given windows' losses, each weighted by its share of the horizon."""
    model, u0 = _Linear(), torch.ones(1, 1, 2, 2, requires_grad=True)
    state, total = u0, 0.0
    for start, stop in [(0, 3), (3, 6)]:
        preds = []
        for _ in range(start, stop):
            state = model.a * state
            preds.append(state)
        if (start, stop) in windows:
            total = total + torch.stack(preds).square().mean() * (stop - start) / steps
        if detach:
            state = state.detach()
    total.backward()
    return model.a.grad, u0.grad


def test_windowed_gradient_reaches_every_window_and_none_crosses_a_boundary():
    a_grad, u0_grad = _grads("windowed")
    both_a, _ = _manual({(0, 3), (3, 6)})
    _, first_u0 = _manual({(0, 3)})
    assert torch.allclose(a_grad, both_a)  # both windows contribute to the parameters
    assert torch.allclose(u0_grad, first_u0)  # only the first window reaches the IC
    full_a, full_u0 = _grads("full")
    assert not torch.allclose(full_u0, u0_grad)  # a full graph crosses the boundary


def test_last_mode_supervises_only_the_last_window():
    a_grad, u0_grad = _grads("last")
    assert torch.count_nonzero(u0_grad) == 0
    model, state = _Linear(), torch.ones(1, 1, 2, 2)
    with torch.no_grad():
        for _ in range(3):
            state = model.a * state
    preds = []
    for _ in range(3):
        state = model.a * state
        preds.append(state)
    torch.stack(preds).square().mean().backward()
    assert torch.allclose(a_grad, model.a.grad)
