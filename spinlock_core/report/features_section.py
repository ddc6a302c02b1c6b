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

from .cells import fmt
from .model import Figure, RunArtefacts, Section, Table
from .plotting import grid_shape, subplots, to_png

__all__ = ["features_section"]

KEY, TITLE, ORDER = "features", "Feature distributions", 20
MAX_COLUMNS = 12
MAX_CURVES = 6


def _health(table: np.ndarray, names: list[str]) -> tuple[dict[str, int], list[int]]:
    """Counts of NaN-holding / all-NaN / constant columns, and the indices of varying ones."""
    flat = table.reshape(-1, table.shape[-1])  # float32 as stored: production tables are large
    finite = np.isfinite(flat)
    with np.errstate(all="ignore"):
        lo = np.where(finite, flat, np.inf).min(axis=0)
        hi = np.where(finite, flat, -np.inf).max(axis=0)
    all_nan = ~finite.any(axis=0)
    constant = ~all_nan & (hi <= lo)
    varying = np.flatnonzero(~all_nan & ~constant)
    counts = {
        "with NaN": int((~finite).any(axis=0).sum()),
        "all NaN": int(all_nan.sum()),
        "constant": int(constant.sum()),
    }
    return counts, varying.tolist()


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
    import h5py

    path = run.path("features/features.h5")
    if not path.is_file():
        return Section.not_run(KEY, TITLE, ORDER, "features")
    health_rows, figures = [], []
    with h5py.File(path, "r") as f:
        for family in sorted(k for k in f if k != "index"):
            table = f[family]["table"][...]
            names = [c["name"] for c in json.loads(f[family].attrs["columns"])]
            counts, varying = _health(table, names)
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
    return Section(
        key=KEY,
        title=TITLE,
        order=ORDER,
        status="ok" if run.finished("features") else "partial",
        blocks=[health, *figures],
        headline={"feature columns": fmt(sum(int(r[2].replace(",", "")) for r in health_rows))},
    )
