"""Progress without a terminal: plain lines at most every interval, with an honest rate."""

import os
import subprocess
import sys

from spinlock_core.console import PlainProgress

from ..conftest import TOY


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_plain_lines_at_most_every_interval():
    clock, lines = FakeClock(), []
    bar = PlainProgress(16, "generate (toy)", "samples", interval=10, clock=clock, emit=lines.append)
    for _ in range(8):
        clock.now += 1
        bar.advance(1)
    assert lines == []  # 8 s: nothing yet
    for _ in range(4):
        clock.now += 1
        bar.advance(1)
    assert len(lines) == 1  # 10 s after the start
    assert lines[0].startswith("generate (toy): 10/16 samples (62%), 1.00 samples/s, elapsed 0:10, eta 0:06")
    clock.now += 2
    bar.advance(4)  # the end is always shown
    assert (
        len(lines) == 2 and lines[1] == "generate (toy): 16/16 samples (100%), 1.14 samples/s, elapsed 0:14"
    )
    assert "eta" not in lines[1]
    bar.close()
    assert len(lines) == 2  # nothing new to show


def test_rate_is_done_over_elapsed():
    """The rate is the stage's own figure (issue #17): a fast burst after a slow start does
    not show the burst's speed."""
    clock, lines = FakeClock(), []
    bar = PlainProgress(100, "mno", "batches", interval=0, clock=clock, emit=lines.append)
    clock.now += 50
    bar.advance(1)
    clock.now += 0.5
    bar.advance(99)
    assert "1.98 batches/s" in lines[-1]  # 100 in 50.5 s; the burst alone would be 198/s


def test_close_shows_an_unfinished_state():
    clock, lines = FakeClock(), []
    bar = PlainProgress(16, "features", "samples", interval=10, clock=clock, emit=lines.append)
    clock.now += 3
    bar.advance(5)
    bar.close()
    assert lines == ["features: 5/16 samples (31%), 1.67 samples/s, elapsed 0:03, eta 0:06"]


def test_generate_into_a_log_file_prints_progress_lines(tmp_path):
    log = tmp_path / "run.log"
    args = [
        *TOY,
        "stage=generate",
        "generate.n_samples=16",
        "generate.grid=8",
        "generate.steps=4",
        "generate.batch_size=4",
        "generate.chunk_size=8",
        f"run.dir={tmp_path / 'r'}",
        "--no-report",
    ]
    env = {**os.environ, "SPINLOCK_PROGRESS_SECONDS": "0", "OMP_NUM_THREADS": "1"}
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "spinlock_core", "run", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=300,
        )
    text = log.read_text()
    assert done.returncode == 0, text
    lines = [line for line in text.splitlines() if line.startswith("generate (")]
    assert any(" 8/16 samples (50%), " in line and "samples/s" in line and "eta" in line for line in lines), (
        text
    )
    assert lines[-1].split(": ", 1)[1].startswith("16/16 samples (100%)"), text
    assert "\x1b[" not in text  # no terminal control codes in a log
