"""The dataset on disk: HDF5 parts, shards and a manifest (schema in docs/dataset-format.md).

Crash safety comes from the layout, not from HDF5 (which is not crash-safe):

* while generating, every finished batch is one small HDF5 *part* file written to a
  temporary name and renamed into place (``parts/rank<r>/part-<first>-<last>.h5``), so a
  kill at any moment leaves only whole parts; resuming regenerates exactly the samples no
  part holds, so nothing is missing or duplicated;
* when a rank has all its samples, its parts are merged into ``shard-<r>.h5`` (again via a
  temporary name) and deleted; rank 0 writes ``manifest.json`` last. A dataset is complete
  exactly when its manifest exists.

Readers (:class:`Dataset`) see one dataset ordered by global sample index, whatever the
number of shards.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DatasetError

__all__ = [
    "SCHEMA_VERSION",
    "STATUS",
    "write_part",
    "completed_indices",
    "merge_parts",
    "write_manifest",
    "Dataset",
]

SCHEMA_VERSION = "1.0"
#: Per-sample status codes stored in ``samples/status``.
STATUS = {"ok": 0, "diverged": 1, "failed": 2}
_PART = re.compile(r"^part-(\d+)-(\d+)\.h5$")


def temporary_name(path: Path) -> Path:
    """Where to write ``path`` before renaming it into place (hidden, per process)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _write_arrays(group, arrays: dict[str, Any], chunk_first: set[str], compression: str | None) -> None:
    import h5py

    for name, value in arrays.items():
        if isinstance(value, dict):
            _write_arrays(group.require_group(name), value, chunk_first, compression)
            continue
        value = np.asarray(value)
        if value.dtype.kind in "UO":
            group.create_dataset(name, data=value.astype(object), dtype=h5py.string_dtype())
            continue
        kwargs: dict[str, Any] = {}
        if name in chunk_first and value.ndim > 1 and len(value):
            kwargs["chunks"] = (1, *value.shape[1:])  # one sample per chunk: random access
            if compression and compression != "none":
                kwargs["compression"] = compression
                kwargs["shuffle"] = True
        group.create_dataset(name, data=value, **kwargs)


def write_part(
    directory: Path,
    indices: np.ndarray,
    arrays: dict[str, Any],
    attrs: dict[str, Any] | None = None,
    *,
    chunked: Iterable[str] = ("trajectories", "ic"),
    compression: str | None = "gzip",
) -> Path:
    """Atomically write one batch (global ``indices``, arrays with the sample axis first)."""
    import h5py

    indices = np.asarray(indices, dtype=np.int64)
    if np.any(np.diff(indices) != 1):
        raise ValueError("a part holds a contiguous run of sample indices")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"part-{indices[0]:09d}-{indices[-1]:09d}.h5"
    tmp = temporary_name(path)
    with h5py.File(tmp, "w") as f:
        f.create_dataset("index", data=indices)
        _write_arrays(f, arrays, set(chunked), compression)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
    os.replace(tmp, path)
    return path


def completed_indices(directory: Path) -> set[int]:
    """Global indices held by whole part files in ``directory`` (stray temporaries are removed)."""
    done: set[int] = set()
    if not directory.is_dir():
        return done
    for path in directory.iterdir():
        if path.name.startswith("."):
            path.unlink(missing_ok=True)  # a temporary from a killed run
            continue
        m = _PART.match(path.name)
        if m:
            done.update(range(int(m.group(1)), int(m.group(2)) + 1))
    return done


def _parts(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if _PART.match(p.name))


def _copy_tree(source, target, rows: slice, create: bool, total: int) -> None:
    import h5py

    for name, item in source.items():
        if isinstance(item, h5py.Group):
            _copy_tree(item, target.require_group(name), rows, create, total)
            continue
        if create:
            kwargs: dict[str, Any] = {}
            if item.chunks is not None and item.ndim > 1:
                kwargs.update(chunks=(1, *item.shape[1:]), compression=item.compression, shuffle=item.shuffle)
            target.create_dataset(name, shape=(total, *item.shape[1:]), dtype=item.dtype, **kwargs)
        target[name][rows] = item[...]
        for key, value in item.attrs.items():
            target[name].attrs[key] = value


def merge_parts(directory: Path, shard: Path, attrs: dict[str, Any]) -> Path:
    """Merge every part in ``directory`` (sorted by index) into ``shard``, atomically; delete parts."""
    import h5py

    parts = _parts(directory)
    if not parts:
        raise DatasetError(f"no parts to merge in {directory}")
    sizes = []
    for p in parts:
        m = _PART.match(p.name)
        sizes.append(int(m.group(2)) - int(m.group(1)) + 1)
    total = sum(sizes)
    tmp = temporary_name(shard)
    with h5py.File(tmp, "w") as out:
        start = 0
        for i, (p, size) in enumerate(zip(parts, sizes, strict=True)):
            with h5py.File(p, "r") as src:
                _copy_tree(src, out, slice(start, start + size), create=i == 0, total=total)
            start += size
        for key, value in attrs.items():
            out.attrs[key] = value
    os.replace(tmp, shard)
    for p in parts:
        p.unlink()
    return shard


def write_manifest(root: Path, shards: list[Path], n_samples: int, attrs: dict[str, Any]) -> Path:
    """Write ``manifest.json`` (atomically): the dataset is complete once it exists."""
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "n_samples": int(n_samples),
        "shards": [s.name for s in shards],
        **attrs,
    }
    path = root / "manifest.json"
    tmp = temporary_name(path)
    tmp.write_text(json.dumps(manifest, indent=2, default=str))
    os.replace(tmp, path)
    return path


class Dataset:
    """Read access to a complete dataset directory (or a single shard file), by global index."""

    def __init__(self, path):
        import h5py

        path = Path(path)
        if path.is_dir():
            manifest_path = path / "manifest.json"
            if not manifest_path.is_file():
                raise DatasetError(
                    f"{path} holds no complete dataset (no manifest.json); an interrupted `generate` "
                    f"resumes when you run the same command again"
                )
            self.manifest = json.loads(manifest_path.read_text())
            files = [path / s for s in self.manifest["shards"]]
        else:
            self.manifest = {}
            files = [path]
        major = str(self.manifest.get("schema_version", SCHEMA_VERSION)).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise DatasetError(f"{path}: dataset schema {major}.x, this spinlock reads {SCHEMA_VERSION}")
        self.path = path
        self._files = [h5py.File(f, "r") for f in files]
        self._index = np.concatenate([f["index"][...] for f in self._files])
        self._order = np.argsort(self._index, kind="stable")
        counts = np.cumsum([0] + [len(f["index"]) for f in self._files])
        self._where = np.searchsorted(counts, np.arange(len(self._index)), side="right") - 1
        self._offset = np.arange(len(self._index)) - counts[self._where]

    @property
    def attrs(self) -> dict[str, Any]:
        return dict(self._files[0].attrs)

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self):
        return iter(self.keys())

    def keys(self) -> list[str]:
        names: list[str] = []
        self._files[0].visit(lambda name: names.append(name))
        return names

    def array_names(self) -> list[str]:
        """Paths of the arrays (not the groups), e.g. ``theta/values``."""
        import h5py

        return [n for n in self.keys() if isinstance(self._files[0][n], h5py.Dataset)]

    def shape(self, name: str) -> tuple[int, ...]:
        """Shape of array ``name`` across all shards."""
        first = self._files[0][name].shape
        return (len(self), *first[1:])

    def has(self, name: str) -> bool:
        return name in self._files[0]

    def read(self, name: str, indices=None) -> np.ndarray:
        """Array ``name`` for the given global indices (default: all, in index order)."""
        if not self.has(name):
            raise DatasetError(f"{self.path} has no array {name!r}; it has: {', '.join(self.keys())}")
        rows = self._order if indices is None else self._order[np.asarray(indices)]
        if len(self._files) == 1:
            rows_sorted = np.sort(rows)
            data = self._files[0][name][rows_sorted] if len(rows) else self._files[0][name][:0]
            back = np.argsort(np.argsort(rows))
            return data[back]
        return np.stack([self._files[self._where[r]][name][self._offset[r]] for r in rows])

    def array_attrs(self, name: str) -> dict[str, Any]:
        return dict(self._files[0][name].attrs)

    def close(self) -> None:
        for f in self._files:
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
