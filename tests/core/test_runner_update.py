"""Config changes a stage updates in place (``StageSpec.updates_when``), and stamps written by
older versions (keys a stage no longer reads are not its identity)."""

import hashlib
import json

import attrs
import h5py
import numpy as np
import pytest

from spinlock_core.config import compose
from spinlock_core.errors import StageError
from spinlock_core.runner import Runner
from spinlock_core.stages import features_added
from spinlock_core.stages.features import read_table
from spinlock_core.storage import Dataset

from ..conftest import TOY

SMALL = [*TOY, "generate.n_samples=8", "generate.grid=16", "generate.steps=12"]
BOTH = "features=[toy_stats,gradient_energy]"


def value_grows(old: dict, new: dict) -> bool:
    """``updates_when`` of the patched ``t_make``: a larger value is an update."""
    return new["t_make"]["value"] > old["t_make"]["value"]


@pytest.fixture
def updating_t_make(monkeypatch):
    """``t_make`` as if its spec declared ``updates_when=value_grows``."""
    original = Runner.spec

    def spec(self, name):
        loaded = original(self, name)
        if name == "t_make":
            return attrs.evolve(loaded, updates_when=f"{__name__}:value_grows")
        return loaded

    monkeypatch.setattr(Runner, "spec", spec)


def _runner(*args):
    return Runner(compose([*TOY, *args]))


def _features(run_dir, *extra) -> Runner:
    return Runner(compose([*SMALL, "stage=features", f"run.dir={run_dir}", *extra]))


def _actions(runner) -> list[tuple[str, str]]:
    return [(stage, action) for stage, action, _ in runner.run()]


def _tables(path) -> dict[str, np.ndarray]:
    with h5py.File(path) as f:
        return {name: f[name]["table"][...] for name in f if name != "index"}


def _mtimes(folder) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the runner, generically ----------------------------------------------------------------


def test_an_update_runs_without_force_and_leaves_its_readers_stale(updating_t_make):
    _runner("stage=t_use").run()
    grown = _runner("stage=t_make", "t_make.value=5")
    assert grown.state("t_make") == "update"
    assert _actions(grown) == [("t_make", "update")]
    assert (grown.run_dir / "made.txt").read_text() == "5"
    assert not (grown.run_dir / ".spinlock" / "replaced").exists()  # nothing moved aside
    assert grown.stamp("t_make")["config"] == {"t_make": {"value": 5}}
    # t_use read the old t_make: stale as for any change, and the error says why
    with pytest.raises(StageError, match=r"'t_use'.*t_make was re-made.*run.force=true"):
        _runner("stage=t_use", "t_make.value=5").plan()
    forced = _runner("stage=t_use", "t_make.value=5", "run.force=true")
    assert forced.plan() == [("t_make", "skip"), ("t_use", "rerun")]


def test_an_update_and_its_stale_readers_in_one_plan(updating_t_make):
    _runner("stage=t_use").run()
    with pytest.raises(StageError, match=r"'t_use'.*t_make was re-made"):
        _runner("stage=t_use", "t_make.value=5").plan()
    runner = _runner("stage=t_use", "t_make.value=5", "run.force=true")
    assert runner.plan() == [("t_make", "update"), ("t_use", "rerun")]  # force does not re-make t_make
    runner.run()
    assert (runner.run_dir / "used.txt").read_text() == "10"
    assert not list((runner.run_dir / ".spinlock" / "replaced").glob("*/made.txt"))


def test_a_change_the_stage_does_not_update_in_place_is_still_stale(updating_t_make):
    _runner("stage=t_make", "t_make.value=3").run()
    shrunk = _runner("stage=t_make", "t_make.value=2")
    assert shrunk.state("t_make") == "stale"
    with pytest.raises(StageError, match=r"t_make.value: 3 -> 2.*run.force=true"):
        shrunk.plan()


def test_without_updates_when_every_change_is_stale():
    _runner("stage=t_make").run()
    assert _runner("stage=t_make", "t_make.value=5").state("t_make") == "stale"


# --- stamps of older versions ---------------------------------------------------------------


def _as_older_version(runner, name: str, extra: dict) -> None:
    """Rewrite the stamp of ``name`` as a version whose stage also read ``extra`` wrote it: the
    extra keys in its config, another fingerprint, and that fingerprint in its readers' stamps."""
    path = runner._stamp_path(name)
    stamp = json.loads(path.read_text())
    stamp["config"] = {**stamp["config"], **extra}
    old_fingerprint = hashlib.sha256(json.dumps(stamp["config"], sort_keys=True).encode()).hexdigest()[:16]
    for reader in path.parent.glob("*.json"):
        other = json.loads(reader.read_text())
        if name in other.get("upstream", {}):
            other["upstream"][name] = old_fingerprint
            other["fingerprint"] = f"older-{other['fingerprint']}"  # computed from that upstream
            reader.write_text(json.dumps(other))
    stamp["fingerprint"] = old_fingerprint
    path.write_text(json.dumps(stamp))


def test_a_stamp_holding_keys_the_stage_no_longer_reads_is_current():
    _runner("stage=t_use").run()
    _as_older_version(_runner("stage=t_use"), "t_make", {"t_use": {"factor": 7}, "gone": [1]})
    again = _runner("stage=t_use")
    assert again.state("t_make") == "current"
    assert again.differences("t_use") == []
    assert again.plan() == [("t_make", "skip"), ("t_use", "skip")]
    # a key the stage still reads keeps its meaning: a change there is stale
    assert _runner("stage=t_use", "t_make.value=5").state("t_make") == "stale"


def test_an_older_stamp_with_a_changed_key_is_stale_and_so_are_its_readers():
    _runner("stage=t_use").run()
    runner = _runner("stage=t_use")
    _as_older_version(runner, "t_make", {"gone": 1})
    stamp = json.loads(runner._stamp_path("t_make").read_text())
    stamp["config"]["t_make"]["value"] = 9
    runner._stamp_path("t_make").write_text(json.dumps(stamp))
    again = _runner("stage=t_use")
    assert again.state("t_make") == "stale" and again.state("t_use") == "stale"
    assert again.differences("t_use") == ["(stage t_make)"]


def test_a_run_made_when_generate_read_the_feature_keys_is_current(tmp_path):
    run = tmp_path / "a"
    _features(run).run()
    _as_older_version(_features(run), "generate", {"features": ["toy_stats"], "feature": None})
    assert "features" in json.loads((run / ".spinlock" / "stages" / "generate.json").read_text())["config"]
    assert _features(run).plan() == [("generate", "skip"), ("features", "skip")]


# --- the features stage: adding a family is an update ---------------------------------------


def test_adding_a_family_updates_the_feature_tables_in_place(tmp_path):
    run, fresh = tmp_path / "a", tmp_path / "fresh"
    path = run / "features" / "features.h5"
    _features(run).run()
    before, dataset = _tables(path), _mtimes(run / "dataset")
    added = _features(run, BOTH)
    assert added.state("features") == "update"
    assert _actions(added) == [("generate", "skip"), ("features", "update")]  # no run.force
    after = _tables(path)
    assert set(after) == {"toy_stats", "gradient_energy"}
    assert after["toy_stats"].dtype == before["toy_stats"].dtype
    assert after["toy_stats"].tobytes() == before["toy_stats"].tobytes()  # bitwise
    assert _mtimes(run / "dataset") == dataset  # the dataset was not touched
    assert not (run / ".spinlock" / "replaced").exists()
    assert _features(run, BOTH).plan() == [("generate", "skip"), ("features", "skip")]
    _features(fresh, BOTH).run()
    np.testing.assert_allclose(
        after["gradient_energy"],
        read_table(fresh / "features" / "features.h5", "gradient_energy")[0],
        rtol=1e-6,
    )


def test_an_update_keeps_the_stored_tables_rather_than_recomputing_them(tmp_path):
    run = tmp_path / "a"
    path = run / "features" / "features.h5"
    _features(run).run()
    with h5py.File(path, "r+") as f:  # a marker no extraction would give
        f["toy_stats"]["table"][...] = np.float32(42.0)
    _features(run, BOTH).run()
    assert (_tables(path)["toy_stats"] == np.float32(42.0)).all()


def test_adding_a_family_the_dataset_holds_inline_reuses_it(tmp_path):
    run = tmp_path / "a"
    _features(run, "stage=generate", BOTH, "generate.store_trajectories=false").run()
    _features(run, "generate.store_trajectories=false").run()
    assert _actions(_features(run, BOTH, "generate.store_trajectories=false"))[-1] == ("features", "update")
    with Dataset(run / "dataset") as ds:
        inline = ds.read("features/gradient_energy")
    np.testing.assert_array_equal(_tables(run / "features" / "features.h5")["gradient_energy"], inline)


@pytest.mark.parametrize(
    ("first", "then", "differs"),
    [
        ((BOTH,), (), r"features: -gradient_energy"),
        (
            (BOTH,),
            (BOTH, "feature.gradient_energy.final_fraction=0.5"),
            r"feature.gradient_energy.final_fraction: 0.25 -> 0.5",
        ),
    ],
    ids=["family removed", "old family's options changed"],
)
def test_removing_a_family_or_changing_its_options_is_stale(tmp_path, first, then, differs):
    run = tmp_path / "a"
    _features(run, *first).run()
    changed = _features(run, *then)
    assert changed.state("features") == "stale"
    with pytest.raises(StageError, match=rf"stage 'features'.*{differs}.*run.force=true"):
        changed.plan()
    assert _actions(_features(run, *then, "run.force=true")) == [("generate", "skip"), ("features", "rerun")]


def test_features_added_rule():
    old = {"features": ["a", "b"], "feature": {"b": {"x": 1}}}
    assert features_added(old, {"features": ["a", "b", "c"], "feature": {"b": {"x": 1}, "c": {"y": 2}}})
    assert features_added(old, {"features": ["c", "b", "a"], "feature": {"b": {"x": 1}}})
    assert not features_added(old, {"features": ["a", "c"], "feature": {"b": {"x": 1}}})
    assert not features_added(old, {"features": ["a", "b", "c"], "feature": {"b": {"x": 2}}})
    assert not features_added(old, {"features": ["a", "b", "c"], "feature": None})
    assert features_added({"features": ["a"], "feature": None}, {"features": ["a", "c"], "feature": None})
