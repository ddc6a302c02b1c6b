"""`run.force` re-makes a stage from nothing; resume only from checkpoints of the same config and data."""

from __future__ import annotations

import json

import pytest
import torch

from spinlock_core.checkpoint import load_checkpoint, save_checkpoint
from spinlock_core.config import compose
from spinlock_core.errors import StageError
from spinlock_core.runner import Runner, StageContext

from ..conftest import TOY

pytest.importorskip("spinlock_vqvae")
pytest.importorskip("spinlock_u_afno")

RD = [
    "domain=reaction_diffusion",
    "device=cpu",
    "generate.n_samples=16",
    "generate.grid=16",
    "generate.steps=6",
]
TOKENIZER = [*RD, "stage=tokenizer", "features=[initial]", "tokenizer.epochs=2", "tokenizer.device=cpu"]
MNO = [
    *RD,
    "stage=mno",
    "features=[]",
    "mno.epochs=1",
    "mno.batch_size=4",
    "mno.tbptt.window=3",
    "mno.save_every=2",
]


def _replaced(run_dir, pattern):
    return list((run_dir / ".spinlock" / "replaced").glob(pattern))


def _text(result):
    return " ".join(result.output.split())


def test_force_after_a_change_of_n_samples_remakes_the_tokenizer_from_nothing(cli, tmp_path):
    first = cli("run", *TOKENIZER, f"run.dir={tmp_path}", "--no-report")
    assert first.exit_code == 0, first.output
    again = cli(
        "run", *TOKENIZER, "generate.n_samples=8", "run.force=true", f"run.dir={tmp_path}", "--no-report"
    )
    assert again.exit_code == 0, again.output  # was: "checkpoint was fit on 16 rows, table has 8"
    state, _ = load_checkpoint(tmp_path / "tokenizer" / "model.pt")
    assert state["split"]["n_rows"] == 8
    assert "resuming" not in _text(again)
    old = _replaced(tmp_path, "*/tokenizer/checkpoint.pt")  # the whole folder, checkpoint included
    assert old and load_checkpoint(old[0])[0]["split"]["n_rows"] == 16


def test_a_resumed_tokenizer_says_from_which_epoch(cli, tmp_path):
    assert cli("run", *TOKENIZER, f"run.dir={tmp_path}", "--no-report").exit_code == 0
    (tmp_path / "tokenizer" / "model.pt").unlink()  # as if killed after the last checkpoint
    again = cli("run", *TOKENIZER, f"run.dir={tmp_path}", "--no-report")
    assert again.exit_code == 0, again.output
    assert "tokenizer: resuming from" in _text(again) and "after epoch 2 of 2" in _text(again)


def test_a_tokenizer_checkpoint_of_another_table_is_not_resumed(cli, tmp_path):
    assert cli("run", *TOKENIZER, f"run.dir={tmp_path}", "--no-report").exit_code == 0
    origin = tmp_path / "tokenizer" / "checkpoint.origin.json"
    recorded = json.loads(origin.read_text())
    origin.write_text(json.dumps({**recorded, "input": "0" * 16}))  # fit on another table
    (tmp_path / "tokenizer" / "model.pt").unlink()
    again = cli("run", *TOKENIZER, f"run.dir={tmp_path}", "--no-report")
    assert again.exit_code == 0, again.output
    assert "not resuming" in _text(again) and "another feature table" in _text(again)
    assert _replaced(tmp_path, "*/tokenizer/checkpoint.pt")


def _weights(path):
    return load_checkpoint(path)[0]["model"]


def test_force_after_a_change_of_the_dataset_retrains_the_mno_from_nothing(cli, tmp_path):
    assert cli("run", *MNO, f"run.dir={tmp_path}", "--no-report").exit_code == 0
    old = _weights(tmp_path / "mno" / "model.pt")
    again = cli("run", *MNO, "generate.n_samples=12", "run.force=true", f"run.dir={tmp_path}", "--no-report")
    assert again.exit_code == 0, again.output
    assert "resuming" not in _text(again)
    new = _weights(tmp_path / "mno" / "model.pt")
    assert any(not torch.equal(old[k], new[k]) for k in old)  # was: bitwise the old run's weights
    assert _replaced(tmp_path, "*/mno/checkpoints/step_*.pt")  # named by optimizer step


def test_an_mno_checkpoint_of_another_dataset_is_not_resumed(tmp_path, capsys):
    from spinlock_core.mno.train import train

    config = compose([*MNO, f"run.dir={tmp_path}", "mno.epochs=2"])
    Runner(compose([*MNO, f"run.dir={tmp_path}", "stage=generate"])).run()
    context = StageContext(config=config, run_dir=tmp_path, stage="mno", fingerprint="f")
    train(context, stop_after_steps=2)
    manifest = tmp_path / "dataset" / "manifest.json"
    manifest.write_text(manifest.read_text() + "\n")  # a dataset made again differently
    capsys.readouterr()
    train(context)
    err = " ".join(capsys.readouterr().err.split())
    assert "not resuming" in err and "another dataset" in err
    assert _replaced(tmp_path, "*/mno/checkpoints/step_00000002.pt")


def test_a_rejected_config_under_force_keeps_the_old_artefacts(cli, tmp_path):
    assert cli("run", *MNO, f"run.dir={tmp_path}", "--no-report").exit_code == 0
    config_yaml = (tmp_path / "config.yaml").read_text()
    # valid field by field, so composed; the backbone refuses it when the stage builds it
    blocks = "backbone.overrides={num_afno_blocks: 5}"
    bad = cli("run", *MNO, blocks, "run.force=true", f"run.dir={tmp_path}", "--no-report")
    assert bad.exit_code == 2, bad.output
    assert "num_afno_blocks=5 must divide" in _text(bad)
    assert (tmp_path / "mno" / "model.pt").is_file() and list((tmp_path / "mno" / "checkpoints").glob("*.pt"))
    assert (tmp_path / "config.yaml").read_text() == config_yaml
    assert Runner(compose([*MNO, f"run.dir={tmp_path}"])).plan() == [("generate", "skip"), ("mno", "skip")]


def _fake_checkpoint(folder, name, step):
    save_checkpoint(folder / name, {"x": torch.zeros(1)}, {"kind": "mno", "step": step}, notify=False)


def test_latest_compares_steps_with_steps(tmp_path):
    from spinlock_core.mno.train import _latest

    _fake_checkpoint(tmp_path, "step_00000012.pt", 12)
    _fake_checkpoint(tmp_path, "epoch_0003.pt", 15)  # 3 epochs of 5 steps: later than step 12
    assert _latest(tmp_path).name == "epoch_0003.pt"
    _fake_checkpoint(tmp_path, "step_00000015.pt", 15)  # same step: the epoch one is after validation
    assert _latest(tmp_path).name == "epoch_0003.pt"
    _fake_checkpoint(tmp_path, "step_00000016.pt", 16)
    assert _latest(tmp_path).name == "step_00000016.pt"


def test_a_run_that_only_skips_leaves_config_yaml_as_it_was(cli, tmp_path):
    run_dir = f"run.dir={tmp_path}"
    assert cli("run", *TOY, "stage=all", "pipeline=[t_make,t_use]", run_dir, "--no-report").exit_code == 0
    before = (tmp_path / "config.yaml").read_text()
    again = cli("run", *TOY, "stage=t_make", "pipeline=[t_make,t_use]", run_dir, "--no-report")
    assert again.exit_code == 0 and "skipped" in again.output
    assert (tmp_path / "config.yaml").read_text() == before  # still `stage: all` for --from


def test_an_interrupted_dataset_of_another_config_keeps_its_config_yaml(tmp_path):
    Runner(compose([*RD, "stage=generate", "features=[]", f"run.dir={tmp_path}"])).run()
    before = (tmp_path / "config.yaml").read_text()
    (tmp_path / ".spinlock" / "stages" / "generate.json").unlink()  # as if killed before the end
    (tmp_path / "dataset" / "manifest.json").unlink()
    runner = Runner(
        compose([*RD, "stage=generate", "features=[]", "generate.n_samples=8", f"run.dir={tmp_path}"])
    )
    with pytest.raises(StageError, match="interrupted"):
        runner.run()
    assert (tmp_path / "config.yaml").read_text() == before
