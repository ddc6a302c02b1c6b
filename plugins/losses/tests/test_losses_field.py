"""The field losses: ``traj`` (weighted MSE over the horizon) and ``ic`` (first steps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spinlock_core.interfaces import LossContext, LossSetup
from spinlock_losses.specs import ICOptions, TrajOptions
from spinlock_losses.traj import InitialStepLoss, TrajectoryLoss, step_weights

HORIZON = 10


def _setup(horizon: int = HORIZON) -> LossSetup:
    return LossSetup(
        run_dir=None,
        dataset=None,
        domain=None,
        model=None,
        device="cpu",
        horizon=horizon,
        normaliser={"mean": np.zeros(1), "std": np.ones(1)},
    )


def _ctx(start: int, stop: int, supervised: int = HORIZON) -> LossContext:
    return LossContext(
        window=(start, stop),
        horizon=HORIZON,
        supervised_steps=supervised,
        u0=None,
        theta={},
        samples=np.arange(2),
        realizations=np.zeros(2, dtype=np.int64),
    )


@pytest.fixture
def fields():
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(2, HORIZON, 1, 4, 4, generator=gen)
    target = torch.randn(2, HORIZON, 1, 4, 4, generator=gen)
    per_step = (pred - target).square().mean(dim=(0, 2, 3, 4))
    return pred, target, per_step


def test_uniform_weights_are_ones():
    assert torch.equal(step_weights(5, "uniform"), torch.ones(5))


def test_exponential_weights_are_gamma_power_t_with_mean_one():
    # gamma = 0.5 over 3 steps: (1, 1/2, 1/4) / (7/12)
    expected = torch.tensor([12 / 7, 6 / 7, 3 / 7])
    assert torch.allclose(step_weights(3, "exponential", gamma=0.5), expected)
    w = step_weights(HORIZON, "exponential", gamma=0.9)
    assert w.mean().item() == pytest.approx(1.0)
    assert torch.allclose(w[1:] / w[:-1], torch.full((HORIZON - 1,), 0.9))


def test_linear_weights_fall_from_first_to_final_with_mean_one():
    w = step_weights(HORIZON, "linear", final=0.25)
    assert (w[-1] / w[0]).item() == pytest.approx(0.25)
    assert w.mean().item() == pytest.approx(1.0)
    assert torch.allclose(w.diff(), w.diff()[:1].expand(HORIZON - 1))  # evenly spaced
    assert torch.equal(step_weights(1, "linear", final=0.25), torch.ones(1))


def test_unknown_weighting_is_named():
    with pytest.raises(ValueError, match="uniform, exponential or linear, got 'cubic'"):
        step_weights(3, "cubic")


@pytest.mark.parametrize("weighting", ["uniform", "exponential", "linear"])
def test_windows_sum_to_the_weighted_mean_over_the_horizon(fields, weighting):
    pred, target, per_step = fields
    options = TrajOptions(weighting=weighting, gamma=0.8, final=0.2)
    loss = TrajectoryLoss(options, setup=_setup())
    total = sum(loss(pred[:, a:b], target[:, a:b], _ctx(a, b))[0] for a, b in [(0, 4), (4, 8), (8, 10)])
    weights = step_weights(HORIZON, weighting, gamma=0.8, final=0.2)
    assert torch.allclose(total, (weights * per_step).mean())


def test_last_window_alone_is_its_weighted_mean(fields):
    pred, target, per_step = fields
    loss = TrajectoryLoss(TrajOptions(weighting="exponential", gamma=0.8), setup=_setup())
    value, logs = loss(pred[:, 6:], target[:, 6:], _ctx(6, 10, supervised=4))
    weights = step_weights(HORIZON, "exponential", gamma=0.8)
    assert torch.allclose(value, (weights[6:] * per_step[6:]).mean())
    assert logs["mse"] == pytest.approx(per_step[6:].mean().item())


def test_traj_is_zero_at_the_truth_with_a_gradient_elsewhere(fields):
    pred, target, _ = fields
    loss = TrajectoryLoss(TrajOptions(), setup=_setup())
    assert loss(target, target, _ctx(0, HORIZON))[0].item() == 0.0
    pred = pred.clone().requires_grad_()
    loss(pred, target, _ctx(0, HORIZON))[0].backward()
    assert torch.allclose(pred.grad, 2 * (pred - target).detach() / pred.numel())  # d mean(d^2)


def test_ic_covers_its_first_steps_only_and_sums_to_their_mean(fields):
    pred, target, per_step = fields
    loss = InitialStepLoss(ICOptions(steps=3), setup=_setup())
    windows = [(0, 2), (2, 4), (4, 6)]
    values = [loss(pred[:, a:b].requires_grad_(), target[:, a:b], _ctx(a, b))[0] for a, b in windows]
    assert torch.allclose(values[0] + values[1], per_step[:3].mean())
    assert values[2].item() == 0.0 and values[2].requires_grad  # beyond its steps: an exact zero
    values[2].backward()


def test_ic_default_is_the_first_step(fields):
    pred, target, per_step = fields
    loss = InitialStepLoss(ICOptions(), setup=_setup())
    value, logs = loss(pred[:, :4], target[:, :4], _ctx(0, 4))
    assert torch.allclose(value, per_step[0])
    assert logs["mse"] == pytest.approx(per_step[0].item())
