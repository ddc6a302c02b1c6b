"""Write one chunk's part file while the device makes the next batch.

The generate stage used to collect a whole chunk in host memory (8 GB for a production chunk of
256 operators with trajectories), write it in one go on the generation thread, and at the end
re-read and re-compress every part into a shard. :class:`PartStream` instead writes each batch's
rows into their final place in the chunk's part as soon as the batch is made, on a background
thread (h5py releases the GIL inside HDF5's read and write calls), with at most ``depth`` batches
waiting. The file is still written under a temporary name and renamed into place when the chunk
is whole, so a kill at any moment leaves only whole parts (see :mod:`spinlock_core.storage`).

A write that fails for lack of room (``ENOSPC``, ``EFBIG``) or permission removes the temporary
file and raises :class:`~spinlock_core.errors.StorageError` naming the file, the bytes still to
write and what to change; parts already complete are kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

from .disk import existing_parent
from .errors import StorageError
from .storage import part_path, temporary_name

__all__ = ["PartStream", "storage_error"]

_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_ACCESS = {errno.EACCES, errno.EROFS, errno.EPERM}
#: Bytes kept free beyond a batch's arrays (HDF5 metadata and chunk indexes).
_SLACK = 16 * 2**20
_FIX = (
    "make room, point run.dir at a larger disk, or write less: a smaller generate.n_samples, "
    "generate.store_trajectories=false, generate.stored_realizations=1 or a larger generate.trajectory_stride"
)


def _errno(exc: BaseException) -> int | None:
    """The OS error behind ``exc``; HDF5 reports it only in the message text."""
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    text = str(exc)
    for code in (*_ROOM, *_ACCESS):
        if f"errno = {code}," in text or os.strerror(code) in text:
            return code
    return None


def storage_error(path: Path, exc: BaseException, needed: int | None = None) -> StorageError | None:
    """A :class:`StorageError` for a write of ``path`` that failed for room or permission, else None."""
    code = _errno(exc)
    if code is None or code not in _ROOM | _ACCESS:
        return None
    free = _free_bytes(path.parent)
    if code in _ACCESS:
        return StorageError(
            f"cannot write {path}: {os.strerror(code)}; make {path.parent} writable or set run.dir to a "
            f"writable directory"
        )
    what = "the disk is full" if code != errno.EFBIG else "the file-size limit (ulimit -f) was reached"
    need = f"about {_gb(needed)} more are needed for this part, " if needed else ""
    return StorageError(
        f"cannot write {path}: {what} ({os.strerror(code)}); {need}{_gb(free)} free on its disk. "
        f"The parts already complete are kept and the run resumes from them. To go on, {_FIX}"
    )


def _free_bytes(directory: Path) -> int:
    return shutil.disk_usage(existing_parent(directory)).free


def _gb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e9:.2f} GB"


def _leaves(arrays: dict[str, Any], prefix: str = ""):
    for name, value in arrays.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{name}/")
        else:
            yield f"{prefix}{name}", np.asarray(value)


class PartStream:
    """Fill the part of chunk ``[first, last]`` batch by batch on a writer thread.

    ``put(rows, arrays)`` hands over one batch (``rows``: positions inside the chunk, arrays with
    the sample axis first); ``finish(arrays, attrs)`` adds the arrays that cover the whole chunk,
    waits for the writes and renames the part into place. ``abort()`` removes the temporary file.
    """

    def __init__(
        self,
        directory: Path,
        first: int,
        last: int,
        *,
        compression: str | None = None,
        chunked: tuple[str, ...] = ("trajectories", "ic"),
        depth: int = 2,
    ):
        self.path = part_path(directory, first, last)
        self.tmp = temporary_name(self.path)
        self.n = last - first + 1
        self.first = first
        self.compression = None if compression in (None, "none") else compression
        self.chunked = set(chunked)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._bytes_left = 0
        self._file = None
        # set by the writer as it returns; Thread.is_alive()/join() cannot be trusted after a
        # signal interrupted join() (Python 3.11 then marks a running thread as stopped)
        self._done = threading.Event()
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            raise storage_error(self.tmp, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
        self._thread = threading.Thread(target=self._work, name=f"part-writer-{first}", daemon=True)
        self._thread.start()

    # -- main thread ----------------------------------------------------------------------------
    def put(self, rows: np.ndarray, arrays: dict[str, Any]) -> None:
        """Queue one batch for writing (blocks while ``depth`` batches wait)."""
        self._raise()
        self._queue.put((np.asarray(rows, dtype=np.int64), arrays))

    def finish(self, arrays: dict[str, Any], attrs: dict[str, Any] | None = None) -> Path:
        """Write the whole-chunk arrays and ``attrs``, close and rename the part into place."""
        self.put(np.arange(self.n), {"index": np.arange(self.first, self.first + self.n), **arrays})
        self._queue.put(("close", attrs or {}))
        self._done.wait()
        self._raise()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Stop writing and remove the temporary file (complete parts are untouched)."""
        self._stop_writer()
        self.tmp.unlink(missing_ok=True)

    def _stop_writer(self) -> None:
        """Ask the writer to drop what is queued and close, and wait until it has.

        The process must not exit while the writer is inside HDF5: that hangs or crashes the
        interpreter's shutdown.
        """
        if not self._done.is_set():
            self._queue.put(("abort", None))
            self._done.wait()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._stop_writer()
            self.tmp.unlink(missing_ok=True)
            raise error

    # -- writer thread --------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            self._drain()
        finally:
            self._done.set()

    def _drain(self) -> None:
        while True:
            rows, arrays = self._queue.get()
            if isinstance(rows, str):
                self._close(arrays if rows == "close" else None)
                return
            if self._error is not None:
                continue  # drain until the main thread sees the error
            try:
                self._write(rows, arrays)
            except BaseException as exc:  # reported to the main thread, which owns the cleanup
                self._fail(exc)

    def _open(self):
        import h5py

        if self._file is None:
            self._file = h5py.File(self.tmp, "w")
        return self._file

    def _check_room(self, arrays: dict[str, Any]) -> None:
        """Refuse a write that cannot fit *before* HDF5 tries it.

        HDF5 reports a failed write from its caches, often only when a dataset is closed, and
        after one it can crash the process (seen as exit 139 on a full disk); so room and the
        file-size limit are checked here, where the error is still clean.
        """
        batch = sum(value.nbytes for _, value in _leaves(arrays)) + _SLACK
        if batch > _free_bytes(self.tmp.parent):
            raise storage_error(self.tmp, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), self._bytes_left)
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0] if resource else -1
        if limit not in (-1, getattr(resource, "RLIM_INFINITY", -1)):
            size = self.tmp.stat().st_size if self.tmp.exists() else 0
            if size + batch > limit:
                raise storage_error(
                    self.tmp, OSError(errno.EFBIG, os.strerror(errno.EFBIG)), self._bytes_left
                )

    def _write(self, rows: np.ndarray, arrays: dict[str, Any]) -> None:
        import h5py

        self._check_room(arrays)
        f = self._open()
        order = np.argsort(rows, kind="stable")
        where = rows[order]
        whole = len(rows) == self.n and np.array_equal(where, np.arange(self.n))
        for name, value in _leaves(arrays):
            if name not in f:
                self._create(f, name, value)
            value = value[order]
            if value.dtype.kind in "UO":
                value = value.astype(object)
            ds: h5py.Dataset = f[name]
            if whole:
                ds[...] = value
            else:
                ds[where] = value
            self._bytes_left = max(0, self._bytes_left - value.nbytes)

    def _create(self, f, name: str, value: np.ndarray) -> None:
        import h5py

        shape = (self.n, *value.shape[1:])
        kwargs: dict[str, Any] = {}
        leaf = name.rsplit("/", 1)[-1]
        if leaf in self.chunked and value.ndim > 1:
            kwargs["chunks"] = (1, *value.shape[1:])  # one sample per chunk: random access
            if self.compression:
                kwargs.update(compression=self.compression, shuffle=True)
        if value.dtype.kind in "UO":
            f.create_dataset(name, shape=shape, dtype=h5py.string_dtype())
            return
        f.create_dataset(name, shape=shape, dtype=value.dtype, **kwargs)
        self._bytes_left += int(np.prod(shape)) * value.dtype.itemsize

    def _fail(self, exc: BaseException) -> None:
        self._error = (
            exc if isinstance(exc, StorageError) else storage_error(self.tmp, exc, self._bytes_left) or exc
        )
        self._close_quietly()

    def _close(self, attrs: dict[str, Any] | None) -> None:
        if self._error is not None or attrs is None:
            self._close_quietly()
            return
        try:
            f = self._open()
            for key, value in attrs.items():
                f.attrs[key] = value
            f.close()
            self._file = None
        except BaseException as exc:
            self._fail(exc)

    def _close_quietly(self) -> None:
        """Close after a failed write without letting HDF5 flush into the failure again."""
        f, self._file = self._file, None
        if f is None:
            return
        with contextlib.suppress(BaseException):
            f.close()
