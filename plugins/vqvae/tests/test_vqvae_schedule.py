"""The tokenizer's learning-rate schedule (torch's schedulers) against the formula it replaced."""

from __future__ import annotations

import math

import pytest
import torch

from spinlock_vqvae.config import CategoricalVQVAEConfig
from spinlock_vqvae.train import Trainer, warmup_cosine


def _old_lr_factor(step: int, steps_per_epoch: int, config) -> float:
    """The hand-written multiplier of ``config.lr`` the trainer used before (known answers)."""
    warm = config.warmup_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def _rates(scheduler, optimizer, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize(
    ("warmup_epochs", "epochs", "steps_per_epoch", "min_lr_ratio"),
    [(0, 6, 5, 0.0), (1, 6, 5, 0.01), (2, 6, 1, 0.1), (5, 30, 7, 0.05), (6, 6, 3, 0.0), (8, 6, 2, 0.2)],
)
def test_rate_at_every_step_is_the_former_schedule(warmup_epochs, epochs, steps_per_epoch, min_lr_ratio):
    cfg = CategoricalVQVAEConfig(
        epochs=epochs, warmup_epochs=warmup_epochs, min_lr_ratio=min_lr_ratio, lr=3e-3, device="cpu"
    )
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=cfg.lr)
    total = epochs * steps_per_epoch
    scheduler = warmup_cosine(optimizer, warmup_epochs * steps_per_epoch, total, min_lr_ratio)
    want = [cfg.lr * _old_lr_factor(s, steps_per_epoch, cfg) for s in range(total)]
    assert _rates(scheduler, optimizer, total) == pytest.approx(want, rel=1e-9, abs=1e-15)


def _trainer(cfg, seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 3)
    return Trainer(model, torch.zeros(20, 3), torch.zeros(4, 3), cfg, torch.device("cpu"))


@pytest.mark.parametrize("legacy", [False, True], ids=["scheduler-state", "checkpoint-without-scheduler"])
def test_resume_restores_the_schedule(legacy):
    cfg = CategoricalVQVAEConfig(
        epochs=5, warmup_epochs=2, batch_size=4, min_lr_ratio=0.1, lr=1e-2, device="cpu"
    )
    full = _trainer(cfg)
    steps = 5 * full.steps_per_epoch
    want = _rates(full.scheduler, full.optimizer, steps)
    assert want == pytest.approx(
        [cfg.lr * _old_lr_factor(s, full.steps_per_epoch, cfg) for s in range(steps)]
    )

    first = _trainer(cfg)
    stop = 7  # mid-warmup epochs and mid-epoch: the scheduler must carry the position
    _rates(first.scheduler, first.optimizer, stop)
    first.step = stop
    state = first.state_dict()
    if legacy:  # a checkpoint written before the scheduler's state was kept
        del state["scheduler"]
    state = torch.load(_save(state), weights_only=True)
    resumed = _trainer(cfg, seed=1)
    resumed.load_state_dict(state)
    assert _rates(resumed.scheduler, resumed.optimizer, steps - stop) == pytest.approx(want[stop:], rel=1e-12)


def _save(state):
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer
