"""Replay: regenerate a stored sample from its seed, index and θ, and compare.

A sample is a function of (global seed, sample index) and of the batch it was made in: its
chunk (``samples/chunk``) is re-sorted by the operator's batch key and cut as generate cut it,
and batch ``samples/batch`` of it is re-made (``-1``: the sample was made alone). With the
dataset's own resolved config the result equals the stored sample bitwise on the same device
and dtype.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .config import compose
from .config._yaml import load_yaml
from .errors import DatasetError
from .storage import Dataset

__all__ = ["replay", "compare_replay"]


def replay(dataset_path, index: int, device: str | None = None) -> dict[str, Any]:
    """``{"ic", "trajectories" (if stored), "status", "theta"}`` of sample ``index``, re-made."""
    from .stages.build import GenerationSetup, chunk_batches, simulate

    with Dataset(dataset_path) as ds:
        if not 0 <= index < len(ds):
            raise DatasetError(f"index {index} out of range: {Path(dataset_path)} has {len(ds)} samples")
        attrs = ds.attrs
        config = compose(from_data=load_yaml(attrs["config"]))
        first, last = (int(v) for v in ds.read("samples/chunk", [index])[0])
        batch_id = int(ds.read("samples/batch", [index])[0])
        matrix = ds.read("theta/values", np.arange(first, last + 1))
    setup = GenerationSetup.from_config(config, device or attrs["device"])
    chunk = np.arange(first, last + 1)
    chunk_theta = setup.operator.parameter_space.from_matrix(matrix)
    rows = np.array([index - first]) if batch_id < 0 else chunk_batches(setup, chunk, chunk_theta)[batch_id]
    theta = {k: v[rows] for k, v in chunk_theta.items()}
    arrays = simulate(setup, chunk[rows], theta)
    row = int(np.flatnonzero(chunk[rows] == index)[0])
    out = {"ic": arrays["ic"][row], "status": int(arrays["samples"]["status"][row])}
    out["theta"] = {k: v[row] for k, v in theta.items()}
    if "trajectories" in arrays:
        out["trajectories"] = arrays["trajectories"][row]
    return out


def compare_replay(dataset_path, index: int, device: str | None = None) -> dict[str, Any]:
    """Replay ``index`` and compare every stored array of it: max |difference| and bitwise equality."""
    again = replay(dataset_path, index, device)
    report: dict[str, Any] = {"index": index}
    with Dataset(dataset_path) as ds:
        for name in ("ic", "trajectories"):
            if name not in again:
                continue
            stored = ds.read(name, [index])[0]
            equal = bool(np.array_equal(stored, again[name], equal_nan=True))
            diff = np.abs(stored.astype(np.float64) - again[name].astype(np.float64))
            report[name] = {"equal": equal, "max_abs_diff": float(np.nanmax(diff)) if diff.size else 0.0}
    report["identical"] = all(v["equal"] for k, v in report.items() if isinstance(v, dict))
    return report
