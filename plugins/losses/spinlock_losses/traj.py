"""Field losses: ``traj`` over the whole horizon and ``ic`` on the first steps."""

from __future__ import annotations

import torch
from torch import nn

from spinlock_core.api import Loss, LossContext, LossSetup

__all__ = ["TrajectoryLoss", "InitialStepLoss", "step_weights"]


def step_weights(horizon: int, weighting: str, gamma: float = 0.99, final: float = 0.1) -> torch.Tensor:
    """Weights ``[horizon]`` of the predicted steps, normalised to mean 1.

    Normalising keeps the loss's scale (and so its ``mno.loss.traj`` weight and the learning
    rate) comparable across weightings.
    """
    t = torch.arange(horizon, dtype=torch.float64)
    if weighting == "uniform":
        w = torch.ones(horizon, dtype=torch.float64)
    elif weighting == "exponential":
        w = gamma**t
    elif weighting == "linear":
        w = 1 - (1 - final) * t / max(1, horizon - 1)
    else:
        raise ValueError(f"loss.traj.weighting must be uniform, exponential or linear, got {weighting!r}")
    return (w / w.mean()).float()


def _per_step_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``[w]`` mean squared error of each step of ``[B, w, C, H, W]``, in fp32."""
    return (pred.float() - target.float()).square().mean(dim=(0, 2, 3, 4))


class TrajectoryLoss(nn.Module, Loss):
    """Weighted MSE over the window's steps, scaled so the windows of a rollout sum to the
    weighted mean over every supervised step."""

    name = "traj"

    def __init__(self, options, *, setup: LossSetup):
        super().__init__()
        self.options = options
        self.register_buffer(
            "weights",
            step_weights(setup.horizon, options.weighting, options.gamma, options.final),
            persistent=False,
        )

    def forward(self, pred, target, ctx: LossContext):
        start, stop = ctx.window
        mse = _per_step_mse(pred, target)
        weights = self.weights[start:stop].to(mse.device)
        loss = (weights * mse).sum() / ctx.supervised_steps
        return loss, {"mse": float(mse.detach().mean())}


class InitialStepLoss(nn.Module, Loss):
    """MSE of the first ``steps`` predictions: the model must first reproduce what u0 becomes.

    A window adds the MSE of the first steps it holds divided by ``steps``, so when the steps
    span several windows their losses sum to the mean over the first ``steps`` steps. Windows
    that hold none of them contribute an exact zero (with a graph, so the window's backward
    stays uniform).
    """

    name = "ic"

    def __init__(self, options, *, setup: LossSetup):
        super().__init__()
        self.steps = options.steps

    def forward(self, pred, target, ctx: LossContext):
        start, stop = ctx.window
        last = min(stop, self.steps)
        if last <= start:
            return pred.sum() * 0.0, {}
        per_step = _per_step_mse(pred[:, : last - start], target[:, : last - start])
        loss = per_step.sum() / min(self.steps, ctx.horizon)
        return loss, {"mse": float(per_step.detach().mean())}
