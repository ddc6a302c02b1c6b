"""The report's features section: each family's table health and a selection of distributions.

A selection, because families have hundreds of columns: up to :data:`MAX_COLUMNS` columns per
family, evenly spaced over the family's own column order among those that vary (the order
groups related columns, so even spacing shows each group). Constant and all-NaN columns are
counted, never plotted; NaN counts are shown on each panel (NaN is never replaced by 0).
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from ..feature_health import MOSTLY, column_health, mostly_nan, problems
from .cells import fmt
from .model import Figure, RunArtefacts, Section, Table, Text
from .plotting import grid_shape, subplots, to_png

__all__ = ["features_section"]

KEY, TITLE, ORDER = "features", "Feature distributions", 20
MAX_COLUMNS = 12
MAX_CURVES = 6


def _pick(varying: list[int], limit: int) -> list[int]:
    if len(varying) <= limit:
        return varying
    return [varying[int(round(i))] for i in np.linspace(0, len(varying) - 1, limit)]


def _histograms(family: str, table: np.ndarray, names: list[str], picks: list[int]) -> Figure:
    rows, cols = grid_shape(len(picks))
    fig, axes = subplots(rows, cols, panel=(2.6, 1.5), gaps=(0.4, 0.5), margins=(0.4, 0.2, 0.35, 0.6))
    for ax in axes.flat[len(picks) :]:
        ax.axis("off")
    for ax, j in zip(axes.flat, picks, strict=False):
        column = table[:, j].astype(np.float64)
        finite = column[np.isfinite(column)]
        ax.hist(finite, bins=min(30, max(5, len(finite) // 3)), color="tab:green")
        nan = len(column) - len(finite)
        ax.set_title(names[j] + (f"  ({nan} NaN)" if nan else ""), fontsize=8)
        ax.set_yticks([])  # counts: the shape matters, and fewer ticks draw faster
        ax.locator_params(axis="x", nbins=4)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{family}: {len(picks)} of {len(names)} columns, {table.shape[0]} samples", fontsize=10)
    return Figure(png=to_png(fig), caption=f"`{family}`: distributions over samples of the selected columns.")


def _curves(family: str, table: np.ndarray, names: list[str], picks: list[int]) -> Figure:
    """Per-timestep families: median over samples and the 10-90 % band, against the time index."""
    rows, cols = grid_shape(len(picks), max_cols=3)
    fig, axes = subplots(rows, cols, panel=(3.0, 1.5), gaps=(0.5, 0.5), margins=(0.5, 0.2, 0.35, 0.6))
    for ax in axes.flat[len(picks) :]:
        ax.axis("off")
    steps = np.arange(table.shape[1])
    for ax, j in zip(axes.flat, picks, strict=False):
        values = table[:, :, j].astype(np.float64)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN time step stays NaN
            lo, mid, hi = np.nanpercentile(values, [10, 50, 90], axis=0)
        ax.fill_between(steps, lo, hi, alpha=0.3, color="tab:purple")
        ax.plot(steps, mid, color="tab:purple")
        ax.set_title(names[j], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{family}: {len(picks)} of {len(names)} columns over time", fontsize=10)
    return Figure(
        png=to_png(fig),
        caption=f"`{family}` (per timestep): median over samples and the 10-90 % band, against the stored state.",
    )


def features_section(run: RunArtefacts) -> Section:
    from ..artefacts import reading
    from ..stages.features import open_features

    path = run.path("features/features.h5")
    if not path.is_file():
        return Section.not_run(KEY, TITLE, ORDER, "features")
    health_rows, figures, by_family = [], [], {}
    with open_features(path) as f, reading(path, "a spinlock feature table file (features.h5)"):
        for family in sorted(k for k in f if k != "index"):
            table = f[family]["table"][...]
            names = [c["name"] for c in json.loads(f[family].attrs["columns"])]
            by_family[family] = entry = column_health(table, names)
            counts = {
                "with NaN": entry["with_nan"],
                "all NaN": len(entry["all_nan"]),
                "constant": len(entry["constant"]),
            }
            varying = entry["varying"]
            scope = "per sample" if table.ndim == 2 else f"per timestep ({table.shape[1]} states)"
            health_rows.append(
                (
                    family,
                    scope,
                    fmt(len(names)),
                    *(fmt(counts[k]) for k in ("with NaN", "all NaN", "constant")),
                )
            )
            if not varying:
                continue
            if table.ndim == 2:
                figures.append(_histograms(family, table, names, _pick(varying, MAX_COLUMNS)))
            else:
                figures.append(_curves(family, table, names, _pick(varying, MAX_CURVES)))
    health = Table(
        columns=("family", "scope", "columns", "with NaN", "all NaN", "constant"),
        rows=health_rows,
        caption="Column health per family. Constant and all-NaN columns carry no information about the family.",
    )
    unhealthy = sorted(f for f, e in by_family.items() if mostly_nan(e))
    notes = [Text(f"Warning: {line}.") for line in problems(by_family)]
    if unhealthy:
        notes.insert(
            0,
            Text(
                f"Mostly NaN (over {MOSTLY:.0%} of the columns have no finite value): {', '.join(unhealthy)}. "
                "Their statistics are undefined for this domain's fields; check the family's config."
            ),
        )
    per_sample = sum(int(r[2].replace(",", "")) for r in health_rows if r[1] == "per sample")
    total = sum(int(r[2].replace(",", "")) for r in health_rows)
    notes.append(
        Text(
            f"{total} feature columns in all; the tokenizer reads the {per_sample} per-sample ones "
            "(per-timestep families are curves, not rows) and drops the all-NaN, constant and "
            "near-duplicate ones: the tokenizer section lists how many for each reason."
        )
    )
    status = "ok" if run.finished("features") else "partial"
    return Section(
        key=KEY,
        title=TITLE,
        order=ORDER,
        status="warning" if unhealthy and status == "ok" else status,
        blocks=[health, *notes, *figures],
        headline={"feature columns": fmt(sum(int(r[2].replace(",", "")) for r in health_rows))},
    )
