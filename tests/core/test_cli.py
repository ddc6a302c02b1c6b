import json

from ..conftest import TOY, run_spinlock


def test_help_and_plugins_list_import_no_torch():
    for args in (["--help"], ["plugins", "list"], ["config", "show", "domain=toy"]):
        code = (
            "import sys; from spinlock_core.cli import build_app; from typer.testing import CliRunner; "
            f"r = CliRunner().invoke(build_app(), {args!r}); assert r.exit_code == 0, r.output; "
            "print('torch' in sys.modules)"
        )
        import subprocess
        import sys

        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().endswith("False"), f"{args} imported torch"


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.output.startswith("spinlock ")


def test_unknown_domain_exits_2_listing_installed(cli):
    result = cli("run", "domain=nope")
    assert result.exit_code == 2
    assert "unknown domain 'nope'" in result.output and "toy" in result.output


def test_bad_value_exits_2_naming_key_and_type(cli):
    result = cli("config", "show", "domain=toy", "generate.n_samples=abc")
    assert result.exit_code == 2
    assert "expected int" in result.output and "generate.n_samples" in result.output


def test_config_show_json(cli):
    result = cli("config", "show", *TOY, "stage=generate", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["generate"]["n_samples"] >= 1


def test_run_dry_run_lists_the_plan(cli):
    result = cli("run", *TOY, "stage=t_use", "--dry-run")
    assert result.exit_code == 0 and "t_make" in result.output and "t_use" in result.output


def test_run_from_saved_run_directory(cli, tmp_path):
    assert cli("run", *TOY, "stage=t_make", "t_make.value=3", f"run.dir={tmp_path / 'r'}").exit_code == 0
    result = cli("run", "--from", str(tmp_path / "r"))
    assert result.exit_code == 0 and "up to date" in result.output


def test_stage_error_exit_code(cli):
    result = cli("run", *TOY, "stage=t_use", "run.only=true")
    assert result.exit_code == 2 and "t_make" in result.output


def test_inspect_missing_path(cli):
    result = cli("inspect", "does/not/exist")
    assert result.exit_code == 2 and "no such file" in result.output  # bad input exits 2 (README)


def test_debug_variable_shows_traceback():
    result = run_spinlock("run", "domain=nope", env={"SPINLOCK_DEBUG": "1"})
    assert result.returncode == 1 and "Traceback" in result.stderr
