"""Interruptions lose little and say so: Ctrl-C / SIGTERM lines and exit codes, wall-time MNO
checkpoints, and generation chunks small enough that an interrupted run keeps most samples."""

import os
import signal
import subprocess
import sys
import time

import pytest

from spinlock_core.cli import run_cmd
from spinlock_core.config import compose
from spinlock_core.runner import Runner, StageContext
from spinlock_core.stages import generate as generate_stage
from spinlock_core.stages.generate import auto_chunk_size

from ..conftest import TOY

GENERATE = [*TOY, "stage=generate", "generate.grid=16", "generate.steps=40", "generate.batch_size=2"]


@pytest.mark.parametrize(
    ("samples", "batch", "expected"),
    [
        pytest.param(128, 16, 16, id="default-small-run-8-chunks"),
        pytest.param(4096, 64, 256, id="production-capped"),
        pytest.param(8, 2, 2, id="tiny"),
        pytest.param(3, 16, 16, id="fewer-than-a-batch"),
        pytest.param(64, 3, 9, id="multiple-of-batch"),
        pytest.param(128, 300, 300, id="batch-above-cap"),
    ],
)
def test_auto_chunk_size(samples, batch, expected):
    assert auto_chunk_size(samples, batch) == expected


def test_null_chunk_size_is_the_default_and_cuts_about_eight_chunks(tmp_path, monkeypatch):
    seen = []
    real = generate_stage.chunks_for
    monkeypatch.setattr(
        generate_stage, "chunks_for", lambda b, size, done: seen.append(size) or real(b, size, done)
    )
    config = compose([*GENERATE, "generate.n_samples=16", f"run.dir={tmp_path / 'r'}"])
    assert config.section("generate").chunk_size is None
    Runner(config).run()
    assert seen == [2]
    assert len(list((tmp_path / "r" / "dataset" / "parts" / "rank0").glob("part-*.h5"))) in (0, 8)


def test_ctrl_c_says_what_was_kept_and_exits_130(cli, monkeypatch, tmp_path):
    def interrupted(self):
        parts = self.run_dir / "dataset" / "parts" / "rank0"
        parts.mkdir(parents=True)
        for first in (0, 2, 4):
            (parts / f"part-{first:08d}-{first + 1:08d}.h5").write_bytes(b"")
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "run", interrupted)
    result = cli("run", *GENERATE, "generate.n_samples=16", f"run.dir={tmp_path / 'r'}", "--no-report")
    assert result.exit_code == 130
    assert (
        f"interrupted during generate: 6 generated samples (3 chunks) kept in {tmp_path / 'r' / 'dataset'}; "
        "run the same command to resume"
    ) in " ".join(result.output.split())


def test_message_names_mno_checkpoints_and_finished_stages(tmp_path):
    class FakeRunner:
        run_dir = tmp_path

        def state(self, name):
            return "current" if name == "generate" else "missing"

    (tmp_path / "mno" / "checkpoints").mkdir(parents=True)
    for name in ("step_00000010.pt", "step_00000020.pt", "epoch_0001.pt"):
        (tmp_path / "mno" / "checkpoints" / name).write_bytes(b"")
    plan = [("generate", "run"), ("mno", "run"), ("validate", "run")]
    assert run_cmd.interrupted_message(FakeRunner(), plan) == (
        f"interrupted during mno: 3 checkpoints kept in {tmp_path / 'mno' / 'checkpoints'}; "
        "run the same command to resume"
    )
    (tmp_path / "mno" / "checkpoints" / "epoch_0001.pt").unlink()
    for name in ("step_00000010.pt", "step_00000020.pt"):
        (tmp_path / "mno" / "checkpoints" / name).unlink()
    assert run_cmd.interrupted_message(FakeRunner(), [("generate", "run"), ("features", "run")]) == (
        f"interrupted during features: finished stages (generate) kept in {tmp_path}; run the same command to resume"
    )


def test_sigterm_keeps_finished_chunks_says_so_and_exits_143(tmp_path):
    run_dir = tmp_path / "r"
    parts = run_dir / "dataset" / "parts" / "rank0"
    # 512 chunks: the signal lands mid-run however fast or loaded the machine is
    args = [
        *GENERATE,
        "generate.n_samples=1024",
        "generate.chunk_size=2",
        f"run.dir={run_dir}",
        "--no-report",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "spinlock_core", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("part-*.h5"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    made = len(list(parts.glob("part-*.h5")))
    assert 2 <= made < 512, "the signal should land mid-run"
    assert proc.returncode == 143, out
    text = " ".join(out.split())
    assert "interrupted during generate: " in text and "run the same command to resume" in text, out
    assert "Traceback" not in out


MNO = [
    "domain=reaction_diffusion",
    "device=cpu",
    "stage=mno",
    "generate.n_samples=8",
    "generate.grid=16",
    "generate.steps=6",
    "features=[]",
    "mno.epochs=1",
    "mno.batch_size=2",
    "mno.tbptt.window=3",
]


@pytest.mark.parametrize(("minutes", "expected"), [(1e-9, 2), (5.0, 0)], ids=["elapsed", "default-not-yet"])
def test_mno_checkpoints_by_wall_time(tmp_path, minutes, expected):
    from spinlock_core.mno import train as mno_stage

    Runner(compose([*MNO, f"run.dir={tmp_path}", "stage=generate"])).run()
    config = compose([*MNO, f"run.dir={tmp_path}", f"mno.checkpoint_minutes={minutes}"])
    context = StageContext(
        config=config, run_dir=tmp_path, stage="mno", fingerprint=Runner(config).fingerprint("mno")
    )
    mno_stage.train(context, stop_after_steps=2)
    steps = sorted(p.name for p in (tmp_path / "mno" / "checkpoints").glob("step_*.pt"))
    assert len(steps) == expected
    if expected:
        assert steps[-1] == "step_00000002.pt"  # resumable: training continues from it
