"""The MNO's learning-rate schedule (torch's schedulers) against the ``LambdaLR`` it replaced."""

from __future__ import annotations

import io
import math

import pytest
import torch

from spinlock_core.mno.train import _load_scheduler, _scheduler

LR = 2e-3


def _old_factor(warmup: int, total: int):
    """The hand-written ``LambdaLR`` multiplier the stage used before (known answers)."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress_ = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress_)))

    return factor


def _optimizer():
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3))], lr=LR)


def _rates(scheduler, optimizer, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def _round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)  # as checkpoints load


@pytest.mark.parametrize(
    ("warmup", "total"), [(0, 12), (1, 12), (3, 12), (10, 200), (12, 12), (20, 12), (7, 8)]
)
def test_rate_at_every_step_is_the_former_schedule(warmup, total):
    optimizer = _optimizer()
    got = _rates(_scheduler(optimizer, warmup, total), optimizer, total)
    factor = _old_factor(warmup, total)
    assert got == pytest.approx([LR * factor(s) for s in range(total)], rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("stop", [2, 5, 9])  # in the warm-up, at its end, in the decay
def test_resume_from_a_saved_scheduler_continues_the_schedule(stop):
    warmup, total = 5, 16
    optimizer = _optimizer()
    want = _rates(_scheduler(optimizer, warmup, total), optimizer, total)
    first = _optimizer()
    scheduler = _scheduler(first, warmup, total)
    _rates(scheduler, first, stop)
    saved = _round_trip({"optimizer": first.state_dict(), "scheduler": scheduler.state_dict()})
    resumed = _optimizer()
    again = _scheduler(resumed, warmup, total)
    resumed.load_state_dict(saved["optimizer"])
    _load_scheduler(again, saved["scheduler"])
    assert _rates(again, resumed, total - stop) == pytest.approx(want[stop:], rel=1e-12)


@pytest.mark.parametrize("warmup", [0, 4])
def test_resume_from_a_former_lambdalr_checkpoint_replays_the_schedule(warmup):
    total, stop = 16, 7
    old = _optimizer()
    lambda_lr = torch.optim.lr_scheduler.LambdaLR(old, _old_factor(warmup, total))
    _rates(lambda_lr, old, stop)
    saved = _round_trip({"optimizer": old.state_dict(), "scheduler": lambda_lr.state_dict()})
    resumed = _optimizer()
    scheduler = _scheduler(resumed, warmup, total)
    resumed.load_state_dict(saved["optimizer"])
    _load_scheduler(scheduler, saved["scheduler"])
    factor = _old_factor(warmup, total)
    want = [LR * factor(s) for s in range(stop, total)]
    assert _rates(scheduler, resumed, total - stop) == pytest.approx(want, rel=1e-9, abs=1e-15)
