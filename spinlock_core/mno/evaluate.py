"""Rollout evaluation of a trained MNO: errors per horizon against baselines, and figures.

All errors are in physical units (fields denormalised), per validation trajectory, then
averaged over trajectories:

* relative L2 (the FNO paper's): ``||pred_t - true_t|| / ||true_t||`` over channels and space;
* VRMSE (The Well's): ``sqrt(mean_x (pred - true)^2 / (var_x(true) + 1e-7))`` per channel, then
  averaged over channels; 1 is what predicting the spatial mean scores;
* baselines: persistence (``u_t = u0``), zero (``u_t = 0``) and mean (``u_t`` = each channel's
  spatial mean of ``u0``), and the :func:`spinlock_core.verdicts.verdict` of the model against them.

For stochastic families the trajectories of one sample differ by their noise only, and a
deterministic model can at best predict their mean: ``truth_spread`` (each realization's
relative L2 to the realization mean) is the error floor such a model cannot go below, and
``mean_rel_l2`` scores the model against the realization mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..captions import write_captions
from ..verdicts import summary_verdict
from .data import _Targets
from .horizon_plot import plot_error_vs_horizon
from .loop import autocast_for, noise_source, rollout
from .rollout_errors import rel_l2, rollout_errors

__all__ = ["validation_errors", "evaluate", "write_figures", "rollout_batches"]


def rollout_batches(
    model, data: _Targets, pairs: np.ndarray, cfg, steps: int, precision: str, device, seed: int = 0
):
    """Yield ``(pairs, u0, pred, true)`` per batch, denormalised, ``pred``/``true`` ``[B, T, C, H, W]``.

    The rollouts are :func:`spinlock_core.mno.loop.rollout`'s; a backbone with noise inputs
    draws each trajectory's noise from its own generator (stream ``mno.val_noise``), so every
    epoch's validation sees the same noise.
    """
    import torch

    mean = torch.as_tensor(data.mean, dtype=torch.float32, device=device)[None, None, :, None, None]
    std = torch.as_tensor(data.std, dtype=torch.float32, device=device)[None, None, :, None, None]
    autocast = autocast_for(precision, device)
    for start in range(0, len(pairs), cfg.batch_size):
        chunk = pairs[start : start + cfg.batch_size]
        u0, targets, theta = data.batch(chunk, steps)
        keys = chunk[:, 0] * data.realizations + chunk[:, 1]
        noise = noise_source(model, u0, seed, keys, "mno.val_noise")
        pred = rollout(model, u0, theta, steps, history=cfg.history, noise=noise, autocast=autocast)
        yield chunk, u0[:, None] * std + mean, pred * std + mean, targets * std + mean


def validation_errors(model, data, pairs, cfg, steps, precision, device, seed: int = 0) -> dict:
    """The per-epoch validation figures: rollout relative L2 (mean, final step) and persistence's."""
    import torch

    model.eval()
    err, base = [], []
    for _, u0, pred, true in rollout_batches(model, data, pairs, cfg, steps, precision, device, seed):
        err.append(rel_l2(pred, true))
        base.append(rel_l2(u0.expand_as(true), true))
    err, base = torch.cat(err).mean(0), torch.cat(base).mean(0)
    return {
        "val_rel_l2": float(err.mean()),
        "val_rel_l2_final": float(err[-1]),
        "persistence_rel_l2": float(base.mean()),
    }


def evaluate(model, data, pairs, cfg, steps, precision, device, seed: int = 0) -> dict:
    """Errors per horizon step for the model and the baselines, and their means (``summary``)."""
    import torch

    model.eval()
    keys = ("rel_l2", "vrmse", "persistence", "zero", "persistence_vrmse", "zero_rel_l2", "mean_field_rel_l2")
    curves: dict[str, list] = {k: [] for k in (*keys, "mean_field_vrmse")}
    by_sample: dict[int, list] = {}
    for chunk, u0, pred, true in rollout_batches(model, data, pairs, cfg, steps, precision, device, seed):
        errors = rollout_errors(pred, true, u0)
        errors["persistence"], errors["zero"] = errors["persistence_rel_l2"], errors["zero_vrmse"]
        for key in curves:
            curves[key].append(errors[key])
        pred_host, true_host = pred.cpu(), true.cpu()  # one copy per batch, not one per row
        for row, (sample, _) in enumerate(chunk):
            by_sample.setdefault(int(sample), []).append((pred_host[row], true_host[row]))
    per_step = {k: torch.cat(v).mean(0).cpu().numpy() for k, v in curves.items()}
    summary = {
        "rel_l2": float(per_step["rel_l2"].mean()),
        "rel_l2_final": float(per_step["rel_l2"][-1]),
        "vrmse": float(per_step["vrmse"].mean()),
        "persistence_rel_l2": float(per_step["persistence"].mean()),
        "persistence_vrmse": float(per_step["persistence_vrmse"].mean()),
        "zero_vrmse": float(per_step["zero"].mean()),
        "zero_rel_l2": float(per_step["zero_rel_l2"].mean()),
        "mean_field_rel_l2": float(per_step["mean_field_rel_l2"].mean()),
        "mean_field_vrmse": float(per_step["mean_field_vrmse"].mean()),
        "trajectories": len(pairs),
    }
    summary["verdict"] = list(summary_verdict(summary))
    if data.realizations > 1:
        summary |= _distributional(by_sample)
    return {"summary": summary, "per_step": {k: v.tolist() for k, v in per_step.items()}, "horizon": steps}


def _distributional(by_sample: dict) -> dict:
    """Error floor of a deterministic model on a stochastic family, and the model vs the mean."""
    import torch

    spread, to_mean = [], []
    for runs in by_sample.values():
        if len(runs) < 2:
            continue
        truths = torch.stack([t for _, t in runs])  # [M, T, C, H, W]
        mean = truths.mean(0, keepdim=True)
        spread.append(rel_l2(truths, mean.expand_as(truths)).mean())
        to_mean.append(rel_l2(runs[0][0][None], mean).mean())
    if not spread:
        return {}
    return {
        "truth_spread": float(torch.stack(spread).mean()),
        "mean_rel_l2": float(torch.stack(to_mean).mean()),
    }


def write_figures(
    model, data, pairs, cfg, steps, precision, device, folder, history, evaluation=None, seed: int = 0
) -> list:
    """PNGs: training curves, error vs horizon, and predicted-vs-true rollouts of a few trajectories."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if history:
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
        epochs = [h["epoch"] for h in history]
        ax[0].plot(epochs, [h.get("train_loss") for h in history], marker="o", label="train loss")
        ax[0].set(xlabel="epoch", ylabel="loss", yscale="log", title="training loss")
        ax[1].plot(epochs, [h["val_rel_l2"] for h in history], marker="o", label="MNO")
        ax[1].plot(epochs, [h["persistence_rel_l2"] for h in history], ls="--", label="persistence")
        ax[1].set(xlabel="epoch", ylabel="rel. L2", title="validation rollout error")
        ax[1].legend()
        fig.tight_layout()
        fig.savefig(folder / "training_curves.png", dpi=110)
        plt.close(fig)
        written.append(folder / "training_curves.png")
    if evaluation is not None:
        per_step = evaluation["per_step"]
        plot_error_vs_horizon(
            folder / "error_vs_horizon.png",
            per_step["rel_l2"],
            per_step["persistence"],
            per_step["vrmse"],
            per_step["persistence_vrmse"],
            zero_vrmse=per_step["zero"],
        )
        written.append(folder / "error_vs_horizon.png")
    shown = pairs[: cfg.eval_figures]
    if not len(shown):
        _write_captions(folder, written)
        return written
    chunk, u0, pred, true = next(rollout_batches(model, data, shown, cfg, steps, precision, device, seed))
    times = np.unique(np.linspace(0, steps - 1, min(5, steps)).round().astype(int))
    for row, (sample, realization) in enumerate(chunk):
        t_true, t_pred = true[row, :, 0].cpu().numpy(), pred[row, :, 0].cpu().numpy()
        fig = rollout_figure(
            t_true, t_pred, times, f"sample {int(sample)}, realization {int(realization)} (channel 0)"
        )
        path = folder / f"rollout_{int(sample)}_{int(realization)}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    _write_captions(folder, written)
    return written


def rollout_figure(t_true: np.ndarray, t_pred: np.ndarray, times, title: str):
    """Rows true, MNO and |error| of one trajectory ``[T, H, W]`` at ``times``, each row with a
    colour bar (true and MNO share the value scale, |error| has its own, from 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        3, len(times), figsize=(2.3 * len(times) + 1.0, 6.6), squeeze=False, layout="constrained"
    )
    lo, hi = np.nanpercentile(t_true, [1, 99])
    err = np.abs(t_pred - t_true)
    rows = (
        (t_true, "viridis", lo, hi, "true", "value"),
        (t_pred, "viridis", lo, hi, "MNO", "value"),
        (err, "magma", 0, max(1e-12, float(np.nanmax(err))), "|error|", "|MNO - true|"),
    )
    for r_, (frames, cmap, vmin, vmax, label, bar) in enumerate(rows):
        for col, t in enumerate(times):
            axis = axes[r_, col]
            image = axis.imshow(frames[t], cmap=cmap, vmin=vmin, vmax=vmax)
            axis.set_xticks([])
            axis.set_yticks([])
            if r_ == 0:
                axis.set_title(f"step {t + 1}")
            if col == 0:
                axis.set_ylabel(label)
        fig.colorbar(image, ax=list(axes[r_]), label=bar, fraction=0.03, pad=0.02)
    fig.suptitle(title)
    return fig


def _write_captions(folder: Path, written: list[Path]) -> None:
    """Captions of the figures written, for the run report."""
    known = {
        "training_curves.png": "MNO training loss and validation rollout error per epoch; dashed: "
        "persistence (u(t) = u0).",
        "error_vs_horizon.png": "Validation rollout error against the horizon: relative L2 and VRMSE, "
        "with the persistence and zero baselines.",
    }
    captions = {}
    for path in written:
        if path.name in known:
            captions[path.name] = known[path.name]
        elif path.name.startswith("rollout_"):
            sample, realization = path.stem.split("_")[1:3]
            captions[path.name] = (
                f"Validation sample {sample}, realization {realization}: true, MNO and |error| at "
                "evenly spaced steps (channel 0, one colour scale per row pair)."
            )
    write_captions(folder, captions)
