"""The Python-API examples run, at tiny sizes, as a user would run them (one process each).

They share one run directory, as they would on a user's disk: the dataset is made by the first
and reused by the others (the runner skips up-to-date stages).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("examples") / "run"


def _run(script: str, run_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--tiny", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=run_dir.parent,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # tiny tensors: threads only contend
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_generate_and_load(run_dir):
    out = _run("generate_and_load.py", run_dir)
    assert "8 samples of reaction_diffusion/cno" in out and "'ok': 8" in out
    assert "sample 0: trajectory [1, 5, 3, 16, 16]" in out and "features/summary [8," in out


def test_train_tokenizer_and_encode(run_dir):
    out = _run("train_tokenizer_and_encode.py", run_dir)
    assert "encoded 8 new samples into" in out and "reconstruction MSE of the new samples" in out
    assert (run_dir / "example_tokenizer" / "model.pt").is_file()


def test_rollout_mno(run_dir):
    out = _run("rollout_mno.py", run_dir)
    lines = out[out.index("step  MNO rel. L2") :].splitlines()[1:5]
    assert [int(line.split()[0]) for line in lines] == [1, 2, 3, 4]
    assert all(float(v) >= 0 for line in lines for v in line.split()[1:])
    assert (run_dir / "example_rollout.png").read_bytes().startswith(b"\x89PNG")
