"""The mno stage's training data: read once, normalised once, resident or read ahead, and always
the floats a per-batch read gives (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spinlock_core.config import compose
from spinlock_core.mno.data import BatchStream, StoredTargets, resident_budget, split_pairs
from spinlock_core.runner import Runner
from spinlock_core.storage import Dataset

SMALL = [
    "domain=reaction_diffusion",
    "device=cpu",
    "generate.n_samples=8",
    "generate.grid=16",
    "generate.steps=6",
    "features=[]",
]


@pytest.fixture
def dataset(tmp_path):
    Runner(compose([*SMALL, f"run.dir={tmp_path}", "stage=generate"])).run()
    with Dataset(tmp_path / "dataset") as ds:
        yield ds


def _per_batch(ds, train, batches, steps):
    """What the stage read before: every batch from the file, normalised on its own."""
    data = StoredTargets(ds, "cpu")
    data.fit_normaliser(train)
    return [data.batch(pairs, steps) for pairs in batches]


def _assert_same(got, want):
    for (u0, targets, theta), (u0_w, targets_w, theta_w) in zip(got, want, strict=True):
        assert torch.equal(u0, u0_w) and torch.equal(targets, targets_w)
        assert u0.dtype == u0_w.dtype == torch.float32 and targets.shape == targets_w.shape
        assert theta.keys() == theta_w.keys()
        for k in theta:
            assert theta[k].dtype == theta_w[k].dtype and torch.equal(theta[k], theta_w[k])


def _batches(ds):
    train, val = split_pairs(ds.read("samples/status"), 2, 0.25, seed=0)
    order = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(3)).numpy()]
    return train, val, [order[i : i + 3] for i in range(0, len(order), 3)] + [val[:2], val[2:]]


@pytest.mark.parametrize("steps", [6, 4])
def test_resident_batches_equal_per_batch_reads(dataset, steps):
    train, val, batches = _batches(dataset)
    want = _per_batch(dataset, train, batches, steps)
    data = StoredTargets(dataset, "cpu")
    data.fit_normaliser(train)
    where = data.load(np.concatenate([train, val]), steps)
    assert where.startswith("resident on cpu") and data.resident["traj"].shape[2] == steps + 1
    _assert_same([data.batch(pairs, steps) for pairs in batches], want)
    with data.stream(batches, steps) as stream:
        assert stream.thread is None  # gathered on the spot: nothing to read ahead
        _assert_same(list(stream), want)


def test_read_ahead_thread_equals_per_batch_reads(dataset):
    train, val, batches = _batches(dataset)
    want = _per_batch(dataset, train, batches, 6)
    data = StoredTargets(dataset, "cpu")
    data.fit_normaliser(train)
    assert "background thread" in data.load(np.concatenate([train, val]), 6, budget=0)
    assert data.resident is None
    stream = data.stream(batches, 6, depth=1)
    assert stream.thread is not None
    _assert_same(list(stream), want)
    assert stream.thread is None  # closed at the end


def test_read_ahead_stops_when_closed_early_and_passes_errors_on(dataset):
    train, _, batches = _batches(dataset)
    data = StoredTargets(dataset, "cpu")
    data.fit_normaliser(train)
    stream = data.stream(batches, 6, depth=1)
    next(stream)
    thread = stream.thread
    stream.close()
    assert not thread.is_alive()
    bad = data.stream([batches[0], np.array([[len(data.values) + 5, 0]])], 6)
    next(bad)
    with pytest.raises(Exception):  # noqa: B017 - whatever the file read raises, on this thread
        next(bad)
    assert bad.thread is None


def test_a_new_normaliser_drops_the_resident_copy(dataset):
    train, val, batches = _batches(dataset)
    data = StoredTargets(dataset, "cpu")
    data.fit_normaliser(train)
    data.load(train, 6)
    assert data.resident is not None
    data.set_normaliser(data.mean * 2, data.std)
    assert data.resident is None
    # pairs the resident copy does not hold come from the file
    data.fit_normaliser(train)
    data.load(train, 6)
    _assert_same([data.batch(val, 6)], _per_batch(dataset, train, [val], 6))


def test_budget_is_a_share_of_the_available_memory():
    assert resident_budget("cpu") > 0
    assert isinstance(BatchStream, type)


def test_the_mno_trains_on_the_stored_realizations_only(tmp_path):
    extra = ["generate.realizations=3", "generate.stored_realizations=1"]
    Runner(compose([*SMALL, *extra, f"run.dir={tmp_path}", "stage=generate"])).run()
    with Dataset(tmp_path / "dataset") as ds:
        data = StoredTargets(ds, "cpu")
        assert data.realizations == 1 and ds.attrs["realizations"] == 3
        train, val = split_pairs(ds.read("samples/status"), data.realizations, 0.25, 0)
        assert set(train[:, 1]) | set(val[:, 1]) == {0}
        data.fit_normaliser(train)
        u0, targets, _ = data.batch(train[:2], 6)
        assert targets.shape[:2] == (2, 6) and torch.isfinite(targets).all()
