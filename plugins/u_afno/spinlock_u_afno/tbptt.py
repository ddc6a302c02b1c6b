"""Autoregressive rollouts and truncated backpropagation through time (TBPTT).

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

__all__ = ["WindowLoss", "tbptt_windows", "rollout_loss_windows", "rollout", "initial_history"]

LossFn = Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor]
NoiseFn = Callable[[int], torch.Tensor | None]
MODES = ("windowed", "full", "last")


@attrs.frozen
class WindowLoss:
    """The loss of steps ``[start, stop)`` of a rollout (step ``t`` predicts ``targets[:, t]``)."""

    start: int
    stop: int
    loss: torch.Tensor  # weighted by (stop - start) / supervised steps: backward() this
    raw: torch.Tensor  # loss_fn(pred, target, (start, stop)) as returned, for logging
    pred: torch.Tensor  # [B, stop - start, C, H, W]


def tbptt_windows(steps: int, window: int) -> list[tuple[int, int]]:
    """Split ``steps`` steps into consecutive ``(start, stop)`` windows of ``window`` (last may be short).

    >>> tbptt_windows(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    if steps < 1 or window < 1:
        raise ValueError(f"steps and window must be >= 1, got steps={steps}, window={window}")
    return [(s, min(s + window, steps)) for s in range(0, steps, window)]


def initial_history(u0: torch.Tensor, history: int) -> torch.Tensor:
    """``u0 [B, C, H, W]`` (repeated) or ``[B, history, C, H, W]`` (oldest first) -> ``[B, C*k, H, W]``."""
    if u0.ndim == 4:
        return u0.repeat(1, history, 1, 1)
    if u0.ndim == 5 and u0.shape[1] == history:
        return u0.flatten(1, 2)
    raise ValueError(f"u0 must be [B, C, H, W] or [B, history={history}, C, H, W], got {list(u0.shape)}")


def _step(model, buf, theta, noise_fn, t, channels):
    nxt = model(buf, theta, None if noise_fn is None else noise_fn(t))
    buf = nxt if buf.shape[1] == channels else torch.cat([buf[:, channels:], nxt], dim=1)
    return nxt, buf


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
    buf = initial_history(u0, history)
    channels = buf.shape[1] // history
    preds = []
    for t in range(steps):
        nxt, buf = _step(model, buf, theta, noise_fn, t, channels)
        preds.append(nxt)
    return torch.stack(preds, dim=1)


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
    buf = initial_history(u0, history)
    channels = targets.shape[2]
    if buf.shape[1] != channels * history:
        raise ValueError(f"u0 has {buf.shape[1] // history} channels per state, targets {channels}")
    steps = targets.shape[1]
    windows = tbptt_windows(steps, window)
    if mode == "full":
        windows = [(0, steps)]
    elif mode == "last":
        start = windows[-1][0]
        with torch.no_grad():
            for t in range(start):
                _, buf = _step(model, buf, theta, noise_fn, t, channels)
        windows = windows[-1:]
    supervised = sum(stop - start for start, stop in windows)
    for start, stop in windows:
        if start > 0:
            buf = buf.detach()  # no gradient crosses a window boundary
        preds = []
        for t in range(start, stop):
            nxt, buf = _step(model, buf, theta, noise_fn, t, channels)
            preds.append(nxt)
        pred = torch.stack(preds, dim=1)
        raw = loss_fn(pred, targets[:, start:stop], (start, stop))
        yield WindowLoss(start, stop, raw * ((stop - start) / supervised), raw, pred)
        del preds, pred, raw
