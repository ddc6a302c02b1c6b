"""The dataset on disk: HDF5 parts, shards and a manifest (schema in docs/dataset-format.md).

Crash safety comes from the layout, not from HDF5 (which is not crash-safe):

* while generating, every chunk is one HDF5 *part* file written under a temporary name and
  renamed into place when whole (``parts/rank<r>/part-<first>-<last>.h5``), so a kill at any
  moment leaves only whole parts; resuming regenerates exactly the samples no part holds, so
  nothing is missing or duplicated;
* the parts *are* the dataset: when every rank has its samples, rank 0 checks that the parts
  hold each index exactly once and writes ``manifest.json`` listing them. Nothing is re-read or
  re-compressed. A dataset is complete exactly when its manifest exists. (Datasets of earlier
  versions list merged ``shard-<r>.h5`` files instead; they read the same.)

Readers (:class:`Dataset`) see one dataset ordered by global sample index, whatever the
number of files.
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
    "part_path",
    "completed_indices",
    "PART_NAME",
    "write_manifest",
    "Dataset",
]

SCHEMA_VERSION = "1.0"
#: Per-sample status codes stored in ``samples/status``.
STATUS = {"ok": 0, "diverged": 1, "failed": 2}
PART_NAME = re.compile(r"^part-(\d+)-(\d+)\.h5$")


def temporary_name(path: Path) -> Path:
    """Where to write ``path`` before renaming it into place (hidden, per process)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def part_path(directory: Path, first: int, last: int) -> Path:
    """The part file of global sample indices ``first..last`` in ``directory``."""
    return directory / f"part-{first:09d}-{last:09d}.h5"


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
    path = part_path(directory, int(indices[0]), int(indices[-1]))
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
        m = PART_NAME.match(path.name)
        if m:
            done.update(range(int(m.group(1)), int(m.group(2)) + 1))
    return done


def _parts(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if PART_NAME.match(p.name))


def write_manifest(root: Path, shards: list[Path], n_samples: int, attrs: dict[str, Any]) -> Path:
    """Write ``manifest.json`` (atomically): the dataset is complete once it exists.

    ``shards`` are the files that hold the samples (the part files, or merged shards of older
    datasets), stored relative to ``root``.
    """
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "n_samples": int(n_samples),
        "shards": [Path(s).relative_to(root).as_posix() for s in shards],
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
        from .artefacts import ArtefactError, open_h5, read_json, reading

        path = Path(path)
        if path.is_dir():
            manifest_path = path / "manifest.json"
            if not manifest_path.is_file():
                raise DatasetError(
                    f"{path} holds no complete dataset (no manifest.json); an interrupted `generate` "
                    f"resumes when you run the same command again"
                )
            self.manifest = read_json(manifest_path, "a dataset manifest", ("schema_version", "shards"))
            if not isinstance(self.manifest["shards"], list) or not self.manifest["shards"]:
                raise ArtefactError(
                    f"{manifest_path}: expected a dataset manifest listing its shards, "
                    f"found shards={self.manifest['shards']!r}"
                )
            files = [path / str(s) for s in self.manifest["shards"]]
        else:
            self.manifest = {}
            files = [path]
        self.path = path
        self._files = []
        try:
            for f in files:
                self._files.append(open_h5(f, "a spinlock dataset shard", required=("index",)))
                version = self.manifest.get("schema_version", self._files[-1].attrs.get("schema_version"))
                self._check_schema(f, version)
            with reading(path, "a spinlock dataset"):
                indices = [f["index"][...] for f in self._files]
        except BaseException:
            self.close()
            raise
        n = self.manifest.get("n_samples")
        if n is not None and sum(len(i) for i in indices) != n:
            self.close()
            raise ArtefactError(
                f"{path}: expected a dataset of {n} samples (manifest.json), found "
                f"{sum(len(i) for i in indices)} in its shards: incomplete or mixed; regenerate it"
            )
        self._index = np.concatenate(indices)
        self._order = np.argsort(self._index, kind="stable")
        counts = np.cumsum([0] + [len(f["index"]) for f in self._files])
        self._where = np.searchsorted(counts, np.arange(len(self._index)), side="right") - 1
        self._offset = np.arange(len(self._index)) - counts[self._where]

    @staticmethod
    def _check_schema(file: Path, version) -> None:
        if version is None:
            return
        major = str(version.decode() if isinstance(version, bytes) else version).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            from .artefacts import ArtefactError

            raise ArtefactError(
                f"{file}: expected dataset schema {SCHEMA_VERSION.split('.')[0]}.x, found schema "
                f"{version}; regenerate it with this spinlock"
            )

    @property
    def paths(self) -> list[Path]:
        """The files that hold the samples (parts, or merged shards of older datasets)."""
        return [Path(f.filename) for f in self._files]

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
        from .artefacts import reading

        with reading(self.path, f"a dataset whose array {name!r} reads"):
            return self._gather(name, np.asarray(rows, dtype=np.int64))

    def _gather(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` (file order) of ``name``: one read per file, a slice where rows are contiguous."""
        first = self._files[0][name]
        out = np.empty((len(rows), *first.shape[1:]), dtype=first.dtype)
        where = self._where[rows] if len(self._files) > 1 else np.zeros(len(rows), dtype=np.int64)
        offset = self._offset[rows] if len(self._files) > 1 else rows
        for k in np.unique(where):
            sel = np.nonzero(where == k)[0]
            wanted, back = np.unique(offset[sel], return_inverse=True)
            ds = self._files[k][name]
            if wanted[-1] - wanted[0] + 1 == len(wanted):
                data = ds[int(wanted[0]) : int(wanted[-1]) + 1]
            else:
                data = ds[wanted]
            out[sel] = data[back]
        return out

    def array_attrs(self, name: str) -> dict[str, Any]:
        return dict(self._files[0][name].attrs)

    def close(self) -> None:
        for f in self._files:
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
