"""The generic rollout loop: steps a batch of operators, records states, detects divergence.

Divergence (a non-finite value, or ``|u|`` above a bound) is tracked on the device with
``torch.where``, never with a host sync per step; a diverged sample is frozen at zero so it
costs nothing more and cannot overflow, and its recorded states from the divergence on are
NaN. The batch always finishes.
"""

from __future__ import annotations

import attrs

from .interfaces import Stepper

__all__ = ["RolloutResult", "rollout", "DIVERGED_NONFINITE", "DIVERGED_BOUND"]

DIVERGED_NONFINITE = 1
DIVERGED_BOUND = 2


@attrs.frozen
class RolloutResult:
    """``states [B, M, T, C, H, W]`` (T = steps // stride + 1, the IC first); per sample
    ``diverged_step [B]`` (the first step whose state was bad, -1 if none) and
    ``diverged_reason [B]`` (0 none, 1 non-finite, 2 bound exceeded)."""

    states: object
    diverged_step: object
    diverged_reason: object


def rollout(
    stepper: Stepper,
    u0,
    *,
    steps: int,
    realizations: int,
    stride: int = 1,
    bound: float = 1e6,
) -> RolloutResult:
    """Roll ``u0 [B, C, H, W]`` out for ``steps`` steps with ``realizations`` copies per sample."""
    import torch

    b = u0.shape[0]
    u = u0.unsqueeze(1).expand(b, realizations, *u0.shape[1:]).contiguous()
    step_of = torch.full((b,), -1, dtype=torch.int64, device=u.device)
    reason = torch.zeros(b, dtype=torch.int64, device=u.device)
    records = [u]
    for t in range(steps):
        u = stepper.step(u, t)
        flat = u.reshape(b, -1)
        nonfinite = ~torch.isfinite(flat).all(dim=1)
        too_big = flat.abs().nan_to_num(0.0, posinf=0.0).amax(dim=1) > bound
        newly = (nonfinite | too_big) & (step_of < 0)
        step_of = torch.where(newly, t + 1, step_of)
        reason = torch.where(newly, torch.where(nonfinite, DIVERGED_NONFINITE, DIVERGED_BOUND), reason)
        dead = (step_of >= 0).view(b, *([1] * (u.ndim - 1)))
        u = torch.where(dead, torch.zeros((), dtype=u.dtype, device=u.device), u)
        if (t + 1) % stride == 0:
            records.append(u)
    states = torch.stack(records, dim=2)  # [B, M, T, C, H, W]
    times = torch.arange(len(records), device=u.device) * stride
    after = (step_of.view(b, 1) >= 0) & (times.view(1, -1) >= step_of.view(b, 1))
    states = torch.where(
        after.view(b, 1, -1, 1, 1, 1), torch.full((), float("nan"), dtype=u.dtype, device=u.device), states
    )
    return RolloutResult(states=states, diverged_step=step_of, diverged_reason=reason)
