"""IC gallery figure: one row per IC type, a few examples per row.

matplotlib (Agg backend) is imported only when a figure is drawn, so the library stays light.
Examples are drawn with ``generator_for(seed, j, "gallery/<type>")``: the figure is
reproducible and independent of the library's weights (zero-weight types are shown too).
"""

from __future__ import annotations

from pathlib import Path

from spinlock_core.api import Grid

from .ics import ICLibrary

__all__ = ["ic_gallery"]


def _panels(u, channels: int):
    """``u [C, H, W]`` -> list of (image, label, cmap): one RGB image for 3+ channels, else each channel."""
    import numpy as np

    u = u.detach().float().cpu().numpy()
    if channels >= 3:
        rgb = u[:3].transpose(1, 2, 0)
        lo, hi = rgb.min(axis=(0, 1)), rgb.max(axis=(0, 1))
        rgb = (rgb - lo) / np.where(hi > lo, hi - lo, 1.0)
        return [(rgb, "RGB = ch 0-2", None)]
    return [(u[c], f"ch {c}", "viridis" if c == 0 else "magma") for c in range(channels)]


def ic_gallery(
    library: ICLibrary,
    channels: int,
    grid: Grid,
    path: str | Path,
    per_type: int = 4,
    seed: int = 0,
    channel_names: tuple[str, ...] | None = None,
) -> Path:
    """Write a PNG grid of ICs (rows = the library's types, columns = examples) to ``path``.

    With 1-2 channels every channel gets its own panel (own colour scale, shown as a colour
    bar range in the title); with 3 or more, channels 0-2 are shown as one RGB image.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from spinlock_core.api import generator_for

    names = channel_names or tuple(f"ch {c}" for c in range(channels))
    cols_per = 1 if channels >= 3 else channels
    n_rows, n_cols = len(library.names), per_type * cols_per
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(1.9 * n_cols + 1.6, 2.0 * n_rows + 0.6),
        squeeze=False,
        constrained_layout=True,
    )
    (y0, y1), (x0, x1) = grid.extent
    for r, (name, ic) in enumerate(zip(library.names, library.types, strict=True)):
        for j in range(per_type):
            gen = generator_for(seed, j, f"gallery/{name}")
            u = ic.sample(gen, channels, grid, "cpu", torch.float32)
            for p, (img, label, cmap) in enumerate(_panels(u, channels)):
                ax = axes[r, j * cols_per + p]
                ax.imshow(img, cmap=cmap, origin="lower", extent=(x0, x1, y0, y1), interpolation="nearest")
                if cmap is not None:
                    label = f"{names[p]}  [{img.min():.2g}, {img.max():.2g}]"
                ax.set_title(label, fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
        weight = library.probabilities[r]
        axes[r, 0].set_ylabel(f"{name}\np = {weight:.2f}", fontsize=10, fontweight="bold")
    fig.suptitle(
        f"Initial conditions: {grid.shape[0]}x{grid.shape[1]}, extent {list(grid.extent)}, seed {seed}",
        fontsize=11,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
