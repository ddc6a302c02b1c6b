"""The two sides of a comparison: each run's tokenizer, feature table, z-scaling, and the
columns they share.

Tokenizers of different domains see different columns (ARCHITECTURE and INITIAL depend on the
operator and the channels); the SUMMARY and TEMPORAL columns are defined for any channel count,
so the shared space is the columns of those families (``families`` in the config) that both
sides have. Two sets matter:

* ``shared`` – columns both tokenizers *reconstruct* (decoder outputs of both): the space where
  prototypes are compared;
* ``fed`` – columns tokenizer A *reads* that B's feature table has with at least one finite
  value: what cross-encoding feeds A. A column B's table holds only as NaN (e.g. a spread over
  realizations of a run with one realization per sample) carries nothing, so it is not fed (``empty``).
  Every other column A reads (``absent``, ``empty`` included) is set to A's own imputation
  value (its training median) without raising its missing indicator, so it sits at the centre
  of A's distribution and carries no information about the probe.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import yaml

from spinlock_core.api import (
    ArtefactError,
    CheckpointError,
    DatasetError,
    feature_table,
    open_features,
    read_json,
    reading,
)

from .stats import RobustScale
from .views import MISSING_SUFFIX, CodebookView, load_view

__all__ = ["Run", "SharedColumns", "load_run", "shared_columns", "family_of", "scalers"]


def family_of(column: str) -> str:
    """``"summary/l2_tmean__mean"`` -> ``"summary"``."""
    return column.split("/", 1)[0] if "/" in column else ""


@attrs.define
class Run:
    """One side: a tokenizer view and the feature table of its own run."""

    label: str
    path: Path
    domain: str
    view: CodebookView
    table: np.ndarray  # raw [N, D]
    columns: list[str]

    def select(self, names: list[str], rows=None) -> np.ndarray:
        """Raw values of the columns ``names`` (all rows, or ``rows``)."""
        pos = {c: i for i, c in enumerate(self.columns)}
        missing = [c for c in names if c not in pos]
        if missing:
            raise DatasetError(f"{self.path}: feature table lacks {missing[:3]}")
        t = self.table if rows is None else self.table[rows]
        return t[:, [pos[c] for c in names]]

    def own_tokens(self) -> np.ndarray:
        """Tokens of the run's own feature table (rows with no finite input, failed samples, skipped)."""
        raw = self.select(self.view.input_columns)
        return self.view.encode(raw[np.isfinite(raw).any(axis=1)])


def load_run(path: Path, side: str) -> Run:
    """Tokenizer, feature table and domain name of a run directory; ``side`` is "A" or "B"."""
    path = Path(path)
    features = path / "features" / "features.h5"
    if not features.is_file():
        raise DatasetError(f"no feature tables in {path} (looked for {features}); run the features stage")
    open_features(features).close()  # a clear error for a file that is not a feature table
    with reading(features, "a spinlock feature table file (features.h5)"):
        table, columns = feature_table(features)
    domain = "?"
    config = path / "config.yaml"
    if config.is_file():
        with reading(config, "a run's config.yaml (a YAML mapping)"):
            domain = ((yaml.safe_load(config.read_text()) or {}).get("domain") or {}).get("name", "?")
    label = f"{side} ({path.resolve().name}, {domain})"
    model = path / "tokenizer" / "model.pt"
    kind = "a tokenizer checkpoint (tokenizer/model.pt)"
    if model.with_suffix(".json").is_file():
        read_json(model.with_suffix(".json"), "a checkpoint's metadata sidecar", ("schema", "kind", "name"))
    try:
        with reading(model, kind):
            view = load_view(path)
    except CheckpointError as exc:
        if not model.is_file():
            raise
        raise ArtefactError(f"expected {kind}: {exc}") from None
    return Run(label, path, domain, view, np.asarray(table, dtype=np.float64), list(columns))


@attrs.frozen
class SharedColumns:
    shared: list[str]
    fed: list[str]
    absent: list[str]
    families: tuple[str, ...]
    #: Columns of ``families`` A reads that B's table has, but only as non-finite values
    #: (part of ``absent``: held neutral, not fed).
    empty: list[str] = attrs.field(factory=list)

    def counts(self, which: str) -> dict[str, int]:
        """Columns of ``which`` ("shared", "fed", "absent", "empty") per family; every family of
        ``families`` is listed, with 0 where it contributes none."""
        out: dict[str, int] = {f: 0 for f in self.families} if which in ("shared", "fed") else {}
        for c in getattr(self, which):
            out[family_of(c)] = out.get(family_of(c), 0) + 1
        return out


def shared_columns(a: Run, b: Run, families: tuple[str, ...]) -> SharedColumns:
    """The columns of ``families`` both sides have (see the module doc); an error when none."""

    def eligible(c: str) -> bool:
        return family_of(c) in families and not c.endswith(MISSING_SUFFIX)

    b_out, b_table = set(b.view.output_columns), set(b.columns)
    shared = [c for c in a.view.output_columns if eligible(c) and c in b_out]
    candidates = [c for c in a.view.input_columns if eligible(c) and c in b_table]
    finite = np.isfinite(b.select(candidates)).any(axis=0) if candidates else np.zeros(0, bool)
    fed = [c for c, ok in zip(candidates, finite, strict=True) if ok]
    empty = [c for c, ok in zip(candidates, finite, strict=True) if not ok]
    absent = [c for c in a.view.input_columns if c not in set(fed)]
    if not shared:
        fams_a = sorted({family_of(c) for c in a.view.output_columns})
        fams_b = sorted({family_of(c) for c in b.view.output_columns})
        raise DatasetError(
            f"the tokenizers of {a.path} and {b.path} share no column of the families {list(families)} "
            f"(A reconstructs {fams_a}, B {fams_b}); train both with those families "
            f"(tokenizer.families) or pick others with --set families=[...]"
        )
    if not fed:
        raise DatasetError(
            f"{b.path}: its feature table has no finite value in any column of the families "
            f"{list(families)} that the tokenizer of {a.path} reads ({len(empty)} such columns are all NaN); "
            f"nothing to cross-encode"
        )
    return SharedColumns(shared, fed, absent, tuple(families), empty)


def scalers(a: Run, b: Run, names: list[str], space: str) -> tuple[RobustScale, RobustScale]:
    """z-scalings of ``names`` for A and B: each its own table ("domain") or both the pooled one."""
    if space == "domain":
        return RobustScale.fit(a.select(names)), RobustScale.fit(b.select(names))
    pooled = RobustScale.fit(np.concatenate([a.select(names), b.select(names)]))
    return pooled, pooled
