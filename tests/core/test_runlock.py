"""The run directory lock: one `spinlock run` at a time, released however a run ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from spinlock_core.errors import exit_code_for
from spinlock_core.runlock import LOCK_FILE, RunLockedError, lock_holder, run_lock

from ..conftest import TOY

HOLDER = """
import sys, time
from spinlock_core.runlock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


def _hold(run_dir):
    """A separate process holding the lock of ``run_dir`` until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_exits_2_naming_the_holder_and_runs_once_the_holder_is_killed(cli, tmp_path):
    run_dir = tmp_path / "shared"
    holder = _hold(run_dir)
    try:
        result = cli("run", *TOY, "stage=t_make", f"run.dir={run_dir}", "--no-report")
        text = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert f"pid {holder.pid}" in text and socket.gethostname() in text and "in use" in text
        assert not (run_dir / "made.txt").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    result = cli("run", *TOY, "stage=t_make", f"run.dir={run_dir}", "--no-report")
    assert result.exit_code == 0, result.output
    assert (run_dir / "made.txt").is_file()
    assert "did not finish cleanly" in " ".join(result.output.split())  # the stale lock, taken over
    assert lock_holder(run_dir) == {}  # released at the end


def test_the_error_is_a_usage_error_and_says_who_holds_the_lock(tmp_path):
    holder = _hold(tmp_path)
    try:
        with pytest.raises(RunLockedError) as info, run_lock(tmp_path):
            pass
        assert exit_code_for(info.value) == 2
        assert f"pid {holder.pid}" in str(info.value) and "-c" in str(info.value)
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_records_its_holder_is_reentrant_and_released_on_an_exception(tmp_path):
    with pytest.raises(ValueError), run_lock(tmp_path):
        record = json.loads((tmp_path / LOCK_FILE).read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["started"] and record["argv"]
        with run_lock(tmp_path):  # the runner inside `spinlock run` takes it again
            pass
        assert lock_holder(tmp_path)["pid"] == os.getpid()
        raise ValueError("boom")
    assert lock_holder(tmp_path) == {}
    with run_lock(tmp_path):  # free again, no warning needed
        pass


def test_sigterm_releases_the_lock_cleanly(tmp_path):
    proc = _hold(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert lock_holder(tmp_path) == {}


def test_a_lock_kept_by_an_orphaned_child_of_a_dead_run_is_taken_over(tmp_path):
    # the dead run's forked child still holds the flock; the recorded pid no longer exists
    (tmp_path / ".spinlock").mkdir()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(120)\n",
            str(tmp_path / LOCK_FILE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        record = {"pid": int(dead.stdout), "host": socket.gethostname(), "started": "x", "argv": ["spinlock"]}
        (tmp_path / LOCK_FILE).write_text(json.dumps(record))
        with run_lock(tmp_path):
            assert lock_holder(tmp_path)["pid"] == os.getpid()
    finally:
        child.kill()
        child.wait()


def test_only_rank_0_takes_the_lock(tmp_path, monkeypatch):
    holder = _hold(tmp_path)
    try:
        monkeypatch.setenv("RANK", "1")
        with run_lock(tmp_path):  # rank 1 runs under rank 0's lock, never waits for it
            pass
    finally:
        holder.kill()
        holder.wait()
