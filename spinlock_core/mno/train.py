"""The ``mno`` stage: train a θ-conditioned backbone to imitate the operator family from (θ, u0).

Each optimizer step rolls a batch out over the whole horizon with truncated BPTT
(``mno.tbptt``): in ``windowed`` mode every window is supervised and the state is detached
between windows. The loss of a window is ``Σ mno.loss[name] * loss_name(pred, target, ctx)``
over the configured ``spinlock.losses`` plugins. AdamW with linear warm-up then cosine decay;
fields are normalised per channel with statistics of the training split.

Under ``torchrun`` the global batch (``mno.batch_size`` per rank) is split across ranks and the
gradients are averaged with one all-reduce per optimizer step (after the whole TBPTT rollout:
a rollout calls the model once per step, so bucketed DDP hooks would fire per window). Rank 0
validates, logs and writes checkpoints.

Checkpoints (``mno/checkpoints/step_<optimizer step>.pt``, written every ``mno.save_every``
steps, every ``mno.checkpoint_minutes`` and at the end of each epoch after its validation; the
``mno.keep`` furthest into training are kept) hold model, losses, optimizer, scheduler, epoch, position in
the epoch, RNG states, history and normalisation, load with ``weights_only=True`` and are
written atomically. Every random choice derives from the seed and the epoch, and RNG states are
saved, so a run resumed from any checkpoint continues exactly as if it had not stopped. A
checkpoint is resumed only when its metadata shows the same stage fingerprint, training config
and dataset (a digest of ``dataset/manifest.json``); otherwise the checkpoints are moved to
``.spinlock/replaced/`` with a warning saying why and training starts afresh.
"""

from __future__ import annotations

import json
import math
import re
import time
import warnings
from pathlib import Path

import numpy as np

from .. import registry
from ..checkpoint import load_checkpoint, read_metadata, save_checkpoint
from ..console import info, progress, warn
from ..distributed import barrier, init_distributed, is_rank0, rank, world_size
from ..errors import DatasetError, SpinlockError
from ..interfaces import LossSetup
from ..seeding import generator_for, sample_seed
from ..storage import Dataset
from .data import make_targets, split_pairs
from .loop import autocast_for, noise_source, precision_for, train_step

__all__ = ["run", "train", "split_pairs", "tbptt_step", "NonFiniteError"]

_STEP = re.compile(r"^(step|epoch)_(\d+)\.pt$")


class NonFiniteError(SpinlockError):
    """Too many optimizer steps had a NaN/Inf loss or gradient."""

    exit_code = 1


def _scheduler(optimizer, warmup: int, total: int):
    """Linear warm-up from ``lr / warmup`` to ``lr`` over ``warmup`` steps, then cosine decay to 0
    at step ``total`` (torch's ``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR``)."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    cosine = CosineAnnealingLR(optimizer, T_max=max(1, total - warmup))
    if warmup == 0:
        return cosine
    linear = LinearLR(optimizer, start_factor=1 / warmup, end_factor=1.0, total_iters=max(1, warmup - 1))
    return SequentialLR(optimizer, [linear, cosine], milestones=[warmup])


def _load_scheduler(scheduler, state: dict) -> None:
    """Restore ``scheduler`` from a checkpoint; one saved by the former ``LambdaLR`` schedule
    (``lr_lambdas`` in its state) is replayed, the rate depending on the step count alone."""
    if "lr_lambdas" not in state:
        scheduler.load_state_dict(state)
        return
    for group, lr in zip(scheduler.optimizer.param_groups, scheduler.get_last_lr(), strict=True):
        group["lr"] = lr
    with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()"
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(state["last_epoch"]):
            scheduler.step()


def _latest(folder: Path) -> Path | None:
    """The checkpoint furthest into training: the highest optimizer step recorded in its
    metadata (``step_*`` names count steps, ``epoch_*`` names epochs, so names do not compare);
    at equal steps the epoch checkpoint, written after that epoch's validation, wins."""
    found = []
    for path in folder.glob("*.pt"):
        if not (m := _STEP.match(path.name)):
            continue
        try:
            step = int(read_metadata(path)["step"])
        except (SpinlockError, OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: never resumed from
        found.append((step, m.group(1) == "epoch", path.name, path))
    return max(found)[3] if found else None


def _dataset_digest(root: Path) -> str:
    """A digest of the dataset the MNO trains on: its manifest (sample count, shards, seeds...)."""
    import hashlib

    return hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()[:16]


def _why_not_resume(meta: dict, meta_config: dict, origin: dict) -> str | None:
    """Why a checkpoint with metadata ``meta`` must not be resumed, or ``None``."""
    recorded = meta.get("origin") or {}
    if not recorded:
        return "it records no stage fingerprint or dataset"
    if recorded.get("input") != origin["input"]:
        return "it was trained on another dataset"
    if recorded.get("fingerprint") != origin["fingerprint"] or meta.get("config") != meta_config:
        return "it was made with another config"
    return None


def _prune(folder: Path, keep: int) -> None:
    """Keep the ``keep`` checkpoints furthest into training (by optimizer step), delete the rest."""
    found = []
    for path in folder.glob("*.pt"):
        if not (m := _STEP.match(path.name)):
            continue
        if m.group(1) == "step":
            step = int(m.group(2))
        else:  # an older run's epoch_* name: its step is in the metadata
            try:
                step = int(read_metadata(path)["step"])
            except (SpinlockError, OSError, ValueError, KeyError, TypeError):
                step = -1
        found.append((step, m.group(1) == "epoch", path.name, path))
    for *_, path in sorted(found)[:-keep]:
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)


def _precision(cfg, device) -> str:
    return precision_for(cfg.precision, device)


def _autocast(precision: str, device):
    return autocast_for(precision, device)()


def build_losses(config, cfg, setup: LossSetup) -> dict:
    """``{name: (weight, loss module)}`` for every loss in ``mno.loss`` with a non-zero weight."""
    if not cfg.loss:
        raise registry.UnknownPluginError(
            f"mno.loss is empty: give at least one loss weight, e.g. mno.loss.traj=1 "
            f"(installed losses: {', '.join(registry.available('losses'))})"
        )
    losses = {}
    for name, weight in cfg.loss.items():
        spec = registry.load("losses", name)
        if weight == 0:
            continue
        options = config.sections.get(f"loss.{name}")
        if options is None and spec.config_class is not None:
            options = spec.config_class()
        module = spec.load_implementation()(options, setup=setup)
        losses[name] = (float(weight), module.to(setup.device))
    if not losses:
        raise SpinlockError("every mno.loss weight is 0: nothing would be trained")
    return losses


def tbptt_step(
    model, u0, targets, theta, cfg, losses, *, samples=None, realizations=None, autocast=None, noise=None
):
    """Roll out over the horizon and backpropagate window by window (no optimizer step).

    Returns ``(total loss, logs, finite)``; see :func:`spinlock_core.mno.loop.train_step`, which
    the stage runs (this is that step without clipping or optimizer, for tests and tools).
    """
    result = train_step(
        model,
        u0,
        targets,
        theta,
        losses,
        **_loop_options(cfg),
        autocast=autocast,
        noise=noise,
        samples=samples,
        realizations=realizations,
    )
    return result.loss, result.logs, result.finite


def _loop_options(cfg) -> dict:
    """The ``train_step`` options the mno config sets (one place for the stage and ``tbptt_step``)."""
    return dict(
        window=cfg.tbptt.window, mode=cfg.tbptt.mode, history=cfg.history, state_noise_std=cfg.noise_std
    )


def _allreduce_gradients(params, world: int) -> None:
    """Average the gradients of ``params`` over ranks with one coalesced all-reduce."""
    import torch
    import torch.distributed as dist

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p, g in zip(params, grads, strict=True):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def _from_rank0(value):
    """``value`` as rank 0 has it, on every rank."""
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _rank_pairs(order: np.ndarray, b: int, batch_size: int, r: int, world: int) -> np.ndarray:
    """Rank ``r``'s share of global batch ``b`` (the order is padded to a multiple of ``world``)."""
    size = batch_size * world
    return order[b * size : (b + 1) * size][r::world]


def _rng_state(device) -> dict:
    import torch

    state = {"cpu": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device) -> None:
    import torch

    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def train(context, *, stop_after_steps: int | None = None) -> dict:
    """Train (or resume) in ``context.run_dir/mno``; returns the final metrics.

    ``stop_after_steps`` stops after that many optimizer steps of this call, as an interruption
    would (tests of exact resume use it).
    """
    import torch

    from .evaluate import evaluate, validation_errors, write_figures

    config, cfg, device = context.config, context.section("mno"), context.device
    seed = config.core.seed
    name = config.get("backbone.name")
    if not name:
        raise registry.UnknownPluginError(
            f"mno needs backbone=NAME (installed: {', '.join(registry.available('backbones'))})"
        )
    spec = registry.load("backbones", name)
    distributed = init_distributed(device)
    r, world = rank(), world_size()
    out = context.path("mno")
    folder = out / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    meta_config = {
        "mno": config.data.get("mno"),
        "backbone": config.data.get("backbone"),
        "loss": config.data.get("loss"),
        "seed": config.core.seed,
        "world_size": world,
    }
    ds = Dataset(context.path("dataset"))
    data = make_targets(cfg.data, ds, device)
    steps = min(cfg.steps or data.horizon, data.horizon)
    train_pairs, val_pairs = split_pairs(
        ds.read("samples/status"), data.realizations, cfg.val_fraction, config.core.seed
    )
    origin = {"fingerprint": context.fingerprint, "input": _dataset_digest(context.path("dataset"))}
    latest = _latest(folder)
    why_not = _why_not_resume(read_metadata(latest), meta_config, origin) if latest else None
    resumable = latest is not None and why_not is None
    saved = load_checkpoint(latest, map_location=device)[0] if resumable else None
    if saved is not None:
        data.set_normaliser(saved["normaliser"]["mean"].numpy(), saved["normaliser"]["std"].numpy())
    else:
        data.fit_normaliser(train_pairs)
    where = data.load(np.concatenate([train_pairs, val_pairs]), steps)  # read and normalised once
    torch.manual_seed(sample_seed(config.core.seed, 0, "mno.init"))
    model, model_config = spec.load_implementation()(
        config.sections.get("backbone"),
        channels=data.channels,
        history=cfg.history,
        parameter_space=data.space,
        device=device,
    )
    tokenizer_path = context.path("tokenizer") / "model.pt"
    setup = LossSetup(
        run_dir=Path(context.run_dir),
        dataset=ds,
        domain=data.info,
        model=model,
        device=device,
        horizon=steps,
        normaliser={"mean": data.mean, "std": data.std},
        tokenizer_path=tokenizer_path if tokenizer_path.exists() else None,
        latent_sample_steps=cfg.latent_sample_steps,
    )
    losses = build_losses(config, cfg, setup)
    params = [p for p in model.parameters() if p.requires_grad]
    params += [p for _, fn in losses.values() for p in fn.parameters() if p.requires_grad]
    if distributed:
        for p in params:
            torch.distributed.broadcast(p.data, src=0)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    order_size = len(train_pairs) + (-len(train_pairs)) % world
    batches_per_epoch = math.ceil(order_size / (cfg.batch_size * world))
    scheduler = _scheduler(optimizer, cfg.warmup_steps, cfg.epochs * batches_per_epoch)
    precision = _precision(cfg, device)
    step_model = torch.compile(model) if cfg.compile else model
    autocast = autocast_for(precision, device)

    def sync(finite: bool) -> bool:
        """Average the gradients over ranks; the step is finite only if it is on every rank."""
        _allreduce_gradients(params, world)
        flag = torch.tensor([float(finite)], device=device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
        return bool(flag.item())

    state = {
        "epoch": 0,
        "position": 0,
        "step": 0,
        "history": [],
        "best": None,
        "sums": {},
        "count": 0,
        "skipped": 0,
    }
    torch.manual_seed(sample_seed(config.core.seed, r, "mno.noise"))
    if saved is not None:
        model.load_state_dict(saved["model"])
        for loss_name, (_, fn) in losses.items():
            fn.load_state_dict(saved["losses"].get(loss_name, {}))
        optimizer.load_state_dict(saved["optimizer"])
        _load_scheduler(scheduler, saved["scheduler"])
        state = {k: saved[k] for k in state}
        _set_rng_state(saved["rng"], device)
        info(f"resuming from {latest.name} (epoch {state['epoch']}, step {state['step']})")
    elif latest is not None and is_rank0():
        from ..runner import move_to_replaced

        target = move_to_replaced(context.run_dir, [str(folder.relative_to(context.run_dir))])
        folder.mkdir(parents=True, exist_ok=True)
        warn(f"mno: not resuming {latest.name}: {why_not}; checkpoints moved to {target}, training afresh")
    barrier()

    def save(path) -> None:
        if is_rank0():
            _save(
                path,
                model,
                losses,
                optimizer,
                scheduler,
                state,
                data,
                meta_config,
                name,
                model_config,
                device,
                origin=origin,
            )

    def set_mode(training: bool) -> None:
        model.train(training)
        for _, fn in losses.values():
            fn.train(training)

    n_train = 0
    preset = getattr(config.sections.get("backbone"), "preset", None)  # where the backbone has sizes
    label = f"{name} ({preset})" if preset else name
    if is_rank0():
        info(
            f"mno: {label}, {sum(p.numel() for p in model.parameters()):,} parameters, "
            f"{len(train_pairs)} training / {len(val_pairs)} validation trajectories, horizon {steps}, "
            f"{precision}{', compiled' if cfg.compile else ''}, data {cfg.data} ({where})"
            + (f", {world} ranks" if distributed else "")
        )
    saved_at = time.monotonic()  # wall-time checkpoints (mno.checkpoint_minutes) count from here
    with progress(
        cfg.epochs * batches_per_epoch - state["step"],
        f"mno ({name}, {preset})" if preset else f"mno ({name})",
        unit="batches",
    ) as advance:
        for epoch in range(state["epoch"], cfg.epochs):
            set_mode(True)
            perm = torch.randperm(
                len(train_pairs), generator=generator_for(config.core.seed, epoch, "mno.shuffle")
            ).numpy()
            order = train_pairs[np.concatenate([perm, perm[: order_size - len(perm)]])]
            first = state["position"]
            batches = data.stream(
                [_rank_pairs(order, b, cfg.batch_size, r, world) for b in range(first, batches_per_epoch)],
                steps,
            )
            for b, (u0, targets, theta) in enumerate(batches, start=first):
                pairs = batches.batches[b - first]
                noise = noise_source(
                    model,
                    u0,
                    config.core.seed,
                    pairs[:, 0] * data.realizations + pairs[:, 1],
                    f"mno.noise.epoch{epoch}",
                )
                result = train_step(
                    step_model,
                    u0,
                    targets,
                    theta,
                    losses,
                    **_loop_options(cfg),
                    optimizer=optimizer,
                    params=params,
                    grad_clip=cfg.grad_clip,
                    autocast=autocast,
                    noise=noise,
                    samples=pairs[:, 0],
                    realizations=pairs[:, 1],
                    sync=sync if distributed else None,
                )
                loss, logs, finite = result.loss, result.logs, result.finite
                if finite:
                    sums = dict(state["sums"])
                    for key, value in {"train_loss": loss, **logs}.items():
                        sums[key] = sums.get(key, 0.0) + value
                    state.update(sums=sums, count=state["count"] + 1)
                    scheduler.step()
                else:
                    state["skipped"] += 1
                    with warnings.catch_warnings():  # the schedule advances over a skipped step too
                        warnings.simplefilter("ignore", UserWarning)
                        scheduler.step()
                state.update(step=state["step"] + 1, position=b + 1)
                n_train += 1
                advance(1)
                minutes = (time.monotonic() - saved_at) / 60
                by_time = cfg.checkpoint_minutes and minutes >= cfg.checkpoint_minutes
                if (cfg.save_every and state["step"] % cfg.save_every == 0) or by_time:
                    state["rng"] = _rng_state(device)
                    save(folder / f"step_{state['step']:08d}.pt")
                    saved_at = time.monotonic()
                    if is_rank0():
                        _prune(folder, cfg.keep)
                _check_nonfinite(state, cfg)
                if stop_after_steps is not None and n_train >= stop_after_steps:
                    batches.close()
                    ds.close()
                    return {}
            set_mode(False)
            count = state["count"]
            metrics = {"epoch": epoch + 1, "step": state["step"], "skipped_steps": state["skipped"]}
            metrics |= {k: v / count for k, v in state["sums"].items()} if count else {"train_loss": None}
            # Rank 0 validates (the whole split); the other ranks receive its figures.
            val = (
                validation_errors(model, data, val_pairs, cfg, steps, precision, device, seed)
                if is_rank0()
                else None
            )
            metrics |= _from_rank0(val) if distributed else val
            state.update(epoch=epoch + 1, position=0, history=[*state["history"], metrics], sums={}, count=0)
            state["rng"] = _rng_state(device)
            if state["best"] is None or metrics["val_rel_l2"] < state["best"]:
                state["best"] = metrics["val_rel_l2"]
                save(out / "best_model.pt")
            save(folder / f"step_{state['step']:08d}.pt")  # supersedes a step save at this step
            saved_at = time.monotonic()
            if is_rank0():
                _prune(folder, cfg.keep)
                info(
                    f"epoch {epoch + 1}: "
                    + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
                )
    save(out / "model.pt")
    result = state["history"][-1] if state["history"] else {}
    if is_rank0():
        (out / "metrics.json").write_text(json.dumps(state["history"], indent=2))
        evaluation = evaluate(model, data, val_pairs, cfg, steps, precision, device, seed)
        (out / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
        write_figures(
            model,
            data,
            val_pairs,
            cfg,
            steps,
            precision,
            device,
            out / "figures",
            state["history"],
            evaluation,
            seed=seed,
        )
        result = {**result, "evaluation": evaluation["summary"]}
    barrier()
    ds.close()
    return result


def _check_nonfinite(state: dict, cfg) -> None:
    skipped, done = state["skipped"], state["step"]
    if skipped and skipped / done > cfg.max_nonfinite_fraction and done >= min(10, cfg.epochs):
        raise NonFiniteError(
            f"{skipped} of {done} optimizer steps had a NaN/Inf loss or gradient (above "
            f"mno.max_nonfinite_fraction={cfg.max_nonfinite_fraction}); lower mno.lr, set "
            f"mno.grad_clip, use mno.precision=fp32 or shorten mno.tbptt.window"
        )


def _save(
    path,
    model,
    losses,
    optimizer,
    scheduler,
    state,
    data,
    meta_config,
    name,
    model_config,
    device,
    origin=None,
):
    import attrs
    import torch

    payload = {
        "model": model.state_dict(),
        "losses": {k: fn.state_dict() for k, (_, fn) in losses.items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        **state,
        "rng": state.get("rng") or _rng_state(device),
        "normaliser": {"mean": torch.as_tensor(data.mean), "std": torch.as_tensor(data.std)},
    }
    meta = {
        "kind": "mno",
        "name": name,
        "config": meta_config,
        "model_config": attrs.asdict(model_config),
        "parameter_space": data.space.describe(),
        "epoch": state["epoch"],
        "step": state["step"],
        "origin": origin,
    }
    save_checkpoint(path, payload, meta)


def run(context) -> None:
    try:
        metrics = train(context)
    except FileNotFoundError as exc:
        raise DatasetError(f"mno: {exc}") from exc
    if metrics and is_rank0():
        summary = metrics.get("evaluation", {})
        info(
            f"mno: validation rollout rel. L2 {metrics['val_rel_l2']:.4f} "
            f"(persistence {metrics['persistence_rel_l2']:.4f}"
            + (f", VRMSE {summary['vrmse']:.4f}" if "vrmse" in summary else "")
            + f") after {metrics['epoch']} epochs; figures in {context.path('mno') / 'figures'}"
        )
        from ..verdicts import report as report_verdict

        report_verdict("mno (validation split)", summary)
