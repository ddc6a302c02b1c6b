"""Dashboards of a fitted tokenizer: six PNGs, each from saved artifacts only.

Every panel is computed from the tokenizer's own metrics, codebooks and category map (no
estimates, no synthetic panels). Codebooks of different categories live in different latent
spaces, so the 2-D embedding is one PCA *per category* (levels share their category's space).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from spinlock_core.api import write_captions

from .preprocessing import MISSING_SUFFIX, family_of

__all__ = ["write_dashboards", "top_features"]

LEVEL_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def _final(tok) -> dict:
    final = tok.metrics.get("final")
    if final:
        return final
    last = tok.metrics["history"][-1]
    return {k[4:]: v for k, v in last.items() if k.startswith("val_")}


def _family(col: str) -> str:
    return family_of(col.removesuffix(MISSING_SUFFIX)) or "other"


def _family_colors(families) -> dict[str, str]:
    cmap = plt.get_cmap("tab10")
    return {f: cmap(i % 10) for i, f in enumerate(sorted(set(families)))}


def _training_curves(tok, path: Path) -> None:
    hist = tok.metrics["history"]
    ep = [h["epoch"] for h in hist]
    best = tok.metrics.get("best_epoch", -1)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0, 0]
    ax.semilogy(ep, [h["train_loss"] for h in hist], label="train total loss")
    ax.semilogy(ep, [h["train_mse"] for h in hist], label="train MSE")
    ax.semilogy(ep, [h["val_mse"] for h in hist], label="validation MSE (from tokens)")
    ax.semilogy(ep, [max(h["val_commit"], 1e-12) for h in hist], label="validation commitment", ls=":")
    ax.set(title="Losses (scaled features)", xlabel="epoch", ylabel="value (log)")
    ax = axes[0, 1]
    levels = len(hist[-1]["val_quality_by_level"])
    for lvl in range(levels):
        vals = [h["val_quality_by_level"][lvl] for h in hist]
        ax.plot(ep, vals, color=LEVEL_COLORS[lvl % 6], label=f"levels 0..{lvl}")
    ax.set(title="Validation 1 - MSE, by decoded levels", xlabel="epoch", ylabel="1 - MSE (unclamped)")
    lo = min(h["val_quality_by_level"][0] for h in hist[len(hist) // 4 :])
    ax.set_ylim(min(lo - 0.02, 0.9), 1.0)  # below 0 when the MSE exceeds 1: shown, not cut off
    ax = axes[1, 0]
    ax.plot(ep, [h["val_utilization_mean"] for h in hist], label="utilization (mean over codebooks)")
    ax.plot(ep, [h["val_utilization_weighted"] for h in hist], label="utilization (weighted by K)", ls="--")
    ax.plot(ep, [h["val_topographic"] for h in hist], label="topographic similarity")
    ax.set(title="Validation codebook use and topography", xlabel="epoch", ylim=(0, 1.05))
    ax = axes[1, 1]
    ax.bar(ep, [h["restarts"] for h in hist], color="grey", label="codes restarted this epoch")
    ax.plot(ep, [h["val_dead_codes"] for h in hist], color="black", label="codes unused on validation")
    ax.set(title="Dead codes and restarts", xlabel="epoch", ylabel="count")
    for ax in axes.flat:
        if best >= 0:
            ax.axvline(best, color="red", lw=0.8, ls="--", label=f"best epoch {best}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("categorical_vqvae training", fontsize=13)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _utilization(tok, path: Path) -> None:
    final = _final(tok)
    util = np.asarray(final["utilization"])
    sizes = np.asarray(tok.codebook_sizes)
    perp = np.asarray(final["perplexity"])
    names = list(tok.category_map)
    fig, ax = plt.subplots(figsize=(2.2 + 1.6 * util.shape[1], 1.2 + 0.45 * len(names)))
    im = ax.imshow(util, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i in range(util.shape[0]):
        for j in range(util.shape[1]):
            used = round(util[i, j] * sizes[i, j])
            color = "black" if util[i, j] > 0.6 else "white"
            ax.text(
                j,
                i,
                f"{used}/{sizes[i, j]}\nppl {perp[i, j]:.1f}",
                ha="center",
                va="center",
                fontsize=8,
                color=color,
            )
    ax.set_xticks(range(util.shape[1]), [f"L{j}" for j in range(util.shape[1])])
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.set_title(f"Validation utilization (used/K), mean {final['utilization_mean']:.1%}", fontsize=10)
    fig.colorbar(im, ax=ax, label="utilization")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _reconstruction(tok, path: Path) -> None:
    final = _final(tok)
    r2 = np.asarray(final["r2_by_level"])
    names = list(tok.category_map)
    y = np.arange(len(names))
    h = 0.8 / r2.shape[1]
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.5 * len(names)))
    for lvl in range(r2.shape[1]):
        ax.barh(y + lvl * h, r2[:, lvl], height=h, color=LEVEL_COLORS[lvl % 6], label=f"levels 0..{lvl}")
    for i, v in enumerate(r2[:, -1]):
        ax.text(max(v, 0) + 0.005, y[i] + (r2.shape[1] - 1) * h, f"{v:.3f}", va="center", fontsize=8)
    ax.set_yticks(y + 0.4 - h / 2, names)
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, float(np.nanmin(r2))), 1.08)
    ax.set(xlabel="validation R^2 of the category's columns (decoded from tokens)")
    ax.set_title(f"Per-category reconstruction; overall quality {final['quality']:.4f}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _codebooks(tok, path: Path) -> None:
    quantizers = tok.model.quantizers
    names = list(tok.category_map)
    n = len(names)
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for i, (vq, ax) in enumerate(zip(quantizers, axes.flat, strict=False)):
        codes = [cb.embedding.detach().cpu().double().numpy() for cb in vq.levels]
        allc = np.concatenate(codes)
        mean = codes[0].mean(0)
        _, _, vt = np.linalg.svd(codes[0] - mean, full_matrices=False)
        basis = vt[:2].T if vt.shape[0] >= 2 else np.eye(allc.shape[1])[:, :2]
        for lvl, (c, cb) in enumerate(zip(codes, vq.levels, strict=True)):
            p = (c - (mean if lvl == 0 else 0)) @ basis
            size = cb.cluster_size.detach().cpu().numpy()
            size = 8 + 60 * size / max(size.max(), 1e-9)
            ax.scatter(p[:, 0], p[:, 1], s=size, alpha=0.7, color=LEVEL_COLORS[lvl % 6], label=f"L{lvl}")
        ax.set_title(names[i], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(
        "Codebooks in each category's latent space (PCA of L0 codes; L1+ are residual offsets; size = EMA usage)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Columns named per category in the feature -> category map.
TOP_FEATURES = 8


def top_features(tok) -> dict[str, list[tuple[str, float]]]:
    """Category -> its columns with their weight in the category's encoder, strongest first
    (:meth:`CategoricalVQVAE.column_weights`: the norm of each column's first-layer weights; the
    columns are robust-scaled, so the norms compare): how strongly the column drives the
    category's latent, hence its tokens."""
    names = list(tok.preprocessor.output_columns)
    out = {}
    for i, category in enumerate(tok.category_map):
        columns = [names[j] for j in tok.model.group(i).tolist()]
        ranked = zip(columns, tok.column_weights(i).tolist(), strict=True)
        out[category] = sorted(ranked, key=lambda cw: -cw[1])
    return out


def _feature_category(tok, path: Path) -> None:
    ranked = top_features(tok)
    fams = _family_colors(_family(c) for cols in ranked.values() for c, _ in cols)
    n_cols = min(3, len(ranked))
    n_rows = -(-len(ranked) // n_cols)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(5.2 * n_cols, 0.2 * TOP_FEATURES * n_rows + 0.6 * n_rows + 0.8),
        squeeze=False,
    )
    for ax, (category, columns) in zip(axes.flat, ranked.items(), strict=False):
        top = columns[:TOP_FEATURES]
        peak = max((w for _, w in top), default=1.0) or 1.0
        ax.barh(range(len(top)), [w / peak for _, w in top], color=[fams[_family(c)] for c, _ in top])
        ax.set_yticks(range(len(top)), [c.split("/", 1)[-1] for c, _ in top], fontsize=8)
        ax.set_ylim(TOP_FEATURES - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.tick_params(axis="x", labelsize=7)
        more = f", top {len(top)}" if len(columns) > len(top) else ""
        ax.set_title(f"{category} ({len(columns)} columns{more})", fontsize=9)
    for ax in list(axes.flat)[len(ranked) :]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, marker="s", ls="", label=f) for f, c in fams.items()]
    fig.legend(handles=handles, title="family", fontsize=8, loc="upper right")
    fig.suptitle(
        "Feature -> category map: each category's columns by their weight in its encoder "
        "(relative to its strongest; colour = family)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 0.9, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _category_sizes(tok, path: Path) -> None:
    cmap = tok.category_map
    names = list(cmap)
    counts = [Counter(_family(c) for c in cols) for cols in cmap.values()]
    fams = _family_colors(f for cnt in counts for f in cnt)
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.45 * len(names)))
    left = np.zeros(len(names))
    for fam, color in fams.items():
        vals = np.array([cnt.get(fam, 0) for cnt in counts])
        ax.barh(names, vals, left=left, color=color, label=fam)
        left += vals
    for i, total in enumerate(left):
        ax.text(total + 0.1, i, str(int(total)), va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="columns", title=f"Category sizes by family ({int(left.sum())} columns)")
    ax.legend(fontsize=8, title="family")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_dashboards(tokenizer, out_dir) -> list[Path]:
    """Write the six dashboard PNGs of a fitted tokenizer into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    panels = {
        "training_curves.png": _training_curves,
        "utilization.png": _utilization,
        "reconstruction.png": _reconstruction,
        "codebooks_pca.png": _codebooks,
        "feature_category.png": _feature_category,
        "category_sizes.png": _category_sizes,
    }
    paths = []
    for name, draw in panels.items():
        draw(tokenizer, out / name)
        paths.append(out / name)
    write_captions(out, CAPTIONS)  # what `spinlock report` shows under each
    return paths


#: What each dashboard shows, for the run report.
CAPTIONS = {
    "training_curves.png": "Tokenizer training: losses, validation 1 - MSE by decoded levels, "
    "codebook use and topographic similarity, dead codes and restarts per epoch.",
    "utilization.png": "Share of each codebook (category x level) used on the validation rows.",
    "reconstruction.png": "Validation reconstruction per category (R² of its columns) by decoded levels.",
    "codebooks_pca.png": "The codebooks in 2-D (PCA of each category's code vectors), coarse to fine levels.",
    "feature_category.png": "Each discovered category's strongest columns: their weight in the category's "
    f"encoder (norm of its first-layer weights), relative to its strongest; at most {TOP_FEATURES} per "
    "category (colour: family).",
    "category_sizes.png": "Columns per discovered category, by feature family.",
}
