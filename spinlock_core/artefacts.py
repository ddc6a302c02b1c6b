"""One error path for artefact files: open, check, or say which file is wrong and why.

Every reader of a dataset shard, feature table, token file, checkpoint sidecar or JSON sidecar
opens it through :func:`open_h5` or :func:`read_json`, which check the format and the groups,
attributes or keys the reader needs. A file that fails raises :class:`ArtefactError` naming the
file, what was expected and what was found; the CLI prints it and exits 2 (a bad input, not a
crash). :func:`reading` turns whatever a reader still trips over (a truncated chunk, a missing
attribute) into the same error.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import DatasetError, StageError

__all__ = ["ArtefactError", "HDF5_SIGNATURE", "open_h5", "read_json", "reading", "what_is"]

#: The first 8 bytes of every HDF5 file (without a user block).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class ArtefactError(StageError, DatasetError):
    """An artefact file is not what its reader expects (format, schema, groups, keys).

    A :class:`DatasetError` for code that catches those, and a usage error for the CLI (exit 2,
    through :class:`StageError`): the input is wrong, spinlock is not.
    """


def what_is(path: Path) -> str:
    """A few words on what ``path`` holds, for error messages."""
    path = Path(path)
    if not path.exists():
        return "nothing (no such file)"
    if path.is_dir():
        return "a directory"
    size = path.stat().st_size
    if size == 0:
        return "an empty file"
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_SIGNATURE:
        return f"an HDF5 file of {size} bytes"
    if head.startswith(b"PK"):
        return f"a zip archive of {size} bytes"
    if head[:1] in (b"{", b"["):
        return f"a JSON-like text file of {size} bytes"
    return f"a file of {size} bytes starting with {head!r}"


def _fail(path: Path, kind: str, found: str, hint: str = "") -> ArtefactError:
    return ArtefactError(f"{path}: expected {kind}, found {found}" + (f"; {hint}" if hint else ""))


def open_h5(path, kind: str, required: tuple[str, ...] = (), attrs: tuple[str, ...] = (), hint: str = ""):
    """``h5py.File(path, "r")`` after checking it is HDF5 holding ``required`` paths and root ``attrs``.

    ``kind`` says what the file should be ("a dataset shard"). Raises :class:`ArtefactError`.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise _fail(path, kind, what_is(path), hint)
    with open(path, "rb") as f:
        head = f.read(8)
    if head != HDF5_SIGNATURE:
        raise _fail(path, f"{kind} (an HDF5 file)", what_is(path), hint)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise _fail(
            path, kind, f"an unreadable HDF5 file ({str(exc).splitlines()[0]}: truncated?)", hint
        ) from None
    missing = [name for name in required if name not in handle]
    missing += [f"attribute {a!r}" for a in attrs if a not in handle.attrs]
    if missing:
        have = ", ".join(sorted(handle.keys())[:8]) or "nothing"
        handle.close()
        raise _fail(path, f"{kind} with {', '.join(missing)}", f"an HDF5 file holding {have}", hint)
    return handle


def read_json(path, kind: str, required: tuple[str, ...] = (), container: type = dict) -> Any:
    """The JSON value in ``path``, checked to be a ``container`` with the ``required`` keys."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"{kind} (JSON)", f"an unreadable file ({type(exc).__name__}: {exc})") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        if os.environ.get("SPINLOCK_DEBUG"):
            raise  # SPINLOCK_DEBUG=1 lets the reader's own exception through, as the CLI does
        found = f"invalid JSON ({type(exc).__name__}: {exc}), in {what_is(path)}"
        raise _fail(path, f"{kind} (JSON)", found) from None
    if not isinstance(value, container):
        raise _fail(path, f"{kind} (a JSON {container.__name__})", f"a JSON {type(value).__name__}")
    missing = [k for k in required if k not in value]
    if missing:
        raise _fail(path, f"{kind} with keys {missing}", f"keys {sorted(value)[:8]}")
    return value


@contextlib.contextmanager
def reading(path, kind: str):
    """Turn a reader's low-level failure on ``path`` into an :class:`ArtefactError` naming it."""
    import yaml

    try:
        yield
    except ArtefactError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IndexError, AttributeError, yaml.YAMLError) as exc:
        found = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise _fail(Path(path), kind, f"a file that does not read as one ({found})") from None
