"""matplotlib helpers for report figures: a headless figure, its PNG bytes, field panels.

matplotlib (Agg) is imported only when a figure is drawn.
"""

from __future__ import annotations

import io
import math

import numpy as np

__all__ = ["subplots", "to_png", "field_image", "grid_shape"]

DPI = 80


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
