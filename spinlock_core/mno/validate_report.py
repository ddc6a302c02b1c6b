"""The ``validate`` stage's report: ``report.md`` and its PNG figures (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .horizon_plot import plot_error_vs_horizon

__all__ = ["write_figures", "write_markdown"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _codebooks(report: dict, path: Path) -> Path | None:
    books = report["tokenizer"]["codebooks"]
    if not books:
        return None
    plt = _plt()
    x = np.arange(len(books))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(books) + 2), 3.6))
    ax.bar(x - 0.2, [b["jsd_bits"] for b in books], width=0.4, label="JSD of token histograms (bits)")
    ax.bar(x + 0.2, [b["agreement"] for b in books], width=0.4, label="paired agreement")
    ax.set_xticks(x, [b["name"] for b in books], rotation=60, ha="right", fontsize=7)
    ax.set(ylim=(0, 1.05), title="token usage: MNO vs ground truth, per codebook")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _distributions(worst: list[dict], values: dict, path: Path) -> Path | None:
    if not worst:
        return None
    plt = _plt()
    cols = min(3, len(worst))
    rows = -(-len(worst) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax, row in zip(axes.flat, worst, strict=False):
        truth, model = values[row["name"]]
        truth, model = truth[np.isfinite(truth)], model[np.isfinite(model)]
        both = np.concatenate([truth, model])
        bins = np.histogram_bin_edges(both, bins=min(20, max(5, both.size // 2))) if both.size else 10
        ax.hist(truth, bins=bins, alpha=0.55, density=True, label="ground truth")
        ax.hist(model, bins=bins, alpha=0.55, density=True, label="MNO")
        ax.set_title(f"{row['name']}\nKS {row['ks']:.2f}, W1/σ {row['wasserstein_scaled']:.2g}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(worst) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("features whose distributions differ most (by KS)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _horizon(report: dict, path: Path) -> Path | None:
    per_step = report["rollout"]["per_step"]
    if not per_step.get("rel_l2"):
        return None
    return plot_error_vs_horizon(
        path,
        per_step["rel_l2"],
        per_step["persistence_rel_l2"],
        per_step["vrmse"],
        per_step["persistence_vrmse"],
        title="fresh θ, same (θ, u0) for the MNO and the operator",
    )


def _frames(truth: np.ndarray, model: np.ndarray, samples: list[int], path: Path) -> Path | None:
    """``truth``/``model``: ``[S, T, H, W]`` (channel 0, realization 0) of the shown samples."""
    if not len(truth):
        return None
    plt = _plt()
    steps = truth.shape[1]
    times = np.unique(np.linspace(0, steps - 1, min(5, steps)).round().astype(int))
    rows = 3 * len(truth)
    fig, axes = plt.subplots(rows, len(times), figsize=(2.1 * len(times), 2.0 * rows), squeeze=False)
    for s, sample in enumerate(samples):
        t_true, t_model = truth[s], model[s]
        finite = t_true[np.isfinite(t_true)]
        lo, hi = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        err = np.abs(t_model - t_true)
        top = float(np.nanmax(err)) if np.isfinite(err).any() else 1.0
        for col, t in enumerate(times):
            for r, (img, cmap, vmin, vmax, label) in enumerate(
                (
                    (t_true[t], "viridis", lo, hi, "truth"),
                    (t_model[t], "viridis", lo, hi, "MNO"),
                    (err[t], "magma", 0.0, max(top, 1e-12), "|error|"),
                )
            ):
                ax = axes[3 * s + r, col]
                ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax)
                ax.set_xticks([])
                ax.set_yticks([])
                if s == 0 and r == 0:
                    ax.set_title(f"state {t}", fontsize=8)
                if col == 0:
                    ax.set_ylabel(f"#{sample} {label}", fontsize=7)
    fig.suptitle("predicted vs true (channel 0, realization 0)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_figures(folder: Path, report: dict, worst: list[dict], values: dict, frames: dict) -> list[str]:
    """Write the PNGs; returns their names (relative to ``folder``)."""
    made = [
        _codebooks(report, folder / "jsd_per_codebook.png"),
        _distributions(worst, values, folder / "feature_distributions.png"),
        _horizon(report, folder / "error_vs_horizon.png"),
        _frames(frames["truth"], frames["model"], frames["samples"], folder / "frames.png"),
    ]
    return [p.name for p in made if p is not None]


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def write_markdown(path: Path, report: dict) -> None:
    cfg, samples, roll = report["setup"], report["samples"], report["rollout"]["summary"]
    tok, feats = report["tokenizer"], report["features"]
    size = f" ({cfg['preset']})" if cfg.get("preset") else ""  # the backbone's size preset, if it has one
    lines = [
        "# MNO validation on fresh θ",
        "",
        f"Backbone `{cfg['backbone']}`{size}, checkpoint `{cfg['checkpoint']}`; "
        f"{samples['requested']} fresh θ (Sobol, seed {cfg['validate_seed']}), "
        f"{cfg['realizations']} realization(s), horizon {cfg['horizon']} stored steps "
        f"(trained on {cfg['trained_horizon']}). Ground truth ok: {samples['truth_ok']}, "
        f"MNO rollouts diverged: {samples['model_diverged']} of {samples['trajectories']}.",
        "",
        "## Rollout error (physical units)",
        "",
        "| | MNO | persistence | zero | mean of u0 |",
        "|---|---|---|---|---|",
        f"| relative L2 (mean over horizon) | {_fmt(roll['rel_l2'])} | {_fmt(roll['persistence_rel_l2'])} | "
        f"{_fmt(roll.get('zero_rel_l2'))} | {_fmt(roll.get('mean_field_rel_l2'))} |",
        f"| relative L2 (final step) | {_fmt(roll['rel_l2_final'])} | {_fmt(roll['persistence_rel_l2_final'])} | | |",
        f"| VRMSE (mean over horizon) | {_fmt(roll['vrmse'])} | {_fmt(roll['persistence_vrmse'])} | "
        f"{_fmt(roll.get('zero_vrmse'))} | {_fmt(roll.get('mean_field_vrmse'))} |",
        "",
        f"**Verdict ({(roll.get('verdict') or ['unknown'])[0]}).** "
        + ((roll.get("verdict") or [None, "no baseline to compare with."])[1]),
        "",
        "These errors are measured on θ the MNO never saw, over the whole stored horizon; the `mno` "
        "stage's validation rel. L2 is measured on its held-out split of the training dataset's θ, "
        "over the trained horizon, so the two figures need not agree.",
        "",
        f"## Tokenizer `{tok['name']}`",
        "",
        "Reconstruction MSE in the tokenizer's scaled feature space (explained variance in brackets):",
        "",
        "| features of | reconstruction MSE |",
        "|---|---|",
    ]
    for key, label in (
        ("truth", "ground truth"),
        ("model", "MNO"),
        ("model_vs_truth", "MNO tokens decoded vs ground-truth features"),
    ):
        rec = tok["reconstruction"][key]
        lines.append(f"| {label} | {_fmt(rec['mse'])} ({_fmt(rec['explained_variance'], 3)}) |")
    lines += [
        "",
        f"Token usage: mean JSD {_fmt(tok['mean_jsd_bits'])} bits (0 = same histogram, 1 = disjoint), "
        f"mean paired agreement {_fmt(tok['mean_agreement'])}.",
        "",
        "| codebook | codes | JSD (bits) | agreement | used (truth / MNO) |",
        "|---|---|---|---|---|",
    ]
    for b in tok["codebooks"]:
        lines.append(
            f"| {b['name']} | {b['size']} | {_fmt(b['jsd_bits'], 3)} | {_fmt(b['agreement'], 3)} | "
            f"{b['codes_used_truth']} / {b['codes_used_model']} |"
        )
    lines += [
        "",
        "## Feature distributions",
        "",
        f"{len(feats['columns'])} columns compared (two-sample KS statistic, Wasserstein-1 raw and "
        f"divided by the ground truth's std); mean KS {_fmt(feats['mean_ks'])}."
        + (
            f" Families of θ and u0 alone, identical by construction, are not compared: "
            f"{', '.join(feats['skipped_families'])}."
            if feats["skipped_families"]
            else ""
        ),
        "",
        "| feature | KS | p-value | W1 | W1/σ |",
        "|---|---|---|---|---|",
    ]
    for row in feats["worst"]:
        lines.append(
            f"| {row['name']} | {_fmt(row['ks'], 3)} | {_fmt(row['ks_pvalue'], 3)} | "
            f"{_fmt(row['wasserstein'], 3)} | {_fmt(row['wasserstein_scaled'], 3)} |"
        )
    lines += ["", "## Figures", ""]
    for name in report["figures"]:
        lines += [f"![{FIGURE_CAPTIONS.get(name, name)}]({name})", ""]
    path.write_text("\n".join(lines) + "\n")


#: Alt text of the report's figures (the run report shows it as the caption).
FIGURE_CAPTIONS = {
    "jsd_per_codebook.png": "Token usage per codebook, MNO rollouts against the operator on the same fresh θ: "
    "Jensen-Shannon divergence (bits) and per-sample token agreement.",
    "feature_distributions.png": "The features whose distributions differ most (by KS) between the MNO's "
    "rollouts and the operator's.",
    "error_vs_horizon.png": "Fresh θ, same (θ, u0) for the MNO and the operator: relative L2 and VRMSE "
    "against the horizon, beside persistence.",
    "frames.png": "Predicted against true states on fresh θ (channel 0, realization 0), with |error|.",
}
