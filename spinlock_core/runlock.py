"""An exclusive lock per run directory, held for a whole ``spinlock run``.

The lock is ``fcntl.flock`` on ``<run_dir>/.spinlock/lock``. The kernel releases a flock when
its process dies, however it dies (``kill -9`` included), so a lock left by a dead run never
blocks the next one. The file also records who holds it (pid, host, start time, command), so a
second run is told who is in its way and exits with code 2 (:class:`RunLockedError`, a
:class:`~spinlock_core.errors.StageError`).

* A lock file that still names a holder when the lock is taken was left by a run that did not
  finish cleanly (killed): it is taken over with a warning naming that run.
* A lock still held although its recorded process is gone (same host, pid no longer exists:
  a forked child of the dead run holds the inherited descriptor) is stale too: the file is
  replaced and the lock taken, with a warning.
* Holding is re-entrant within one process; a clean exit, an exception, Ctrl-C and SIGTERM
  (turned into ``SystemExit(143)`` while the lock is held, unless a handler is already set)
  all release it and clear the file.
* Under ``torchrun`` only rank 0 takes the lock; the other ranks run under its protection.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from .distributed import is_rank0
from .errors import StageError

__all__ = ["LOCK_FILE", "RunLockedError", "run_lock", "lock_holder"]

#: The lock file, relative to the run directory.
LOCK_FILE = ".spinlock/lock"

_held: dict[Path, list[int]] = {}  # resolved run dir -> [fd, depth]


class RunLockedError(StageError):
    """Another live ``spinlock run`` holds the run directory's lock."""


def _read(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 65536).decode(errors="replace").strip()
        return json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}


def lock_holder(run_dir) -> dict:
    """What the lock file of ``run_dir`` records (``{}`` when free or cleanly released)."""
    path = Path(run_dir) / LOCK_FILE
    try:
        text = path.read_text().strip()
        return json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_here(holder: dict) -> bool:
    """The holder ran on this host and its process no longer exists."""
    pid = holder.get("pid")
    return holder.get("host") == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid)


def _describe(holder: dict) -> str:
    if not holder:
        return "an unknown process (the lock file records no holder)"
    command = " ".join(str(a) for a in holder.get("argv") or []) or "?"
    return (
        f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started "
        f"{holder.get('started', '?')}, command `{command}`"
    )


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _acquire(run_dir: Path) -> int | None:
    """Take the lock of ``run_dir``; the open descriptor, or ``None`` where flock is unsupported."""
    from .console import warn

    path = run_dir / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            if holder and _dead_here(holder) and _same_file(fd, path):
                warn(
                    f"the run that locked {run_dir} ({_describe(holder)}) is gone but a process it "
                    f"started still holds the lock; taking the run directory over"
                )
                path.unlink(missing_ok=True)
                os.close(fd)
                continue
            os.close(fd)
            raise RunLockedError(
                f"run directory {run_dir} is in use by another spinlock run: {_describe(holder)}. "
                f"Wait for it to finish, or use another run.dir or run.name."
            ) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                warn(f"{path}: this filesystem does not support locks; running without one")
                return None
            raise
        if not _same_file(fd, path):  # replaced by a takeover between open and flock
            os.close(fd)
            continue
        previous = _read(fd)
        if previous and previous.get("pid") != os.getpid():
            warn(
                f"{run_dir} was locked by a run that did not finish cleanly ({_describe(previous)}); "
                f"taking the lock over"
            )
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "argv": [os.path.basename(sys.argv[0]) or "python", *sys.argv[1:]],
            "cwd": os.getcwd(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        return fd
    raise RunLockedError(f"could not take the lock {path}: it kept being replaced; retry")


def _release(fd: int | None) -> None:
    if fd is None:
        return
    import fcntl

    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signal.SIGTERM)


@contextlib.contextmanager
def run_lock(run_dir) -> Iterator[None]:
    """Hold the exclusive lock of ``run_dir`` (created if missing) for the ``with`` block.

    Raises :class:`RunLockedError` naming the holder when another live run has it.
    """
    if not is_rank0():
        yield
        return
    run_dir = Path(run_dir)
    key = run_dir.resolve()
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    fd = _acquire(run_dir)
    _held[key] = [fd, 1]
    handler = None
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        handler = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
        del _held[key]
        _release(fd)
