"""The ``tokenizer`` stage: fit the selected tokenizer on the feature tables of the run.

Generic over tokenizers (``spinlock.tokenizers``): the table is every per-sample feature family
of ``features/features.h5``, columns named ``<family>/<column>``; the tokenizer decides which it
uses (its config), how it imputes NaNs and how it scales. Training checkpoints after every
epoch to ``tokenizer/checkpoint.pt`` and resumes from it when the stage is run again.
"""

from __future__ import annotations

import json

import numpy as np

from .. import registry
from ..console import info
from ..errors import DatasetError

__all__ = ["run", "feature_table"]


def feature_table(path) -> tuple[np.ndarray, list[str]]:
    """``(table [N, D], names)``: every per-sample family of a ``features.h5``, side by side."""
    import h5py

    tables, names = [], []
    with h5py.File(path, "r") as f:
        for family in sorted(k for k in f if k != "index"):
            table = f[family]["table"][...]
            if table.ndim != 2:
                continue  # per-timestep families are curves, not rows
            tables.append(table)
            names += [f"{family}/{c['name']}" for c in json.loads(f[family].attrs["columns"])]
    if not tables:
        raise DatasetError(f"{path} holds no per-sample feature table; enable e.g. features=[summary]")
    return np.concatenate(tables, axis=1), names


def _discard_if_stale(checkpoint, config: dict, columns: list[str]) -> None:
    """Resume only a checkpoint of this very config and table; move any other one aside."""
    from ..checkpoint import read_metadata

    if not checkpoint.is_file():
        return
    meta = read_metadata(checkpoint)
    saved = dict(meta.get("config") or {})
    wanted = {k: v for k, v in config.items() if k != "name"}
    if saved != wanted or meta.get("columns") not in (None, columns):
        stale = checkpoint.with_name("checkpoint.stale.pt")
        checkpoint.replace(stale)
        checkpoint.with_suffix(".json").replace(stale.with_suffix(".json"))
        info(
            f"[yellow]a training checkpoint of another config was moved to {stale}; training afresh[/yellow]"
        )


def run(context) -> None:
    name = context.config.get("tokenizer.name")
    if not name:
        raise registry.UnknownPluginError(
            f"the tokenizer stage needs tokenizer=NAME (installed: {', '.join(registry.available('tokenizers'))})"
        )
    spec = registry.load("tokenizers", name)
    table, columns = feature_table(context.path("features/features.h5"))
    out = context.path("tokenizer")
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = spec.create(context.config.sections.get("tokenizer"))
    checkpoint = out / "checkpoint.pt"
    _discard_if_stale(checkpoint, context.config.data.get("tokenizer", {}), columns)
    tokenizer.fit(table, columns, checkpoint=checkpoint, resume=True)
    tokenizer.save(out / "model.pt")
    if "dashboards" in spec.extras:
        from ..specs import import_object

        import_object(spec.extras["dashboards"])(tokenizer, out / "dashboards")
    final = (tokenizer.metrics or {}).get("final") or {}
    shown = {k: round(float(v), 4) for k, v in final.items() if isinstance(v, (int, float))}
    info(f"tokenizer {name}: {table.shape[0]} samples x {table.shape[1]} columns; {shown}")
