"""Per-step errors of a rollout against the truth, and of the trivial baselines beside it.

One definition for the mno stage's evaluation and for ``validate``: a model is judged against
persistence (``u0`` held), predicting zero and predicting each channel's spatial mean of ``u0``,
so a number always comes with what a model that learned nothing would score.
Tensors are ``[B, T, C, H, W]`` (``u0``: ``[B, 1, C, H, W]``); every error is ``[B, T]``.
"""

from __future__ import annotations

__all__ = ["rel_l2", "vrmse", "mean_field", "rollout_errors"]


def rel_l2(pred, true):
    """``||pred - true|| / ||true||`` per sample and step, over channels and space."""
    return (pred - true).flatten(2).norm(dim=2) / true.flatten(2).norm(dim=2).clamp_min(1e-12)


def vrmse(pred, true):
    """Per-channel VRMSE (RMSE over the truth's spatial standard deviation), averaged over channels."""
    var = true.var(dim=(-2, -1), unbiased=False)
    mse = (pred - true).square().mean(dim=(-2, -1))
    return (mse / (var + 1e-7)).sqrt().mean(dim=2)


def mean_field(u0):
    """The mean baseline: each channel's spatial mean of ``u0``, held (same shape as ``u0``)."""
    return u0.mean(dim=(-2, -1), keepdim=True).expand_as(u0)


def rollout_errors(pred, true, u0) -> dict:
    """``{rel_l2, vrmse}`` of the model and ``{persistence, zero, mean_field}_{rel_l2, vrmse}``."""
    held, flat = u0.expand_as(true), mean_field(u0).expand_as(true)
    zero = true.new_zeros(()).expand_as(true)
    out = {"rel_l2": rel_l2(pred, true), "vrmse": vrmse(pred, true)}
    for name, baseline in (("persistence", held), ("zero", zero), ("mean_field", flat)):
        out[f"{name}_rel_l2"] = rel_l2(baseline, true)
        out[f"{name}_vrmse"] = vrmse(baseline, true)
    return out
