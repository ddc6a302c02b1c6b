"""PartStream: batches written in any row order make the same part as one write of the chunk."""

import os
import resource
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from spinlock_core.errors import StorageError
from spinlock_core.part_writer import PartStream, storage_error
from spinlock_core.storage import completed_indices, write_part


def _batch(rows, first):
    n = len(rows)
    return {
        "ic": (np.asarray(rows, np.float32)[:, None, None, None] + first) * np.ones((n, 2, 3, 3), np.float32),
        "trajectories": np.asarray(rows, np.float16)[:, None, None] * np.ones((n, 2, 4), np.float16),
        "samples": {
            "status": np.asarray(rows, np.int8) % 2,
            "reason": np.array([f"r{r}" for r in rows], dtype=object),
        },
        "features": {"summary": np.asarray(rows, np.float32)[:, None] * np.ones((n, 5), np.float32)},
    }


def _whole(n, first):
    return {"theta": {"values": np.arange(n * 2, dtype=np.float64).reshape(n, 2) + first}}


def _read(path):
    out = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: out.__setitem__(name, obj[...]) if isinstance(obj, h5py.Dataset) else None
        )
        attrs = dict(f.attrs)
    return out, attrs


@pytest.mark.parametrize("compression", ["none", "lzf", "gzip"])
def test_batches_in_any_order_equal_one_write_of_the_chunk(tmp_path, compression):
    first, n = 16, 10
    order = [np.array([7, 2, 9]), np.array([0, 5]), np.array([3, 8, 1, 6, 4])]  # sorted by a batch key
    stream = PartStream(tmp_path / "s", first, first + n - 1, compression=compression, depth=1)
    for rows in order:
        stream.put(rows, _batch(rows, first))
    path = stream.finish(_whole(n, first), {"schema_version": "1.0", "note": "x"})
    expected = {**_batch(np.arange(n), first), **_whole(n, first)}
    ref = write_part(tmp_path / "w", np.arange(first, first + n), expected, compression=compression)
    got, attrs = _read(path)
    want, _ = _read(ref)
    assert sorted(got) == sorted(want)
    for name in want:
        assert np.array_equal(got[name], want[name]), name
    assert attrs["note"] == "x"
    assert completed_indices(tmp_path / "s") == set(range(first, first + n))
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.startswith(".")]


def test_abort_leaves_no_part_and_no_temporary(tmp_path):
    stream = PartStream(tmp_path, 0, 3)
    stream.put(np.array([0, 1]), _batch([0, 1], 0))
    stream.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_write_error_reaches_the_main_thread_and_removes_the_temporary(tmp_path):
    stream = PartStream(tmp_path, 0, 3)
    stream.put(np.array([0, 1]), _batch([0, 1], 0))
    bad = _batch([2, 3], 0)
    bad["ic"] = np.ones((2, 7), np.float32)  # wrong shape for the dataset made by the first batch
    stream.put(np.array([2, 3]), bad)
    with pytest.raises(Exception):  # noqa: B017 - h5py's own error type
        stream.finish(_whole(4, 0))
    assert list(tmp_path.iterdir()) == []


def test_room_and_permission_errors_name_the_file_and_the_fix(tmp_path):
    full = storage_error(tmp_path / "x.h5", OSError(28, "No space left on device"), needed=3_000_000_000)
    assert isinstance(full, StorageError)
    text = str(full)
    assert "x.h5" in text and "3.00 GB" in text and "generate.n_samples" in text and "run.dir" in text
    hdf5 = RuntimeError("Can't write data (file write failed: errno = 27, error message = 'File too large')")
    assert "file-size limit" in str(storage_error(tmp_path / "y.h5", hdf5))
    assert "writable" in str(storage_error(tmp_path / "z.h5", PermissionError(13, "Permission denied")))
    assert storage_error(tmp_path / "w.h5", ValueError("shape mismatch")) is None


_FSIZE_CHILD = r"""
import resource, signal, sys
from pathlib import Path
import numpy as np
from spinlock_core.part_writer import PartStream
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))
out = Path(sys.argv[1])
stream = PartStream(out, 0, 63)
try:
    for b in range(8):
        rows = np.arange(b * 8, b * 8 + 8)
        stream.put(rows, {"trajectories": np.ones((8, 64, 64, 16), np.float32)})
    stream.finish({})
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(1)
"""


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs POSIX file-size limits")
def test_a_file_size_limit_ends_in_a_clear_error_not_a_crash(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", _FSIZE_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr[-2000:])
    assert done.returncode != -signal.SIGSEGV
    assert "StorageError" in done.stdout and "file-size limit" in done.stdout, done.stdout
    assert list(tmp_path.iterdir()) == []  # the temporary is gone, nothing half-written kept


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (PermissionError(13, "Permission denied", "/runs/x/config.yaml"), "make /runs/x writable"),
        (OSError(30, "Read-only file system", "/runs/x/config.yaml"), "writable"),
        (OSError(28, "No space left on device", "/runs/x/dataset/manifest.json"), "the disk is full"),
    ],
)
def test_the_cli_turns_a_write_failure_into_one_line_naming_the_file(error, words, capsys):
    import typer

    from spinlock_core.cli._common import guarded

    @guarded
    def stage():
        raise error

    with pytest.raises(typer.Exit) as done:
        stage()
    assert done.value.exit_code == 1
    captured = capsys.readouterr()
    out = " ".join((captured.err + captured.out).split())
    assert error.filename in out and words in out and "Traceback" not in out


def test_other_os_errors_still_raise():
    from spinlock_core.cli._common import guarded

    @guarded
    def stage():
        raise FileNotFoundError(2, "No such file or directory", "x")

    with pytest.raises(FileNotFoundError):
        stage()


def test_an_interrupted_finish_still_waits_for_the_writer_before_abort_returns(tmp_path, monkeypatch):
    """A signal landing in finish() must not let abort() return while the writer is in HDF5:
    exiting then hangs or crashes the interpreter (Python 3.11 marks a thread whose join() was
    interrupted as stopped, so is_alive() cannot be trusted)."""
    import time

    events = []
    write = PartStream._write

    def slow_write(self, rows, arrays):
        time.sleep(0.5)
        write(self, rows, arrays)
        events.append("wrote")

    monkeypatch.setattr(PartStream, "_write", slow_write)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    stream = PartStream(tmp_path, 0, 3)
    try:
        stream.put(np.arange(4), _batch(range(4), 0))
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(KeyboardInterrupt):
            stream.finish(_whole(4, 0))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    stream.abort()
    seen = list(events)
    time.sleep(0.7)
    assert seen == events, "the writer was still writing after abort() returned"
    assert not stream.tmp.exists() and not stream.path.exists()
