"""Divergence is per sample: one diverging sample in a batch never changes the others.

A wrapper stepper makes one sample's state non-finite (or huge) at one step; the other samples'
stored trajectories, ICs and inline features, and the ``features`` stage's tables, must be
bitwise those of a run without the injection, and the poisoned sample is recorded diverged.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.runner import Runner
from spinlock_core.storage import STATUS, Dataset

TARGET = 2  # the global index of the sample that diverges
COMMON = [
    "device=cpu",
    "generate.n_samples=8",
    "generate.batch_size=8",
    "generate.chunk_size=8",
    "generate.grid=16",
    "generate.steps=5",
]
CASES = {
    "cno-inf": (["domain=reaction_diffusion", "operator=cno"], "cno", float("inf")),
    "cno-huge": (["domain=reaction_diffusion", "operator=cno"], "cno", 1e30),
    "gray_scott-nan": (["domain=reaction_diffusion", "operator=gray_scott"], "gray_scott", float("nan")),
    "navier_stokes-huge": (["domain=fluids"], "navier_stokes", 1e30),
}


class _Poisoned:
    """Wraps a stepper: at step ``at`` the rows ``rows`` of its output become ``value``."""

    def __init__(self, inner, rows, at, value):
        self.inner, self.rows, self.at, self.value = inner, rows, at, value

    def step(self, u, t):
        out = self.inner.step(u, t)
        if t == self.at and len(self.rows):
            out = out.clone()
            out[self.rows] = self.value
        return out

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _inject(monkeypatch, operator: str, value: float, at: int = 2) -> None:
    cls = type(registry.load("operators", operator).create(None))
    original = cls.build

    def build(self, theta, sample_index, *args, **kwargs):
        stepper = original(self, theta, sample_index, *args, **kwargs)
        rows = np.flatnonzero(np.asarray(sample_index) == TARGET)
        return _Poisoned(stepper, rows, at, value)

    monkeypatch.setattr(cls, "build", build)


def _run(run_dir, overrides):
    for stage in ("generate", "features"):
        args = [*overrides, *COMMON, f"stage={stage}", f"run.dir={run_dir}", "extract.reuse_inline=false"]
        Runner(compose(args)).run()
    with Dataset(run_dir / "dataset") as ds:
        arrays = {name: ds.read(name) for name in ds.array_names()}
    with h5py.File(run_dir / "features" / "features.h5", "r") as f:
        for name in f:
            if name != "index":
                arrays[f"stage/{name}"] = f[name]["table"][...]
    return arrays


@pytest.mark.parametrize("case", list(CASES))
def test_one_diverging_sample_leaves_the_others_bitwise_unchanged(tmp_path, monkeypatch, case):
    overrides, operator, value = CASES[case]
    if operator == "navier_stokes":
        pytest.importorskip("spinlock_fluids")
    clean = _run(tmp_path / "clean", overrides)
    _inject(monkeypatch, operator, value)
    poisoned = _run(tmp_path / "poisoned", overrides)

    status = poisoned["samples/status"]
    assert status[TARGET] == STATUS["diverged"] and clean["samples/status"][TARGET] == STATUS["ok"]
    assert poisoned["samples/diverged_step"][TARGET] == 3
    assert np.array_equal(poisoned["samples/batch"], clean["samples/batch"])  # no one-by-one retry
    others = np.delete(np.arange(len(status)), TARGET)
    assert clean.keys() == poisoned.keys()
    for name, stored in clean.items():
        assert np.array_equal(stored[others], poisoned[name][others], equal_nan=stored.dtype.kind == "f"), (
            name
        )
    assert np.isnan(poisoned["trajectories"][TARGET, :, 3:]).all()
    for name in ("summary", "temporal"):
        for where in (f"features/{name}", f"stage/{name}"):
            if where in poisoned:
                assert np.isnan(poisoned[where][TARGET]).all(), where
    for where in ("features/initial", "stage/initial"):  # u0 is fine: its features are kept
        if where in poisoned:
            assert np.array_equal(poisoned[where][TARGET], clean[where][TARGET], equal_nan=True)


def test_a_tight_divergence_bound_records_diverged_samples_and_every_stage_survives(tmp_path):
    """The issue's case: ``divergence_bound=1.5`` makes most CNO samples diverge mid-batch."""
    run_dir = tmp_path / "r"
    arrays = _run(run_dir, ["domain=reaction_diffusion", "operator=cno", "generate.divergence_bound=1.5"])
    diverged = arrays["samples/status"] == STATUS["diverged"]
    assert diverged.any() and (arrays["samples/batch"] == 0).all()
    for where in ("features/summary", "stage/summary", "features/temporal", "stage/temporal"):
        rows = arrays[where][diverged].reshape(int(diverged.sum()), -1)
        assert np.isnan(rows).all(), where
    assert np.array_equal(arrays["features/summary"], arrays["stage/summary"], equal_nan=True)
