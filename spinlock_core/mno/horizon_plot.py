"""The error-vs-horizon figure of the mno stage's evaluation and of ``validate``: one drawing, so
the two pages show the MNO against its baselines the same way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_error_vs_horizon"]


def plot_error_vs_horizon(
    path: Path,
    rel_l2: Sequence[float],
    persistence_rel_l2: Sequence[float],
    vrmse: Sequence[float],
    persistence_vrmse: Sequence[float],
    *,
    zero_vrmse: Sequence[float] | None = None,
    title: str | None = None,
) -> Path:
    """Relative L2 and VRMSE per rollout step, the MNO's solid, persistence dashed (and predicting
    zero dotted, when given); written to ``path`` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(1, len(rel_l2) + 1)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ax[0].plot(t, rel_l2, label="MNO")
    ax[0].plot(t, persistence_rel_l2, ls="--", label="persistence")
    ax[0].set(xlabel="rollout step", ylabel="rel. L2", title="relative L2 vs horizon")
    ax[1].plot(t, vrmse, label="MNO")
    ax[1].plot(t, persistence_vrmse, ls="--", label="persistence")
    if zero_vrmse is not None:
        ax[1].plot(t, zero_vrmse, ls=":", label="zero")
    ax[1].set(xlabel="rollout step", ylabel="VRMSE", title="VRMSE vs horizon")
    for axis in ax:
        axis.legend()
    if title:
        fig.suptitle(title, fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.96))
    else:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
