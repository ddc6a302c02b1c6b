"""Issue #20, point 9: what a new user sees from `plugins list`, `run --dry-run`, `replay` and
`visualize ic-gallery`."""

from __future__ import annotations

import importlib.util

import pytest

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.runner import Runner
from spinlock_core.specs import ComponentSpec

from ..conftest import TOY


def test_missing_optional_dependency_is_found_without_importing_it():
    spec = ComponentSpec(
        name="x",
        implementation="os:getcwd",
        extras={"requires": {"json": "stdlib", "no_such_module_xyz": "pip install 'x[extra]'"}},
    )
    assert registry.missing_requirements(spec) == {"no_such_module_xyz": "pip install 'x[extra]'"}
    assert registry.missing_requirements(ComponentSpec(name="y", implementation="os:getcwd")) == {}


@pytest.mark.skipif(importlib.util.find_spec("neuralop") is not None, reason="neuraloperator is installed")
def test_fno_without_neuraloperator_is_not_ok_in_plugins_list_nor_in_a_dry_run(cli):
    result = cli("plugins", "list", "--kind", "backbones")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if " fno " in x)
    assert "missing: neuralop (pip install 'spinlock[neuralop]')" in line  # the extra not eaten
    result = cli("run", "backbone=fno", "--dry-run", "run.dir=dry")
    output = " ".join(result.output.split())
    assert "warning: spinlock.backbones:fno needs neuralop" in output
    assert "pip install 'spinlock[neuralop]'" in output


def test_unknown_stage_message_is_punctuated(cli):
    result = cli("run", *TOY, "stage=train", "--dry-run")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "unknown stage 'train'. Installed stages: " in output
    assert output.rstrip().endswith(".")


def test_replay_prints_theta_ic_type_and_seed(cli, tmp_path):
    run_dir = tmp_path / "toy"
    Runner(compose([*TOY, "stage=generate", "generate.n_samples=4", f"run.dir={run_dir}"])).run()
    result = cli("replay", str(run_dir / "dataset"), "--index", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("θ: ") and "=" in lines[0]
    assert lines[1].startswith("IC type: ") and "unknown" not in lines[1]
    assert lines[2].startswith("seed: run 0; sample seeds: ic ")


def test_ic_gallery_writes_into_the_run_directory_and_says_where(cli, tmp_path):
    result = cli("visualize", "ic-gallery", "domain=reaction_diffusion", "--per-type", "1", "--size", "16")
    assert result.exit_code == 0, result.output
    path = tmp_path / "runs" / "reaction_diffusion" / "default" / "figures" / "ic-gallery.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "ic-gallery.png").exists()
    assert "wrote runs/reaction_diffusion/default/figures/ic-gallery.png" in " ".join(result.output.split())
