"""How many bytes a dataset will take, told before the first sample is made.

At the prototype's production size (100k operators, 64², 256 states, 5 realizations) stored
trajectories take about 3 TB; a run that fills the disk after hours loses the hours. The generate
stage prints this estimate and refuses, having written nothing, when the disk cannot hold it.
The estimate is the uncompressed size, an upper bound for ``generate.compression=none`` (the
default) and a safe one for the filters.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
import numpy as np

from .errors import ConfigError

__all__ = ["DatasetSize", "dataset_size", "check_free_space", "human_bytes", "existing_parent"]

#: Room kept free beyond the estimate (HDF5 metadata, the features table, checkpoints).
MARGIN = 1.05


@attrs.frozen
class DatasetSize:
    """Bytes one sample takes on disk, by what it stores."""

    trajectories: int
    ic: int
    features: int
    other: int

    @property
    def per_sample(self) -> int:
        return self.trajectories + self.ic + self.features + self.other

    def total(self, n_samples: int) -> int:
        return self.per_sample * int(n_samples)


def dataset_size(setup) -> DatasetSize:
    """The per-sample size of ``setup``'s dataset (a :class:`~.stages.build.GenerationSetup`)."""
    cfg = setup.cfg
    channels = len(setup.operator.channels)
    cells = int(np.prod(setup.grid.shape))
    states = cfg.steps // cfg.trajectory_stride + 1
    trajectories = 0
    if cfg.store_trajectories:
        itemsize = np.dtype(cfg.trajectory_dtype).itemsize
        trajectories = setup.stored_realizations * states * channels * cells * itemsize
    features = 0
    columns = setup.feature_columns() if setup.families else {}
    for name, family in setup.families.items():
        per_row = len(columns[name]) * 4
        features += per_row * (states if family.scope == "timestep" else 1)
    theta = 8 * 2 * setup.operator.parameter_space.dim
    return DatasetSize(trajectories, channels * cells * 4, features, theta + 64)


def human_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps a number ≥ 1 (decimal units, as df -H)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def existing_parent(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (a run directory may not exist yet)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_free_space(directory: Path, size: DatasetSize, n_samples: int, n_total: int) -> str:
    """One line of what ``n_samples`` more samples will take; ConfigError when the disk is too small.

    ``n_total`` is the dataset's size (for the per-1,000 figure and the message).
    """
    need = size.total(n_samples)
    disk = existing_parent(directory)
    free = shutil.disk_usage(disk).free
    line = (
        f"dataset: about {human_bytes(need)} to write ({human_bytes(size.per_sample)} per sample, "
        f"{human_bytes(size.per_sample * 1000)} per 1,000), {human_bytes(free)} free on "
        f"{disk}"
    )
    if need * MARGIN > free:
        fits = int(free / MARGIN // max(size.per_sample, 1))
        hint = []
        if size.trajectories:
            hint.append(
                f"generate.store_trajectories=false ({human_bytes(size.per_sample - size.trajectories)} "
                f"per sample), generate.stored_realizations=1 or a larger generate.trajectory_stride"
            )
        raise ConfigError(
            f"the dataset needs about {human_bytes(need * MARGIN)} and only {human_bytes(free)} is free "
            f"on {disk} ({n_total} samples, {human_bytes(size.per_sample)} each); "
            f"nothing was written. Set generate.n_samples to at most about {fits}"
            + (", " + ", ".join(hint) if hint else "")
            + ", or point run.dir at a larger disk"
        )
    return line
