"""Adding a feature family to an existing run: extracted from the stored trajectories, never by
regenerating (inline extraction is an optimisation, not part of the dataset's identity)."""

import json

import numpy as np
import pytest

from spinlock_core.config import compose
from spinlock_core.errors import DatasetError, StageError
from spinlock_core.replay import compare_replay
from spinlock_core.runner import Runner
from spinlock_core.stages.features import read_table
from spinlock_core.storage import Dataset

from ..conftest import TOY

SMALL = [*TOY, "generate.n_samples=8", "generate.grid=16", "generate.steps=12"]
BOTH = "features=[toy_stats,gradient_energy]"
NO_TRAJ = "generate.store_trajectories=false"


def _run(run_dir, *extra) -> list[tuple[str, str]]:
    done = Runner(compose([*SMALL, f"run.dir={run_dir}", *extra])).run()
    return [(stage, action) for stage, action, _ in done]


def _mtimes(run_dir) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in sorted((run_dir / "dataset").rglob("*")) if p.is_file()}


def _table(run_dir, family):
    return read_table(run_dir / "features" / "features.h5", family)[0]


def test_a_family_added_to_a_run_is_extracted_without_regenerating(tmp_path):
    run = tmp_path / "a"
    _run(run, "stage=features")
    before = _mtimes(run)
    # a family added: the features stage updates its tables in place, no run.force needed
    assert _run(run, "stage=features", BOTH) == [("generate", "skip"), ("features", "update")]
    assert _mtimes(run) == before  # the dataset was not touched
    _run(tmp_path / "fresh", "stage=features", BOTH)  # both families inline from the start
    with Dataset(tmp_path / "fresh" / "dataset") as ds:
        assert ds.has("features/gradient_energy")
    for family in ("toy_stats", "gradient_energy"):
        np.testing.assert_allclose(
            _table(run, family), _table(tmp_path / "fresh", family), rtol=1e-6, atol=1e-7
        )


def test_run_only_takes_the_dataset_made_with_other_families(cli, tmp_path):
    run = tmp_path / "a"
    _run(run, "stage=generate")
    before = _mtimes(run)
    assert _run(run, "stage=features", "run.only=true", BOTH) == [("features", "run")]
    assert _mtimes(run) == before
    assert _table(run, "gradient_energy").shape == (8, 3)
    assert compare_replay(run / "dataset", 5)["identical"]  # replay uses the dataset's own config
    assert cli("inspect", str(run)).exit_code == 0
    shown = cli("inspect", str(run / "features" / "features.h5"))
    assert shown.exit_code == 0, shown.output
    assert "gradient_energy" in shown.output


def test_inline_tables_made_with_other_options_are_not_reused(tmp_path):
    run, fresh = tmp_path / "a", tmp_path / "fresh"
    _run(run, "stage=generate", BOTH, "feature.gradient_energy.final_fraction=0.5")
    with Dataset(run / "dataset") as ds:
        assert json.loads(ds.attrs["feature_options"]) == {
            "toy_stats": None,
            "gradient_energy": {"final_fraction": 0.5},
        }
        inline = ds.read("features/gradient_energy")
    _run(run, "stage=features", BOTH)  # default final_fraction: 0.25
    _run(fresh, "stage=features", BOTH)
    table = _table(run, "gradient_energy")
    np.testing.assert_allclose(table, _table(fresh, "gradient_energy"), rtol=1e-6, atol=1e-7)
    assert not np.allclose(table[:, 1], inline[:, 1])  # final_energy depends on the option


def test_equal_options_written_or_defaulted_reuse_the_inline_table(tmp_path):
    run = tmp_path / "a"
    _run(run, "stage=generate", BOTH, NO_TRAJ, "feature.gradient_energy.final_fraction=0.25")
    # 0.25 is the default: the same resolved options, so no trajectories are needed
    _run(run, "stage=features", BOTH, NO_TRAJ)
    with Dataset(run / "dataset") as ds:
        np.testing.assert_array_equal(_table(run, "gradient_energy"), ds.read("features/gradient_energy"))


def test_a_family_neither_inline_nor_extractable_is_a_clear_error(tmp_path):
    run = tmp_path / "a"
    _run(run, "stage=generate", NO_TRAJ)
    with pytest.raises(DatasetError) as missing:
        _run(run, "stage=features", BOTH, NO_TRAJ)
    text = str(missing.value)
    assert "feature family gradient_energy cannot be extracted" in text
    assert "generate.store_trajectories=false" in text and "features=[...]" in text
    assert "toy_stats" not in text.split("cannot")[0]  # toy_stats was inline: reused
    _run(run, "stage=features", NO_TRAJ)  # the inline family alone needs no trajectories


def test_inline_options_differing_without_trajectories_are_named(tmp_path):
    run = tmp_path / "a"
    _run(run, "stage=generate", BOTH, NO_TRAJ)
    with pytest.raises(DatasetError, match=r"gradient_energy: computed inline with feature.gradient_energy="):
        _run(run, "stage=features", BOTH, NO_TRAJ, "feature.gradient_energy.final_fraction=0.5")


def test_an_interrupted_dataset_resumes_only_with_the_same_inline_families(tmp_path):
    run = tmp_path / "a"
    _run(run, "stage=generate")
    (run / "dataset" / "manifest.json").unlink()  # as if killed after its last part
    key = f"{Runner(compose([*SMALL, f'run.dir={run}'])).fingerprint('generate')}:" + json.dumps(
        {"toy_stats": None}
    )
    (run / "dataset" / "progress.json").write_text(json.dumps({"fingerprint": key}))
    parts = {p: t for p, t in _mtimes(run).items() if "parts" in p}
    with pytest.raises(StageError, match="interrupted `generate` made with a different config"):
        _run(run, "stage=generate", BOTH)  # parts without gradient_energy would mix with parts with it
    assert _run(run, "stage=generate") == [("generate", "run")]  # the same families: resumed
    assert {p: t for p, t in _mtimes(run).items() if "parts" in p} == parts  # no sample re-made
    with Dataset(run / "dataset") as ds:
        assert len(ds) == 8
