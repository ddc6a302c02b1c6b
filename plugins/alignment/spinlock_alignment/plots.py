"""The report's figures, each from a :class:`~spinlock_alignment.compare.Comparison` alone.

* ``scores_vs_null.png`` – one histogram of null draws per score, the observed value as a line;
* ``category_correspondence.png`` – A-category x B-category heatmaps: level-0 token NMI, share of
  A's level-0 codes matched into each B category, and overlap of their shared columns;
* ``code_distances_L0.png`` – distances between every pair of level-0 prototypes, codes grouped
  by category, the Hungarian matching marked;
* ``prototype_profiles.png`` – the best-matched level-0 prototype pairs over the shared columns
  that distinguish them most.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.spatial.distance import cdist

__all__ = ["write_figures"]

A_COLOR, B_COLOR = "#1f77b4", "#d62728"


def _short(column: str, width: int = 28) -> str:
    name = column.split("/", 1)[-1]
    return name if len(name) <= width else name[: width - 1] + "…"


def _verdict_color(score) -> str:
    if score.alternative == "two-sided":
        return "#555555"
    return "#2ca02c" if score.p_value < 0.05 else "#ff7f0e"


def scores_vs_null(comparison, path: Path) -> Path:
    scores = comparison.scores
    cols = 3
    rows = math.ceil(len(scores) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    for ax, s in zip(axes.flat, scores, strict=False):
        draws = np.asarray([x for x in s.null_draws if np.isfinite(x)])
        if draws.size:
            ax.hist(draws, bins=min(30, max(8, draws.size // 6)), color="#bbbbbb", edgecolor="#888888")
        if np.isfinite(s.value):
            ax.axvline(s.value, color=_verdict_color(s), lw=2.5, label=f"observed {s.value:.3g}")
        lo = min([s.value, *draws]) if draws.size else s.value
        hi = max([s.value, *draws]) if draws.size else s.value
        if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
            pad = 0.06 * (hi - lo)
            ax.set_xlim(lo - pad, hi + pad)
        better = {"greater": "higher is better", "less": "lower is better", "two-sided": "descriptive"}
        ax.set_title(f"{s.name}\nz = {s.z:.2f}, p = {s.p_value:.3g}  ({better[s.alternative]})", fontsize=10)
        ax.set_xlabel(s.unit or "value")
        ax.set_ylabel("null draws")
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    for ax in list(axes.flat)[len(scores) :]:
        ax.axis("off")
    n = len(scores[0].null_draws) if scores else 0
    fig.suptitle(
        f"Scores vs their nulls ({n} draws each; observed value green: p < 0.05 on the better side, "
        f"orange: not, grey: descriptive)\nprototype null: {scores[0].null};  probe null: {scores[-1].null}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heatmap(ax, fig, matrix, rows, cols, title, vmax=None):
    m = np.ma.masked_invalid(np.asarray(matrix, dtype=float))
    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    im = ax.imshow(
        m, cmap=cmap, vmin=0, vmax=vmax if vmax is not None else max(1e-9, float(m.max() or 1)), aspect="auto"
    )
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("B categories")
    ax.set_ylabel("A categories")
    ax.set_title(title, fontsize=10)
    if len(rows) * len(cols) <= 144:
        for i in range(len(rows)):
            for j in range(len(cols)):
                if not np.ma.is_masked(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)


def category_correspondence(comparison, path: Path) -> Path:
    from .report import category_label

    a = [category_label(comparison.a.view, i) for i in range(len(comparison.a.view.categories))]
    b = [category_label(comparison.b.view, j) for j in range(len(comparison.b.view.categories))]
    titles = {
        "token NMI": "level-0 token NMI on the probes\n(grey: category reads no fed column)",
        "prototype matches": "share of A's L0 codes matched\ninto each B category",
        "column overlap": "overlap (Jaccard) of the categories'\nshared columns",
    }
    width = max(5.5, 0.36 * len(b) + 3.2)
    height = max(4.5, 0.36 * len(a) + 3.0)
    fig, axes = plt.subplots(1, 3, figsize=(3 * width, height))
    for ax, (key, title) in zip(axes, titles.items(), strict=True):
        _heatmap(ax, fig, comparison.correspondence[key], a, b, title, vmax=1.0)
    fig.suptitle(
        f"Category correspondence: {comparison.a.label} (rows) vs {comparison.b.label} (columns)", fontsize=12
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def code_distances(comparison, path: Path) -> Path:
    level0 = comparison.prototypes[0]
    fig, ax = plt.subplots(figsize=(9, 8))
    if len(level0.codes_a) and len(level0.codes_b):
        d = cdist(level0.pa, level0.pb) / np.sqrt(max(1, level0.pa.shape[1]))
        vmax = float(np.percentile(d, 98))  # a few outlying codes must not wash out the rest
        im = ax.imshow(d, cmap="magma_r", aspect="auto", interpolation="nearest", vmax=vmax)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, extend="max", label="RMS distance (z)")
        pairs = level0.matching()
        ia = {c: i for i, c in enumerate(level0.codes_a)}
        ib = {c: j for j, c in enumerate(level0.codes_b)}
        ax.scatter(
            [ib[cb] for _, cb, _ in pairs], [ia[ca] for ca, _, _ in pairs], s=8, c="#00d0ff", label="matched"
        )
        for codes, line, ticks in (
            (level0.codes_a, ax.axhline, ax.set_yticks),
            (level0.codes_b, ax.axvline, ax.set_xticks),
        ):
            cats = [c.category for c in codes]
            starts = [i for i in range(len(cats)) if i == 0 or cats[i] != cats[i - 1]]
            for s in starts[1:]:
                line(s - 0.5, color="white", lw=0.8)
            centres = [
                (s + (starts[k + 1] if k + 1 < len(starts) else len(cats))) / 2 - 0.5
                for k, s in enumerate(starts)
            ]
            ticks(centres, [cats[s] for s in starts], fontsize=7)
        plt.setp(ax.get_xticklabels(), rotation=60, ha="right")
        ax.legend(loc="upper right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no comparable level-0 codes", ha="center", va="center")
    ax.set(xlabel="B level-0 codes (by category)", ylabel="A level-0 codes (by category)")
    ax.set_title(
        f"Level-0 prototype distances over {len(comparison.columns.shared)} shared columns", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def prototype_profiles(comparison, path: Path, n: int) -> Path:
    level0 = comparison.prototypes[0]
    pairs = sorted(level0.matching(), key=lambda p: p[2])
    chosen, seen = [], set()
    for ca, cb, cost in pairs:  # best pair of each A category first, then the next best ones
        if ca.category not in seen:
            chosen.append((ca, cb, cost))
            seen.add(ca.category)
    chosen += [p for p in pairs if p not in chosen]
    chosen = chosen[:n]
    shared = comparison.columns.shared
    ia = {c: i for i, c in enumerate(level0.codes_a)}
    ib = {c: j for j, c in enumerate(level0.codes_b)}
    bg_a, bg_b = np.median(level0.pa, axis=0), np.median(level0.pb, axis=0)
    cols = 2
    rows = max(1, math.ceil(len(chosen) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(8 * cols, 3.8 * rows), squeeze=False)
    for ax, (ca, cb, cost) in zip(axes.flat, chosen, strict=False):
        pa, pb = level0.pa[ia[ca]], level0.pb[ib[cb]]
        spread = np.abs(pa - bg_a) + np.abs(pb - bg_b)
        top = np.sort(np.argsort(-spread)[: min(16, len(shared))])
        x = np.arange(len(top))
        ax.axhline(0, color="#999999", lw=0.8)
        ax.plot(x, pa[top], "o-", color=A_COLOR, label=f"A {ca.label}")
        ax.plot(x, pb[top], "s--", color=B_COLOR, label=f"B {cb.label}")
        ax.set_xticks(x, [_short(shared[j]) for j in top], rotation=55, ha="right", fontsize=7)
        ax.set_ylabel("prototype (z)")
        ax.set_title(f"RMS distance {cost:.3g} (z over all {len(shared)} shared columns)", fontsize=9)
        ax.legend(fontsize=8, loc="best")
    for ax in list(axes.flat)[len(chosen) :]:
        ax.axis("off")
    fig.suptitle(
        "Matched level-0 prototypes (best pair per A category); columns where they depart most from their codebooks' median",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_figures(comparison, out_dir: Path, profiles: int) -> list[Path]:
    """Write every figure into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    return [
        scores_vs_null(comparison, out_dir / "scores_vs_null.png"),
        category_correspondence(comparison, out_dir / "category_correspondence.png"),
        code_distances(comparison, out_dir / "code_distances_L0.png"),
        prototype_profiles(comparison, out_dir / "prototype_profiles.png", profiles),
    ]
