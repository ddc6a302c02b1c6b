"""The features stage on the toy domain: inline and offline give the same tables."""

import json

import h5py
import numpy as np
import pytest

from spinlock_core.config import compose
from spinlock_core.errors import DatasetError
from spinlock_core.runner import Runner
from spinlock_core.stages.features import read_table

from ..conftest import TOY

SMALL = [*TOY, "stage=features", "generate.n_samples=8", "generate.grid=16", "generate.steps=12"]


def _run(run_dir, *extra):
    Runner(compose([*SMALL, f"run.dir={run_dir}", *extra])).run()
    return run_dir / "features" / "features.h5"


def test_inline_equals_offline(tmp_path):
    inline = _run(tmp_path / "a")
    offline = _run(tmp_path / "b", "generate.inline_features=false", "extract.batch_size=3")
    a, columns = read_table(inline, "toy_stats")
    b, _ = read_table(offline, "toy_stats")
    assert [c["name"] for c in columns] == ["final_mean", "final_std"]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for part in (tmp_path / "b" / "dataset" / "parts").glob("rank0/part-*.h5"):
        with h5py.File(part) as f:
            assert "features" not in f  # really computed offline


def test_manifest_and_nan_counts_are_stored_with_the_table(tmp_path):
    path = _run(tmp_path / "a", "generate.divergence_bound=1.05")
    with h5py.File(path) as f:
        columns = json.loads(f["toy_stats"].attrs["columns"])
        nan = json.loads(f["toy_stats"].attrs["nan_counts"])
        table = f["toy_stats"]["table"][...]
    assert [c["name"] for c in columns] == list(nan)
    assert nan["final_mean"] == int(np.isnan(table[:, 0]).sum()) > 0  # diverged samples: NaN, not zero


def test_offline_without_trajectories_is_a_clear_error(tmp_path):
    from spinlock_core.errors import SpinlockError

    with pytest.raises(SpinlockError, match="stores no trajectories"):
        _run(tmp_path / "a", "generate.inline_features=false", "generate.store_trajectories=false")


def test_unknown_table(tmp_path):
    with pytest.raises(DatasetError, match="has no table 'nope'; it has: toy_stats"):
        read_table(_run(tmp_path / "a"), "nope")
