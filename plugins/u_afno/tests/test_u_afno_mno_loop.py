"""The one rollout/TBPTT loop (spinlock_core.mno.loop) with a u_afno backbone: noise inputs in
training and evaluation, checkpoints named and pruned by optimizer step."""

from __future__ import annotations

import pytest
import torch

from spinlock_core import registry
from spinlock_core.checkpoint import read_metadata
from spinlock_core.config import compose
from spinlock_core.mno.loop import noise_source, rollout, rollout_windows, train_step
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.runner import Runner
from spinlock_u_afno import UAFNOConfig, build_u_afno

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
    "mno.keep=2",
]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()


def _model(space, noise_channels=0):
    torch.manual_seed(0)
    cfg = UAFNOConfig(
        width=8,
        levels=1,
        blocks_per_level=1,
        afno_blocks=1,
        num_afno_blocks=2,
        cond_dim=16,
        theta_hidden=16,
        noise_channels=noise_channels,
    )
    return build_u_afno(cfg, space)


def test_noise_is_per_row_seeded_and_leaves_the_global_rng_alone(space, theta):
    model, like = _model(space, noise_channels=2), torch.zeros(3, 1, 8, 8)
    assert noise_source(_model(space), like, 0, [0, 1, 2], "s") is None
    before = torch.get_rng_state()
    three = noise_source(model, like, 0, [5, 6, 7], "s")
    assert torch.equal(torch.get_rng_state(), before)
    one = noise_source(model, like[1:2], 0, [6], "s")
    first, again = three(0), one(0)
    assert first.shape == (3, 2, 8, 8)
    assert torch.equal(first[1:2], again)  # a row's noise does not depend on its batch
    assert not torch.equal(three(1), first)  # fresh noise each step


def test_a_backbone_with_noise_channels_trains_and_rolls_out(space, theta):
    model = _model(space, noise_channels=1)
    u0, targets = torch.randn(3, 1, 8, 8), torch.randn(3, 5, 1, 8, 8)

    def mse(pred, target, ctx):
        return (pred - target).square().mean(), {}

    noise = noise_source(model, u0, 0, [0, 1, 2], "train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    result = train_step(
        model, u0, targets, theta, {"mse": (1.0, mse)}, window=2, optimizer=optimizer,
        params=list(model.parameters()), grad_clip=1.0, noise=noise,
    )  # fmt: skip
    assert result.finite and result.loss > 0
    a = rollout(model, u0, theta, 4, noise=noise_source(model, u0, 0, [0, 1, 2], "eval"))
    b = rollout(model, u0, theta, 4, noise=noise_source(model, u0, 0, [0, 1, 2], "eval"))
    assert torch.equal(a, b)


def test_windows_and_rollout_agree(space, theta):
    model, u0 = _model(space), torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        windowed = torch.cat([w.pred for w in rollout_windows(model, u0, theta, 7, window=3)], dim=1)
        (last,) = rollout_windows(model, u0, theta, 7, window=3, mode="last")
    whole = rollout(model, u0, theta, 7)
    assert torch.equal(windowed, whole) and torch.equal(last.pred, whole[:, 6:])


def test_the_stage_trains_a_noise_backbone_and_names_checkpoints_by_step(tmp_path):
    config = compose([*SMALL, "backbone.overrides={noise_channels: 1}", f"run.dir={tmp_path}"])
    Runner(config).run()
    folder = tmp_path / "mno" / "checkpoints"
    names = sorted(p.name for p in folder.glob("*.pt"))
    assert len(names) == 2 and all(n.startswith("step_") for n in names)  # mno.keep, by step
    steps = [int(read_metadata(folder / n)["step"]) for n in names]
    assert [f"step_{s:08d}.pt" for s in steps] == names
    assert max(steps) == read_metadata(tmp_path / "mno" / "model.pt")["step"]
