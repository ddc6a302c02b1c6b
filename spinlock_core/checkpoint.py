"""Checkpoints that load without executing pickled code.

A checkpoint is one ``torch.save`` file holding only tensors and plain Python values
(dicts, lists, str, int, float, bool, None), so ``torch.load(..., weights_only=True)``
reads it, plus a JSON sidecar (``<name>.json``) with the same metadata for people and tools.
Writes are atomic: a crash mid-write never leaves a truncated checkpoint under the final name.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import CheckpointError

__all__ = ["CHECKPOINT_SCHEMA", "save_checkpoint", "load_checkpoint", "read_metadata", "atomic_write_bytes"]

#: Major.minor of the checkpoint layout; a different major version refuses to load.
CHECKPOINT_SCHEMA = "1.0"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def save_checkpoint(path, state: dict[str, Any], metadata: dict[str, Any], *, notify: bool = True) -> Path:
    """Save ``state`` (tensors and plain values) with ``metadata`` (JSON-able) atomically.

    ``metadata`` should name the implementation (``kind``, ``name``) and hold its
    unstructured config; the schema and spinlock versions are added here. Fires the
    ``on_checkpoint_saved`` hook unless ``notify`` is false.
    """
    import io

    import torch

    from . import __version__

    path = Path(path)
    meta = {"schema": CHECKPOINT_SCHEMA, "spinlock_version": __version__, **metadata}
    buffer = io.BytesIO()
    torch.save({"metadata_json": json.dumps(meta), "state": state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_bytes(_sidecar(path), json.dumps(meta, indent=2, default=str).encode())
    if notify:
        from .plugins import get_plugin_manager

        get_plugin_manager().hook.on_checkpoint_saved(path=path, metadata=meta)
    return path


def _check_schema(meta: dict, path: Path) -> None:
    found = str(meta.get("schema", "?"))
    if found.split(".")[0] != CHECKPOINT_SCHEMA.split(".")[0]:
        raise CheckpointError(
            f"{path}: checkpoint schema {found} is incompatible with this spinlock "
            f"(reads {CHECKPOINT_SCHEMA.split('.')[0]}.x); re-create it with this version"
        )


def load_checkpoint(path, map_location="cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """``(state, metadata)`` of a checkpoint, loaded with ``weights_only=True``."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
        meta = json.loads(payload["metadata_json"])
    except Exception as exc:
        raise CheckpointError(
            f"{path}: not a readable spinlock checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    _check_schema(meta, path)
    return payload["state"], meta


def read_metadata(path) -> dict[str, Any]:
    """The metadata of a checkpoint, from its JSON sidecar when present (no torch import)."""
    path = Path(path)
    sidecar = _sidecar(path)
    if sidecar.is_file():
        meta = json.loads(sidecar.read_text())
        _check_schema(meta, path)
        return meta
    return load_checkpoint(path)[1]
