"""Autoregressive rollouts and truncated backpropagation through time (TBPTT), per window loss.

A thin interface over the core's one loop, :mod:`spinlock_core.mno.loop` (which the ``mno``
stage trains with): every rollout below runs there.

A one-step model is trained on long horizons by rolling it out on its own predictions. Full
backpropagation through 256 steps explodes (the prototype's gradients reached 1e27); TBPTT cuts
the horizon into windows, detaches the state between them and supervises every window, so each
step is trained while gradients only span ``window`` steps. Modes of
:func:`rollout_loss_windows`:

* ``"windowed"``: every window supervised; gradient within each window only (state detached at
  each window boundary). Yields one loss per window: call ``backward()`` on each as it comes, so
  only one window's graph is alive at a time.
* ``"full"``: one graph over the whole horizon; yields a single loss over all steps.
* ``"last"``: the prototype's behaviour, for comparison: no graph until the last window, and
  only the last window supervised; yields a single loss.

Each yielded ``loss`` is ``raw * (steps in the window) / (steps supervised)``, so for a
mean-type ``loss_fn`` the sum of the per-window losses is the mean over the supervised horizon
and the gradient scale matches between modes.

Conventions: ``targets[:, t]`` is the state after step ``t + 1`` (the IC is not a target; slice
stored trajectories ``[B, M, T, C, H, W]`` as ``traj[:, m, 1:]``). With ``history = k`` the model
reads the ``k`` newest states, oldest first; before ``k`` states exist the IC is repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import attrs
import torch

from spinlock_core.api import TBPTT_MODES as MODES
from spinlock_core.api import initial_state, rollout_windows, tbptt_windows

__all__ = ["WindowLoss", "tbptt_windows", "rollout_loss_windows", "rollout", "initial_history"]

LossFn = Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor]
NoiseFn = Callable[[int], torch.Tensor | None]


@attrs.frozen
class WindowLoss:
    """The loss of steps ``[start, stop)`` of a rollout (step ``t`` predicts ``targets[:, t]``)."""

    start: int
    stop: int
    loss: torch.Tensor  # weighted by (stop - start) / supervised steps: backward() this
    raw: torch.Tensor  # loss_fn(pred, target, (start, stop)) as returned, for logging
    pred: torch.Tensor  # [B, stop - start, C, H, W]


def initial_history(u0: torch.Tensor, history: int) -> torch.Tensor:
    """``u0 [B, C, H, W]`` (repeated) or ``[B, history, C, H, W]`` (oldest first) -> ``[B, C*k, H, W]``."""
    return initial_state(u0, history)


def rollout(
    model: Callable,
    u0: torch.Tensor,
    theta: Mapping[str, torch.Tensor] | None,
    steps: int,
    noise_fn: NoiseFn | None = None,
    history: int = 1,
) -> torch.Tensor:
    """Roll ``model`` out for ``steps`` steps -> ``[B, steps, C, H, W]`` (IC not included).

    Runs under the caller's grad mode; wrap in ``torch.no_grad()`` for evaluation.
    """
    (only,) = rollout_windows(model, u0, theta, steps, window=steps, history=history, noise=noise_fn)
    return only.pred


def rollout_loss_windows(
    model: Callable,
    u0: torch.Tensor,
    theta: Mapping[str, torch.Tensor] | None,
    targets: torch.Tensor,
    window: int,
    loss_fn: LossFn,
    mode: str = "windowed",
    noise_fn: NoiseFn | None = None,
    history: int = 1,
) -> Iterator[WindowLoss]:
    """Roll out over ``targets``' horizon and yield window losses for TBPTT.

    Args:
        model: ``model(state [B, C*history, H, W], theta, noise) -> [B, C, H, W]``.
        u0: ``[B, C, H, W]`` or ``[B, history, C, H, W]`` (oldest first).
        theta: decoded θ ``{name: Tensor [B]}``, passed to every step.
        targets: ``[B, T, C, H, W]``, ``targets[:, t]`` = the state after step ``t + 1``.
        window: steps per TBPTT window.
        loss_fn: ``loss_fn(pred [B, w, C, H, W], target [B, w, C, H, W], (start, stop)) -> scalar``;
            the step range lets a loss weight steps by their absolute position.
        mode: ``"windowed"``, ``"full"`` or ``"last"`` (see the module docstring).
        noise_fn: ``noise_fn(t) -> [B, noise_channels, H, W]`` for step ``t`` (keyed per sample by
            the caller for reproducibility), or ``None`` for a deterministic model.
        history: past states the model reads.

    Yields:
        :class:`WindowLoss` per supervised window, in order (``windowed``: every window;
        ``full``: one covering all steps; ``last``: one covering the last window).
    """
    if mode not in MODES:
        raise ValueError(f"TBPTT mode must be one of {list(MODES)}, got {mode!r}")
    if targets.ndim != 5:
        raise ValueError(f"targets must be [B, T, C, H, W], got {list(targets.shape)}")
    channels, steps = targets.shape[2], targets.shape[1]
    width = initial_state(u0, history).shape[1]
    if width != channels * history:
        raise ValueError(f"u0 has {width // history} channels per state, targets {channels}")
    windows = tbptt_windows(steps, window)
    supervised = steps if mode == "windowed" else windows[-1][1] - windows[-1][0]
    if mode == "full":  # one window over the horizon: the core's windowed mode with window = steps
        mode, window, supervised = "windowed", steps, steps
    for item in rollout_windows(
        model, u0, theta, steps, window=window, mode=mode, history=history, noise=noise_fn
    ):
        start, stop = item.start, item.stop
        raw = loss_fn(item.pred, targets[:, start:stop], (start, stop))
        yield WindowLoss(start, stop, raw * ((stop - start) / supervised), raw, item.pred)
        del raw
