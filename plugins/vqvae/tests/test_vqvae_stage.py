"""The tokenizer stage with the categorical VQ-VAE on a small reaction-diffusion run."""

from __future__ import annotations

import json

import pytest

from spinlock_core import registry
from spinlock_core.config import compose
from spinlock_core.plugins import reset_plugin_manager
from spinlock_core.runner import Runner

SMALL = [
    "domain=reaction_diffusion",
    "device=cpu",
    "stage=tokenizer",
    "generate.n_samples=32",
    "generate.grid=16",
    "generate.steps=8",
    "features=[initial,summary]",
    "tokenizer.epochs=3",
    "tokenizer.device=cpu",
]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    registry.clear_cache()
    reset_plugin_manager()


def test_tokenizer_stage_trains_saves_reloads_encodes(tmp_path):
    from spinlock_core.stages.tokenizer import feature_table
    from spinlock_vqvae import CategoricalVQVAE

    Runner(compose([*SMALL, f"run.dir={tmp_path}"])).run()
    model = tmp_path / "tokenizer" / "model.pt"
    assert (tmp_path / "tokenizer" / "dashboards" / "utilization.png").is_file()
    table, columns = feature_table(tmp_path / "features" / "features.h5")
    assert all(c.split("/")[0] in ("initial", "summary") for c in columns)
    tokens = CategoricalVQVAE.load(model, device="cpu").encode(table, columns)
    assert tokens.shape[0] == 32 and tokens.shape[1] % 3 == 0  # categories x 3 levels


def test_inspect_describes_the_tokenizer(tmp_path):
    from typer.testing import CliRunner

    from spinlock_core.cli import build_app

    Runner(compose([*SMALL, f"run.dir={tmp_path}"])).run()
    result = CliRunner().invoke(build_app(), ["inspect", str(tmp_path / "tokenizer")])
    assert result.exit_code == 0 and "categor" in result.output.lower()


def test_a_checkpoint_of_another_config_is_not_resumed(tmp_path):
    Runner(compose([*SMALL, f"run.dir={tmp_path}"])).run()
    Runner(compose([*SMALL, f"run.dir={tmp_path}", "tokenizer.codebook_size=4", "run.force=true"])).run()
    meta = json.loads((tmp_path / "tokenizer" / "model.json").read_text())
    assert meta["config"]["codebook_size"] == 4
    assert list((tmp_path / ".spinlock" / "replaced").glob("*/tokenizer/checkpoint.json"))


def test_tokenize_and_report_commands(tmp_path):
    import h5py
    from typer.testing import CliRunner

    from spinlock_core.cli import build_app

    Runner(compose([*SMALL, f"run.dir={tmp_path}"])).run()
    app, runner = build_app(), CliRunner()
    result = runner.invoke(app, ["tokenize", str(tmp_path), "--tokenizer", str(tmp_path)])
    assert result.exit_code == 0, result.output
    with h5py.File(tmp_path / "features" / "tokens.h5") as f:
        tokens, names = f["tokens"][...], json.loads(f.attrs["token_names"])
    assert tokens.shape == (32, len(names)) and tokens.min() >= 0
    result = runner.invoke(app, ["report", "tokenizer", str(tmp_path), "--out", str(tmp_path / "dash")])
    assert result.exit_code == 0 and (tmp_path / "dash" / "training_curves.png").is_file()
    missing = runner.invoke(app, ["tokenize", str(tmp_path), "--tokenizer", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no tokenizer at" in missing.output
