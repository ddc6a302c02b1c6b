"""matplotlib helpers for report figures: a headless figure, its PNG bytes, field panels.

matplotlib (Agg) is imported only when a figure is drawn.
"""

from __future__ import annotations

import io
import math

import numpy as np

__all__ = ["subplots", "to_png", "field_image", "grid_shape", "rows_height", "label_rows"]

DPI = 80
#: Inches per labelled row of a heatmap, and its labels' font size (points): 8 pt at
#: :data:`DPI` is the smallest that reads on a screen, and needs about this much room.
ROW_INCHES, ROW_FONT = 0.2, 8
#: The tallest a heatmap grows (inches); beyond it only every k-th row is labelled.
MAX_ROWS_HEIGHT = 30.0


def rows_height(n_rows: int) -> float:
    """The height (inches) of a heatmap of ``n_rows`` labelled rows: it grows with the rows,
    up to :data:`MAX_ROWS_HEIGHT`."""
    return min(MAX_ROWS_HEIGHT, ROW_INCHES * max(1, n_rows))


def label_rows(ax, names, height: float) -> None:
    """Label a heatmap's rows with ``names`` at a readable size: every row where the panel's
    ``height`` (inches) leaves :data:`ROW_INCHES` each, else every k-th row."""
    names = list(names)
    step = max(1, math.ceil(ROW_INCHES * len(names) / max(height, 1e-9)))
    ticks = range(0, len(names), step)
    ax.set_yticks(list(ticks), [names[i] for i in ticks], fontsize=ROW_FONT)
    if step > 1:
        ax.set_ylabel(f"every {step}th of {len(names)} rows labelled", fontsize=ROW_FONT)


def subplots(
    rows: int,
    cols: int,
    *,
    panel: tuple[float, float] = (2.4, 2.0),
    margins: tuple[float, float, float, float] = (0.5, 0.2, 0.45, 0.5),
    gaps: tuple[float, float] = (0.45, 0.55),
    widths: tuple[float, ...] | None = None,
):
    """``(fig, axes[rows, cols])`` on the Agg backend: panels of ``panel`` inches.

    ``margins`` (left, right, bottom, top) and ``gaps`` (between columns, rows) are in inches
    too; ``widths`` gives each column its own width (inches) instead. A fixed layout rather than a constrained one: measuring every tick label of dozens of
    panels costs seconds per figure on a CPU.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    left, right, bottom, top = margins
    widths = tuple(widths) if widths is not None else (panel[0],) * cols
    width = left + right + sum(widths) + (cols - 1) * gaps[0]
    height = bottom + top + rows * panel[1] + (rows - 1) * gaps[1]
    fig, axes = plt.subplots(
        rows, cols, figsize=(width, height), squeeze=False, gridspec_kw={"width_ratios": widths}
    )
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=gaps[0] / (sum(widths) / cols),
        hspace=gaps[1] / panel[1],
    )
    return fig, axes


def to_png(fig) -> bytes:
    """The figure as PNG bytes; closes it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()


def grid_shape(n: int, max_cols: int = 4) -> tuple[int, int]:
    cols = min(max_cols, max(1, n))
    return math.ceil(n / cols), cols


def field_image(u: np.ndarray) -> tuple[np.ndarray, str | None]:
    """``u [C, H, W]`` -> ``(image, cmap)``: channels 0-2 as RGB when C >= 3, else channel 0."""
    u = np.asarray(u, dtype=np.float64)
    if u.shape[0] >= 3:
        rgb = u[:3].transpose(1, 2, 0)
        finite = np.isfinite(rgb)
        lo = np.where(finite, rgb, np.inf).min(axis=(0, 1))
        hi = np.where(finite, rgb, -np.inf).max(axis=(0, 1))
        scale = np.where(hi > lo, hi - lo, 1.0)
        return np.clip(np.nan_to_num((rgb - lo) / scale), 0, 1), None
    return u[0], "viridis"
