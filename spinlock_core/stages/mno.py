"""The ``mno`` stage: train a θ-conditioned backbone on the stored trajectories.

Training pairs are (sample, realization) of the samples whose status is ok; the split into
training and validation is by sample, from the seed. Each optimizer step rolls a batch out
over the whole horizon with truncated BPTT (``mno.tbptt``): in ``windowed`` mode every window
is supervised and the state is detached between windows. AdamW with linear warm-up then
cosine decay; fields are normalised per channel with statistics of the training split.

Checkpoints (``mno/checkpoints/``) hold model, optimizer, scheduler, epoch, position in the
epoch, history and normalisation, load with ``weights_only=True`` and are written atomically.
Every random choice (split, shuffling, initialisation) derives from the seed and the epoch,
so a run resumed from any checkpoint continues exactly as if it had not stopped.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from .. import registry
from ..checkpoint import load_checkpoint, read_metadata, save_checkpoint
from ..console import info, progress, warn
from ..errors import DatasetError
from ..seeding import generator_for, sample_seed
from ..storage import STATUS, Dataset
from .features import domain_info

__all__ = ["run", "train", "split_pairs"]

_STEP = re.compile(r"^(step|epoch)_(\d+)\.pt$")


def split_pairs(status: np.ndarray, realizations: int, val_fraction: float, seed: int):
    """``(train, val)`` arrays of ``(sample, realization)`` pairs, split by sample."""
    import torch

    ok = np.flatnonzero(status == STATUS["ok"])
    if len(ok) < 2:
        raise DatasetError(f"mno needs at least 2 samples whose status is ok, the dataset has {len(ok)}")
    order = ok[torch.randperm(len(ok), generator=generator_for(seed, 0, "mno.split")).numpy()]
    n_val = min(len(ok) - 1, max(1, round(val_fraction * len(ok))))

    def pairs(samples):
        return np.array([(i, m) for i in np.sort(samples) for m in range(realizations)], dtype=np.int64)

    return pairs(order[n_val:]), pairs(order[:n_val])


class _Data:
    """Reads batches of pairs from the dataset: θ, normalised u0 and targets."""

    def __init__(self, ds: Dataset, steps: int, device):
        import torch

        self.ds, self.device, self.steps = ds, device, steps
        self.space = domain_info(ds).parameter_space
        self.values = ds.read("theta/values")
        self.mean = self.std = None
        self.torch = torch

    def fit_normaliser(self, pairs: np.ndarray) -> None:
        samples = np.unique(pairs[:, 0])
        traj = self.ds.read("trajectories", samples).astype(np.float64)  # [S, M, T, C, H, W]
        self.mean = traj.mean(axis=(0, 1, 2, 4, 5))
        self.std = traj.std(axis=(0, 1, 2, 4, 5)) + 1e-8

    def batch(self, pairs: np.ndarray):
        torch = self.torch
        samples, realizations = pairs[:, 0], pairs[:, 1]
        unique, inverse = np.unique(samples, return_inverse=True)
        traj = self.ds.read("trajectories", unique)[inverse, realizations, : self.steps + 1].astype(
            np.float32
        )
        traj = (traj - self.mean[None, None, :, None, None]) / self.std[None, None, :, None, None]
        traj = torch.as_tensor(traj, dtype=torch.float32, device=self.device)
        theta = self.space.from_matrix(self.values[samples])
        theta = {
            k: torch.as_tensor(np.asarray(v, dtype=np.float64), device=self.device) for k, v in theta.items()
        }
        return traj[:, 0], traj[:, 1:], theta


def _schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress_ = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress_)))

    return factor


def _mse(pred, target, _window):
    return (pred - target).square().mean()


def _validate(model, data: _Data, pairs: np.ndarray, cfg) -> dict:
    """Rollout relative L2 over the horizon, and the persistence baseline's."""
    import torch

    model.eval()
    errors, persistence = [], []
    with torch.no_grad():
        for start in range(0, len(pairs), cfg.batch_size):
            u0, targets, theta = data.batch(pairs[start : start + cfg.batch_size])
            preds, state = [], _history(u0, cfg.history)
            for _ in range(targets.shape[1]):
                nxt = model(state, theta, None)
                preds.append(nxt)
                state = torch.cat([state[:, u0.shape[1] :], nxt], dim=1)
            pred = torch.stack(preds, dim=1)
            norm = targets.flatten(2).norm(dim=2).clamp_min(1e-12)
            errors.append(((pred - targets).flatten(2).norm(dim=2) / norm).mean(0))
            persistence.append(((u0[:, None] - targets).flatten(2).norm(dim=2) / norm).mean(0))
    model.train()
    err, base = torch.stack(errors).mean(0), torch.stack(persistence).mean(0)
    return {
        "val_rel_l2": float(err.mean()),
        "val_rel_l2_final": float(err[-1]),
        "persistence_rel_l2": float(base.mean()),
    }


def _history(u0, history: int):
    import torch

    return torch.cat([u0] * history, dim=1)


def _latest(folder: Path) -> Path | None:
    found = [(int(m.group(2)), p) for p in folder.glob("*.pt") if (m := _STEP.match(p.name))]
    return max(found)[1] if found else None


def _prune(folder: Path, keep: int) -> None:
    steps = sorted((int(m.group(2)), p) for p in folder.glob("step_*.pt") if (m := _STEP.match(p.name)))
    for _, path in steps[:-keep]:
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)


def train(context, *, stop_after_steps: int | None = None) -> dict:
    """Train (or resume) in ``context.run_dir/mno``; returns the final metrics.

    ``stop_after_steps`` stops after that many optimizer steps of this call, as an interruption
    would (tests of exact resume use it).
    """
    import torch

    config, cfg = context.config, context.section("mno")
    name = config.get("backbone.name")
    if not name:
        raise registry.UnknownPluginError(
            f"mno needs backbone=NAME (installed: {', '.join(registry.available('backbones'))})"
        )
    spec = registry.load("backbones", name)
    out = context.path("mno")
    folder = out / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    meta_config = {
        "mno": config.data.get("mno"),
        "backbone": config.data.get("backbone"),
        "seed": config.core.seed,
    }
    ds = Dataset(context.path("dataset"))
    if not ds.has("trajectories"):
        raise DatasetError(
            "mno trains on stored trajectories: generate with generate.store_trajectories=true"
        )
    horizon = ds.shape("trajectories")[2] - 1
    steps = min(cfg.steps or horizon, horizon)
    data = _Data(ds, steps, context.device)
    train_pairs, val_pairs = split_pairs(
        ds.read("samples/status"), ds.shape("trajectories")[1], cfg.val_fraction, config.core.seed
    )
    data.fit_normaliser(train_pairs)
    channels = ds.shape("trajectories")[3]
    torch.manual_seed(sample_seed(config.core.seed, 0, "mno.init"))
    model, model_config = spec.load_implementation()(
        config.sections.get("backbone"),
        preset_name=cfg.preset,
        channels=channels,
        history=cfg.history,
        parameter_space=data.space,
        device=context.device,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    batches_per_epoch = math.ceil(len(train_pairs) / cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(cfg.warmup_steps, cfg.epochs * batches_per_epoch)
    )
    state = {
        "epoch": 0,
        "position": 0,
        "step": 0,
        "history": [],
        "best": None,
        "loss_sum": 0.0,
        "loss_count": 0,
    }
    latest = _latest(folder)
    if latest is not None and read_metadata(latest).get("config") == meta_config:
        saved, _ = load_checkpoint(latest, map_location=context.device)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = {k: saved[k] for k in state}
        info(f"resuming from {latest.name} (epoch {state['epoch']}, step {state['step']})")
    elif latest is not None:
        for old in folder.glob("*"):
            old.rename(old.with_name(f"stale-{old.name}"))
        warn("mno checkpoints of another config were renamed stale-*; training afresh")

    def save(path) -> None:
        _save(path, model, optimizer, scheduler, state, data, meta_config, name, model_config)

    n_train = 0
    with progress(
        cfg.epochs * batches_per_epoch - state["step"], f"mno ({name}, {cfg.preset})", unit="batches"
    ) as advance:
        for epoch in range(state["epoch"], cfg.epochs):
            order = train_pairs[
                torch.randperm(
                    len(train_pairs), generator=generator_for(config.core.seed, epoch, "mno.shuffle")
                ).numpy()
            ]
            for b in range(state["position"], batches_per_epoch):
                u0, targets, theta = data.batch(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
                optimizer.zero_grad(set_to_none=True)
                loss = tbptt_step(model, u0, targets, theta, cfg)
                if cfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                scheduler.step()
                state.update(
                    step=state["step"] + 1,
                    position=b + 1,
                    loss_sum=state["loss_sum"] + loss,
                    loss_count=state["loss_count"] + 1,
                )
                n_train += 1
                advance(1)
                if cfg.save_every and state["step"] % cfg.save_every == 0:
                    save(folder / f"step_{state['step']:08d}.pt")
                    _prune(folder, cfg.keep)
                if stop_after_steps is not None and n_train >= stop_after_steps:
                    return {}
            count = state["loss_count"]
            metrics = {"epoch": epoch + 1, "train_loss": state["loss_sum"] / count if count else None}
            metrics |= _validate(model, data, val_pairs, cfg)
            state.update(
                epoch=epoch + 1, position=0, history=[*state["history"], metrics], loss_sum=0.0, loss_count=0
            )
            if state["best"] is None or metrics["val_rel_l2"] < state["best"]:
                state["best"] = metrics["val_rel_l2"]
                save(out / "best_model.pt")
            save(folder / f"epoch_{epoch + 1:04d}.pt")
            info(
                f"epoch {epoch + 1}: "
                + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
            )
    save(out / "model.pt")
    (out / "metrics.json").write_text(json.dumps(state["history"], indent=2))
    ds.close()
    return state["history"][-1] if state["history"] else {}


def tbptt_step(model, u0, targets, theta, cfg) -> float:
    """Roll out over the horizon and backpropagate window by window; returns the mean loss.

    ``windowed``: each window's loss (weighted by its share of the horizon) is backpropagated
    at the window's end and the state is detached, so no gradient crosses a window boundary;
    ``full``: one graph over the horizon; ``last``: only the last window has a graph and a loss.
    """
    import torch

    steps, window, mode = targets.shape[1], cfg.tbptt.window, cfg.tbptt.mode
    bounds = [(s, min(s + window, steps)) for s in range(0, steps, window)]
    state, channels, total, graph = _history(u0, cfg.history), u0.shape[1], 0.0, 0.0
    for start, stop in bounds:
        supervised = mode != "last" or stop == steps
        with torch.set_grad_enabled(supervised):
            preds = []
            for _ in range(start, stop):
                nxt = model(state, theta, None)
                preds.append(nxt)
                state = torch.cat([state[:, channels:], nxt], dim=1)
        if not supervised:
            state = state.detach()
            continue
        share = (stop - start) / (steps if mode != "last" else stop - start)
        loss = _mse(torch.stack(preds, dim=1), targets[:, start:stop], (start, stop)) * share
        total += float(loss.detach())
        if mode == "full":
            graph = graph + loss
        else:
            loss.backward()
            state = state.detach()
    if mode == "full":
        graph.backward()
    return total


def _save(path, model, optimizer, scheduler, state, data, meta_config, name, model_config) -> None:
    import attrs
    import torch

    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        **state,
        "normaliser": {"mean": torch.as_tensor(data.mean), "std": torch.as_tensor(data.std)},
    }
    meta = {
        "kind": "mno",
        "name": name,
        "config": meta_config,
        "model_config": attrs.asdict(model_config),
        "epoch": state["epoch"],
        "step": state["step"],
    }
    save_checkpoint(path, payload, meta)


def run(context) -> None:
    metrics = train(context)
    if metrics:
        info(
            f"mno: validation rollout rel. L2 {metrics['val_rel_l2']:.4f} "
            f"(persistence {metrics['persistence_rel_l2']:.4f}) after {metrics['epoch']} epochs"
        )
