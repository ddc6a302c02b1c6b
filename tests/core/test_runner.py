import pytest

from spinlock_core.config import compose
from spinlock_core.errors import StageError
from spinlock_core.runner import Runner

from ..conftest import TOY


def _runner(*args):
    return Runner(compose([*TOY, *args]))


def _log(runner):
    path = runner.run_dir / "runs.log"
    return path.read_text().split() if path.exists() else []


def test_prerequisites_run_first_then_up_to_date_stages_are_skipped():
    runner = _runner("stage=t_use")
    assert [a for _, a, _ in runner.run()] == ["run", "run"]
    assert _log(runner) == ["t_make", "t_use"]
    assert (runner.run_dir / "used.txt").read_text() == "2"
    again = _runner("stage=t_use")
    assert again.plan() == [("t_make", "skip"), ("t_use", "skip")]
    again.run()
    assert _log(again) == ["t_make", "t_use"]


def test_missing_artefact_is_remade():
    runner = _runner("stage=t_use")
    runner.run()
    (runner.run_dir / "made.txt").unlink()
    assert _runner("stage=t_use").plan() == [("t_make", "run"), ("t_use", "skip")]


def test_changed_config_is_an_error_naming_the_keys_and_a_fresh_run_name():
    _runner("stage=t_use").run()
    changed = _runner("stage=t_use", "t_make.value=5")
    with pytest.raises(
        StageError, match=r"'t_make'.*differs in t_make.value: \d+ -> 5.*run.force=true"
    ) as err:
        changed.plan()
    suggested = changed.suggested_name("t_make")
    assert f"add run.name={suggested};" in str(err.value) and suggested != changed.config.core.run.name
    assert suggested == _runner("stage=t_use", "t_make.value=5").suggested_name("t_make")  # stable


def test_many_differing_keys_are_summarised(monkeypatch):
    _runner("stage=t_use").run()
    changed = _runner("stage=t_use", "t_make.value=5")
    keys = [f"k{i}" for i in range(9)]
    monkeypatch.setattr(type(changed), "differences", lambda self, name: keys)
    text = changed.summarise_differences("t_make")
    assert text.count("->") == 4 and text.endswith("and 5 more keys")


def test_downstream_of_a_changed_stage_is_stale_too():
    _runner("stage=t_use").run()
    runner = _runner("stage=t_use", "t_make.value=5", "run.force=true")
    assert runner.plan() == [("t_make", "rerun"), ("t_use", "rerun")]
    runner.run()
    assert (runner.run_dir / "used.txt").read_text() == "10"
    replaced = list((runner.run_dir / ".spinlock" / "replaced").glob("*/made.txt"))
    assert replaced and replaced[0].read_text() == "1"  # the old artefact was kept, not lost


def test_only_refuses_a_missing_prerequisite_naming_its_stage():
    with pytest.raises(StageError, match=r"needs the artefacts of stage 't_make'.*stage=t_make"):
        _runner("stage=t_use", "run.only=true").plan()


def test_only_runs_just_the_named_stage():
    _runner("stage=t_make").run()
    runner = _runner("stage=t_use", "run.only=true")
    assert runner.plan() == [("t_use", "run")]


def test_pipeline_runs_stages_in_dependency_order():
    runner = _runner("stage=all", "pipeline=[t_use,t_make]")
    assert runner.order(runner.targets()) == ["t_make", "t_use"]


def test_run_dir_default_and_override(tmp_path):
    assert str(_runner().run_dir) == "runs/toy/default"
    assert _runner(f"run.dir={tmp_path / 'x'}").run_dir == tmp_path / "x"


def test_resolved_config_is_saved_in_the_run_directory():
    runner = _runner("stage=t_make", "seed=4")
    runner.run()
    assert "seed: 4" in (runner.run_dir / "config.yaml").read_text()


def test_a_pipeline_numbers_its_stages_and_a_single_stage_is_not_numbered(cli):
    result = cli("run", *TOY, "stage=all", "pipeline=[t_make,t_use]", "run.dir=pipe")
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "▶ [1/2] t_make" in text and "✓ [2/2] t_use" in text
    again = cli("run", *TOY, "stage=t_use", "t_use.factor=3", "run.dir=pipe", "run.force=true")
    text = " ".join(again.output.split())
    assert again.exit_code == 0, again.output
    assert "t_make: up to date, skipped" in text and "▶ t_use" in text and "[1/1]" not in text


def test_a_changed_list_is_summarised_by_what_was_added_and_removed(monkeypatch):
    _runner("stage=t_use").run()
    changed = _runner("stage=t_use", "t_make.value=5")
    monkeypatch.setattr(type(changed), "differences", lambda self, name: ["features"])
    monkeypatch.setattr(type(changed), "stamped_config", lambda self, name: {"features": ["a", "b"]})
    monkeypatch.setattr(type(changed), "stage_config", lambda self, name: {"features": ["a", "c", "d"]})
    assert changed.summarise_differences("t_make") == "differs in features: +c +d -b"
