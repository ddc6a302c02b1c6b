"""The core ``validate`` stage on a tiny reaction-diffusion run with the ``u_afno`` backbone.

One run (generate -> features -> tokenizer, generate -> mno, then validate) is made per module;
the tests read it, or call :func:`validate` again with another predictor.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.errors import CheckpointError
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.runner import Runner, StageContext
from spinlock_core.storage import Dataset

TINY = [
    "domain=reaction_diffusion",
    "device=cpu",
    "stage=validate",
    "generate.n_samples=8",
    "generate.grid=8",
    "generate.steps=3",
    "features=[initial,summary]",
    "tokenizer.epochs=1",
    "tokenizer.device=cpu",
    "mno.epochs=1",
    "mno.batch_size=8",
    "mno.eval_figures=0",
    "validate.n_samples=4",
    "validate.figure_samples=2",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``(run_dir, config)`` of a finished tiny run, validate included."""
    registry.clear_cache()
    reset_plugin_manager()
    run_dir = tmp_path_factory.mktemp("validate")
    config = compose([*TINY, f"run.dir={run_dir}"])
    Runner(config).run()
    return run_dir, config


def _context(run, *overrides):
    run_dir, config = run
    if overrides:
        config = compose([*TINY, f"run.dir={run_dir}", *overrides])
    return StageContext(config=config, run_dir=run_dir, stage="validate")


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def test_validate_writes_a_report_with_finite_numbers(run):
    out = run[0] / "validate"
    for name in (
        "report.json",
        "report.md",
        "jsd_per_codebook.png",
        "feature_distributions.png",
        "error_vs_horizon.png",
        "frames.png",
    ):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["samples"]["requested"] == 4 and report["setup"]["backbone"] == "u_afno"
    assert report["setup"]["horizon"] == 3 and len(report["rollout"]["per_step"]["rel_l2"]) == 3
    assert report["features"]["skipped_families"] == ["initial"]  # θ and u0 only: equal by construction
    assert all(r["name"].startswith("summary/") for r in report["features"]["columns"])
    assert report["tokenizer"]["codebooks"] and report["features"]["worst"]
    # NaN/Inf are written as null; the headline figures must all be there
    assert all(math.isfinite(x) for x in _numbers(report))
    summary = report["rollout"]["summary"]
    headline = [*summary.values(), report["tokenizer"]["mean_jsd_bits"], report["features"]["mean_ks"]]
    headline += [
        report["tokenizer"]["reconstruction"][k]["mse"] for k in ("truth", "model", "model_vs_truth")
    ]
    assert None not in headline
    assert summary["rel_l2"] > 0 and summary["persistence_rel_l2"] > 0
    assert "| relative L2 (mean over horizon) |" in (out / "report.md").read_text()


def test_a_perfect_predictor_scores_zero_everywhere(run):
    from spinlock_core.mno.validate import validate

    report = validate(_context(run), predict=lambda batch: batch.truth)
    roll = report["rollout"]["summary"]
    assert roll["rel_l2"] == 0.0 and roll["vrmse"] == 0.0 and roll["persistence_rel_l2"] > 0
    books = report["tokenizer"]["codebooks"]
    assert all(b["jsd_bits"] == 0.0 and b["agreement"] == 1.0 for b in books)
    rec = report["tokenizer"]["reconstruction"]
    assert rec["model"] == rec["truth"] == rec["model_vs_truth"]
    columns = [c for c in report["features"]["columns"] if c["ks"] is not None]
    assert columns and all(c["ks"] == 0.0 and c["wasserstein"] == 0.0 for c in columns)
    assert report["samples"]["model_diverged"] == 0


def test_fresh_theta_is_a_new_reproducible_draw(run):
    from spinlock_core.mno.validate import fresh_theta
    from spinlock_core.stages.features import domain_info

    run_dir, config = run
    with Dataset(run_dir / "dataset") as ds:
        space, stored = domain_info(ds).parameter_space, ds.read("theta/unit")
    seed_a, unit_a, _ = fresh_theta(space, 4, config.core.seed, 0)
    seed_b, unit_b, _ = fresh_theta(space, 4, config.core.seed, 1)
    assert seed_a != config.core.seed and seed_a != seed_b
    assert np.array_equal(unit_a, fresh_theta(space, 4, config.core.seed, 0)[1])
    for unit in (unit_a, unit_b):
        assert not (np.abs(unit[:, None, :] - stored[None, :, :]).max(axis=2) < 1e-12).any()
    assert not np.array_equal(unit_a, unit_b)


def test_a_checkpoint_whose_backbone_no_longer_rebuilds_is_refused(run, monkeypatch):
    import attrs

    from spinlock_core.mno.validate import load_mno
    from spinlock_core.stages.features import domain_info
    from spinlock_u_afno import presets

    with Dataset(run[0] / "dataset") as ds:
        space = domain_info(ds).parameter_space
    model, meta, mean, std = load_mno(run[0] / "mno" / "model.pt", "cpu", space)
    assert not model.training and mean.shape == std.shape == (meta["model_config"]["in_channels"],)
    monkeypatch.setitem(presets.PRESETS, "small", attrs.evolve(presets.PRESETS["small"], width=8))
    with pytest.raises(CheckpointError, match="presets changed since training"):
        load_mno(run[0] / "mno" / "model.pt", "cpu", space)
