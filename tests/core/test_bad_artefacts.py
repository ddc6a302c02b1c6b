"""Every artefact reader refuses a bad file the same way: exit 2, the file named, no traceback.

A finished run is copied and one of its files replaced by a non-HDF5 file, a foreign HDF5 file
(valid HDF5, not ours), a truncated copy, or garbage JSON; each command that reads it must say
which file is wrong instead of crashing.
"""

from __future__ import annotations

import json
import shutil

import h5py
import pytest

from ..conftest import run_spinlock

pytest.importorskip("spinlock_vqvae")

RUN = [
    "domain=reaction_diffusion",
    "device=cpu",
    "generate.n_samples=16",
    "generate.grid=16",
    "generate.steps=6",
    "stage=tokenizer",
    "features=[initial,summary]",
    "tokenizer.epochs=2",
    "tokenizer.device=cpu",
]
SHARD, MANIFEST = "dataset/<first shard>", "dataset/manifest.json"
FEATURES, SIDECAR = "features/features.h5", "tokenizer/model.json"
KINDS = ("not_hdf5", "foreign_hdf5", "truncated", "garbage_json")


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("good") / "run"
    done = run_spinlock("-q", "run", *RUN, f"run.dir={run_dir}", "--no-report", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return run_dir


def _spoil(path, kind):
    if kind == "not_hdf5":
        path.write_text("this is not an HDF5 file\n")
    elif kind == "foreign_hdf5":
        path.unlink()
        with h5py.File(path, "w") as f:
            f.create_dataset("something", data=[1, 2, 3])
            f.attrs["made_by"] = "someone else"
    elif kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_text('{"schema_version": "1.0", "shards": [oops')


def _target(command, kind):
    if kind == "garbage_json":
        return MANIFEST if command in ("inspect", "replay", "report") else SIDECAR
    return SHARD if command in ("inspect", "replay", "report") else FEATURES


def _args(command, run_dir):
    return {
        "inspect": ["inspect", str(run_dir / "dataset")],
        "replay": ["replay", str(run_dir / "dataset"), "--index", "0"],
        "tokenize": ["tokenize", str(run_dir), "--tokenizer", str(run_dir)],
        "compare-codebooks": ["compare-codebooks", str(run_dir), str(run_dir), "--permutations", "2"],
        "report": ["report", str(run_dir)],
    }[command]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["inspect", "replay", "tokenize", "compare-codebooks", "report"])
def test_a_bad_artefact_exits_2_naming_the_file(cli, good_run, tmp_path, command, kind):
    run_dir = tmp_path / "run"
    shutil.copytree(good_run, run_dir)
    target = _target(command, kind)
    if target == SHARD:  # the shard the manifest lists first, wherever the writer put it
        target = "dataset/" + json.loads((run_dir / MANIFEST).read_text())["shards"][0]
    _spoil(run_dir / target, kind)
    result = cli(*_args(command, run_dir))
    text = " ".join(result.output.split())
    assert result.exit_code == 2, (result.exit_code, text, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert target.split("/")[-1] in text, text
    assert "expected" in text, text


def test_report_of_a_truncated_run_says_the_dataset_is_incomplete(cli, good_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(good_run, run_dir)
    (run_dir / MANIFEST).unlink()  # as after a kill before generate finished
    result = cli("report", str(run_dir))
    text = " ".join(result.output.split())
    assert result.exit_code == 0, text
    assert "warning" in text and "incomplete" in text and "manifest.json" in text
    page = (run_dir / "report.html").read_text()
    assert "Dataset incomplete" in page
