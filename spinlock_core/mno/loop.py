"""The one rollout and truncated-BPTT loop of a θ-conditioned one-step model.

Every caller rolls a backbone out through this module: the ``mno`` stage's training step and
its evaluation, the ``validate`` stage, ``benchmarks/mno.py``, the fluids benchmark and
``spinlock_u_afno.tbptt``. A model is called as ``model(state [B, C*history, H, W], θ, noise)
-> [B, C, H, W]``; with ``history = k`` the state holds the ``k`` newest states, oldest first,
and before ``k`` states exist the initial condition is repeated.

:func:`rollout_windows` is the loop itself. It cuts the horizon into windows of ``window``
steps and yields each supervised one; its modes:

* ``windowed``: every window supervised; the state is detached after each window (the caller
  backpropagates the window's loss before asking for the next), so no gradient crosses a
  window boundary and only one window's graph is alive at a time;
* ``full``: every window yielded, one graph over the horizon (backpropagate the sum at the end);
* ``last``: the windows before the last run without a graph; only the last is yielded.

:func:`train_step` is one optimizer step over a batch (what ``spinlock run stage=mno`` runs
and ``benchmarks/mno.py`` times); :func:`rollout` is a rollout without gradient.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from ..interfaces import LossContext

__all__ = [
    "MODES",
    "Window",
    "StepResult",
    "tbptt_windows",
    "initial_state",
    "rollout_windows",
    "rollout",
    "train_step",
    "precision_for",
    "autocast_for",
    "noise_source",
]

MODES = ("windowed", "full", "last")

#: ``noise(t) -> [B, noise_channels, H, W]`` for step ``t``, or ``None``.
NoiseFn = Callable[[int], Any]


@attrs.frozen
class Window:
    """Steps ``[start, stop)`` of a rollout (step ``t`` predicts the state after ``t + 1`` steps)."""

    start: int
    stop: int
    pred: Any  # [B, stop - start, C, H, W], float32
    state: Any  # [B, C, H, W]: the newest state the window started from (detached)


@attrs.frozen
class StepResult:
    """What one optimizer step did."""

    loss: float  # the summed window losses (NaN if a window's loss was non-finite)
    logs: dict[str, float]  # per-loss values (summed over windows) and their sub-figures
    finite: bool  # every loss and the gradient norm were finite, and the optimizer stepped


def tbptt_windows(steps: int, window: int) -> list[tuple[int, int]]:
    """``steps`` steps as consecutive ``(start, stop)`` windows of ``window`` (the last may be short).

    >>> tbptt_windows(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    if steps < 1 or window < 1:
        raise ValueError(f"steps and window must be >= 1, got steps={steps}, window={window}")
    return [(s, min(s + window, steps)) for s in range(0, steps, window)]


def initial_state(u0, history: int):
    """``u0 [B, C, H, W]`` (repeated) or ``[B, history, C, H, W]`` (oldest first) -> ``[B, C*history, H, W]``."""
    import torch

    if u0.ndim == 4:
        return torch.cat([u0] * history, dim=1)
    if u0.ndim == 5 and u0.shape[1] == history:
        return u0.flatten(1, 2)
    raise ValueError(f"u0 must be [B, C, H, W] or [B, history={history}, C, H, W], got {list(u0.shape)}")


def _call(model, state, theta, noise, checkpoint: bool):
    import torch

    if checkpoint and torch.is_grad_enabled():
        from torch.utils.checkpoint import checkpoint as ckpt

        return ckpt(model, state, theta, noise, use_reentrant=False)
    return model(state, theta, noise)


def rollout_windows(
    model: Callable,
    u0,
    theta: Mapping[str, Any] | None,
    steps: int,
    *,
    window: int,
    mode: str = "windowed",
    history: int = 1,
    noise: NoiseFn | None = None,
    state_noise_std: float = 0.0,
    autocast: Callable[[], Any] | None = None,
    checkpoint: bool = False,
) -> Iterator[Window]:
    """Roll ``model`` out for ``steps`` steps from ``u0`` and yield each supervised window.

    Args:
        model: ``model(state [B, C*history, H, W], θ, noise) -> [B, C, H, W]``.
        u0: ``[B, C, H, W]``, or ``[B, history, C, H, W]`` (oldest first).
        theta: decoded θ ``{name: Tensor [B]}``, passed to every step.
        steps: the horizon.
        window: steps per TBPTT window.
        mode: ``windowed``, ``full`` or ``last`` (see the module docstring).
        history: past states the model reads.
        noise: ``noise(t)``, the model's noise input at step ``t``; ``None``: no noise input.
        state_noise_std: Gaussian noise (from the global RNG) added to the whole state at the
            start of each supervised window (``mno.noise_std``); 0: none.
        autocast: a context factory around the model calls (e.g. bf16 autocast).
        checkpoint: recompute each step in backward (``torch.utils.checkpoint``): far less
            memory for the same gradients.

    Yields:
        :class:`Window` per supervised window, in order, ``pred`` in float32. In ``windowed``
        and ``last`` modes the state is detached when the next window is asked for.
    """
    import torch

    if mode not in MODES:
        raise ValueError(f"TBPTT mode must be one of {list(MODES)}, got {mode!r}")
    autocast = autocast or contextlib.nullcontext
    bounds = tbptt_windows(steps, window)
    state = initial_state(u0, history)
    channels = state.shape[1] // history
    for start, stop in bounds:
        supervised = mode != "last" or stop == steps
        if supervised and state_noise_std > 0:
            state = state + state_noise_std * torch.randn_like(state)
        start_state = state[:, -channels:].detach()
        with torch.set_grad_enabled(supervised and torch.is_grad_enabled()), autocast():
            preds = []
            for t in range(start, stop):
                nxt = _call(model, state, theta, None if noise is None else noise(t), checkpoint)
                preds.append(nxt)
                state = torch.cat([state[:, channels:], nxt], dim=1)
        if not supervised:
            state = state.detach()
            continue
        yield Window(start, stop, torch.stack(preds, dim=1).float(), start_state)
        del preds
        if mode != "full":
            state = state.detach()


def rollout(
    model: Callable,
    u0,
    theta: Mapping[str, Any] | None,
    steps: int,
    *,
    history: int = 1,
    noise: NoiseFn | None = None,
    autocast: Callable[[], Any] | None = None,
):
    """``[B, steps, C, H, W]`` (float32, the IC not included): a rollout without gradient."""
    import torch

    with torch.no_grad():
        (only,) = rollout_windows(
            model, u0, theta, steps, window=steps, history=history, noise=noise, autocast=autocast
        )
    return only.pred


def _window_loss(
    losses, item: Window, targets, u0, theta, steps, supervised_steps, n_windows, samples, realizations, logs
):
    ctx = LossContext(
        window=(item.start, item.stop),
        horizon=steps,
        supervised_steps=supervised_steps,
        u0=u0,
        theta=theta,
        samples=samples,
        realizations=realizations,
        training=True,
        state=item.state,
        target_state=u0 if item.start == 0 else targets[:, item.start - 1],
    )
    loss = 0.0
    for name, (weight, fn) in losses.items():
        value, sub = fn(item.pred, targets[:, item.start : item.stop], ctx)
        loss = loss + weight * value
        logs[f"loss_{name}"] = logs.get(f"loss_{name}", 0.0) + float(value.detach())
        for key, v in sub.items():
            logs[f"{name}_{key}"] = logs.get(f"{name}_{key}", 0.0) + v / n_windows
    return loss


def train_step(
    model: Callable,
    u0,
    targets,
    theta: Mapping[str, Any] | None,
    losses: Mapping[str, tuple[float, Callable]],
    *,
    window: int,
    mode: str = "windowed",
    history: int = 1,
    optimizer=None,
    params=None,
    grad_clip: float | None = None,
    autocast: Callable[[], Any] | None = None,
    noise: NoiseFn | None = None,
    state_noise_std: float = 0.0,
    samples=None,
    realizations=None,
    sync: Callable[[bool], bool] | None = None,
    checkpoint: bool = False,
) -> StepResult:
    """One optimizer step: roll out over ``targets``' horizon, backpropagate, clip, step.

    The loss of a window is ``Σ weight * loss(pred, target, ctx)`` over ``losses``
    (``{name: (weight, loss module)}``, each returning ``(value, {sub: float})``). ``windowed``
    and ``last``: each window's loss is backpropagated at the window's end; ``full``: their sum
    once at the end. A non-finite window loss stops the rollout without a backward. Then
    ``sync(finite) -> finite`` (e.g. an all-reduce of the gradients and of the flag over ranks),
    the gradient norm of ``params`` clipped to ``grad_clip`` (``None``: measured only), and
    ``optimizer.step()`` when everything was finite. Without ``optimizer`` only the gradients
    are computed (``zero_grad`` is the caller's then).
    """
    import torch

    if optimizer is not None:
        optimizer.zero_grad(set_to_none=True)
    steps = targets.shape[1]
    bounds = tbptt_windows(steps, window)
    supervised_steps = steps if mode != "last" else bounds[-1][1] - bounds[-1][0]
    total, graph, logs, finite = 0.0, 0.0, {}, True
    items = rollout_windows(
        model,
        u0,
        theta,
        steps,
        window=window,
        mode=mode,
        history=history,
        noise=noise,
        state_noise_std=state_noise_std,
        autocast=autocast,
        checkpoint=checkpoint,
    )
    for item in items:
        loss = _window_loss(
            losses,
            item,
            targets,
            u0,
            theta,
            steps,
            supervised_steps,
            len(bounds),
            samples,
            realizations,
            logs,
        )
        if not torch.isfinite(loss.detach()):
            total, finite = float("nan"), False
            break
        total += float(loss.detach())
        if mode == "full":
            graph = graph + loss
        else:
            loss.backward()
    else:
        if mode == "full":
            graph.backward()
    if sync is not None:
        finite = sync(finite)
    if params is not None:
        norm = torch.nn.utils.clip_grad_norm_(params, grad_clip or float("inf"))
        finite = finite and bool(torch.isfinite(norm))
    if finite and optimizer is not None:
        optimizer.step()
    return StepResult(total, logs, finite)


def precision_for(precision: str, device) -> str:
    """``auto`` -> ``bf16`` on CUDA, else ``fp32``; other values unchanged."""
    import torch

    if precision == "auto":
        return "bf16" if torch.device(device).type == "cuda" else "fp32"
    return precision


def autocast_for(precision: str, device) -> Callable[[], Any]:
    """A context factory: bf16 autocast on ``device`` for ``bf16``, else nothing."""
    import torch

    if precision == "bf16":
        return lambda: torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def noise_source(model, like, seed: int, keys, stream: str) -> NoiseFn | None:
    """The noise input of a backbone that declares noise channels, ``None`` for one that does not.

    The model's ``make_noise(like, generator) -> Tensor | None`` draws each row's noise from
    that row's own generator, ``generator_for(seed, key, stream)`` (``keys``: one int per row,
    e.g. a pair's ``sample * realizations + realization``), so a trajectory's noise does not
    depend on the batch it is in and a resumed run draws the same noise.
    """
    import torch

    from ..seeding import generator_for

    make_noise = getattr(model, "make_noise", None)
    device = like.device
    probe = torch.Generator(device=device)  # never the global RNG: training draws from it too
    if not callable(make_noise) or make_noise(like[:1], probe) is None:
        return None
    generators = [generator_for(seed, int(k), stream, device=device) for k in keys]

    def draw(_t: int):
        return torch.cat([make_noise(like[i : i + 1], g) for i, g in enumerate(generators)])

    return draw
