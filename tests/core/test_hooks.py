"""One test (at least) per hook, named test_hook_<hook>_<case>."""

import re
from pathlib import Path

import pytest

from spinlock_core import hookspecs
from spinlock_core.checkpoint import save_checkpoint
from spinlock_core.hookspecs import hookimpl
from spinlock_core.plugins import get_plugin_manager

from ..conftest import TOY

HOOKS = [name for name in dir(hookspecs) if name.startswith(("register_", "on_", "describe_"))]


def _events(tmp_path):
    path = tmp_path / "events.log"
    return path.read_text().split("\n")[:-1] if path.exists() else []


def test_hook_register_commands_adds_a_plugin_command(cli):
    result = cli("hello", "--name", "spinlock")
    assert result.exit_code == 0 and "hello spinlock" in result.output


def test_hook_register_config_paths_adds_plugin_groups(cli):
    result = cli("config", "groups", "--json")
    assert '"toy_group"' in result.output and "alpha" in result.output


def test_hook_on_stage_start_fires_before_each_stage_that_runs(cli, tmp_path):
    assert cli("run", *TOY, "stage=t_use").exit_code == 0
    assert _events(tmp_path) == ["start t_make", "end t_make", "start t_use", "end t_use"]
    assert cli("run", *TOY, "stage=t_use").exit_code == 0  # up to date: no events
    assert len(_events(tmp_path)) == 4


def test_hook_on_stage_end_not_fired_when_the_stage_fails(cli, tmp_path):
    (tmp_path / "runs" / "toy" / "default").mkdir(parents=True)
    result = cli("run", *TOY, "stage=t_use", "run.only=true")
    assert result.exit_code == 2 and _events(tmp_path) == []


def test_hook_on_checkpoint_saved_fires_after_an_atomic_save(tmp_path):
    import torch

    save_checkpoint(tmp_path / "m.pt", {"w": torch.ones(2)}, {"kind": "test", "name": "toy"})
    assert _events(tmp_path) == ["checkpoint m.pt toy"]


def test_hook_on_analysis_end_fires_after_the_report_is_written(cli, tmp_path):
    for name in ("ra", "rb"):
        (tmp_path / name).mkdir()
    (tmp_path / "ra" / "x.txt").write_text("x")
    result = cli("compare-codebooks", "ra", "rb", "--analysis", "t_count", "--out", "cmp")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cmp" / "count.txt").is_file()
    assert _events(tmp_path) == ["analysis t_count 2 1.0"]


def test_hook_describe_artefact_first_result_wins(cli, tmp_path):
    (tmp_path / "thing.toy").write_text("x")
    result = cli("inspect", str(tmp_path / "thing.toy"))
    assert result.exit_code == 0 and "a toy artefact" in result.output


def test_hook_describe_artefact_unknown_file_is_an_error(cli, tmp_path):
    (tmp_path / "thing.bin").write_text("x")
    result = cli("inspect", str(tmp_path / "thing.bin"))
    assert result.exit_code == 2 and "not an artefact" in result.output  # bad input exits 2


def test_hook_register_report_sections_adds_a_plugin_section(cli, tmp_path):
    assert cli("run", *TOY, "stage=t_make", "--no-report").exit_code == 0
    run_dir = tmp_path / "runs" / "toy" / "default"
    result = cli("report", str(run_dir))
    assert result.exit_code == 0, result.output
    page = (run_dir / "report.html").read_text()
    assert '<section id="toy">' in page and "made.txt" in page and "toy value" in page


class _BrokenReportPlugin:
    @hookimpl
    def register_report_sections(self, register, run):
        raise RuntimeError("broken on purpose")


def test_hook_register_report_sections_failure_becomes_an_error_section(cli, tmp_path):
    from spinlock_core.report import RunArtefacts, collect_sections

    assert cli("run", *TOY, "stage=t_make", "--no-report").exit_code == 0
    get_plugin_manager().register(_BrokenReportPlugin(), name="broken")
    sections = {s.key: s for s in collect_sections(RunArtefacts(tmp_path / "runs" / "toy" / "default"))}
    assert sections["plugin-broken"].status == "error"
    assert "broken on purpose" in sections["plugin-broken"].blocks[0].text
    assert sections["toy"].status == "ok" and sections["run"].status == "ok"  # the others are kept


def test_only_selected_hook_plugins_load(monkeypatch, cli):
    monkeypatch.setenv("SPINLOCK_PLUGINS", "core")
    from spinlock_core.plugins import reset_plugin_manager

    reset_plugin_manager()
    assert get_plugin_manager().get_plugin("testplugin") is None
    assert cli("hello").exit_code != 0


def test_trace_switch_prints_hook_calls(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SPINLOCK_TRACE_HOOKS", "1")
    from spinlock_core.plugins import reset_plugin_manager

    reset_plugin_manager()
    get_plugin_manager().hook.describe_artefact(path=tmp_path)
    assert "[hook] describe_artefact" in capsys.readouterr().err


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    docs = (Path(__file__).parents[2] / "docs" / "hooks.md").read_text()
    assert re.search(rf"^## `{hook}\(", docs, re.M), f"docs/hooks.md has no section for {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    source = Path(__file__).read_text()
    assert f"def test_hook_{hook}_" in source


def test_hooks_doc_is_generated_from_the_specs():
    from spinlock_core.docs_hooks import render

    docs = (Path(__file__).parents[2] / "docs" / "hooks.md").read_text()
    assert docs == render(), "regenerate: python -m spinlock_core.docs_hooks > docs/hooks.md"
