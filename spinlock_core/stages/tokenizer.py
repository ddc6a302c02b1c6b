"""The ``tokenizer`` stage: fit the selected tokenizer on the feature tables of the run.

Generic over tokenizers (``spinlock.tokenizers``, each a
:class:`~spinlock_core.interfaces.Tokenizer`, checked when its plugin loads): the table is
every per-sample feature family of ``features/features.h5``, columns named
``<family>/<column>``; the tokenizer decides which it uses (its config), how it imputes NaNs
and how it scales. Training checkpoints after every
epoch to ``tokenizer/checkpoint.pt`` and resumes from it when the stage is run again, but only
when ``tokenizer/checkpoint.origin.json`` shows it was made by the same stage fingerprint and the
same feature table (a digest of its values); any other checkpoint is moved to
``.spinlock/replaced/`` with a warning saying why, and training starts afresh.
"""

from __future__ import annotations

import json

import numpy as np

from .. import registry
from ..console import info, warn
from ..errors import DatasetError

__all__ = ["run", "feature_table", "table_digest"]


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


def table_digest(table: np.ndarray, columns: list[str]) -> str:
    """A digest of the input a tokenizer is fit on: shape, column names and every value."""
    import hashlib

    h = hashlib.sha256(json.dumps([list(table.shape), str(table.dtype), columns]).encode())
    h.update(np.ascontiguousarray(table).tobytes())
    return h.hexdigest()[:16]


def _resume_or_start_fresh(context, checkpoint, config: dict, origin: dict) -> None:
    """Resume ``checkpoint`` only when it was made by this stage fingerprint, tokenizer config
    and input table (``checkpoint.origin.json``, written before training starts); otherwise
    move it to ``.spinlock/replaced/`` and say why. Records ``origin`` for the new training."""
    from ..checkpoint import load_checkpoint, read_metadata
    from ..runner import move_to_replaced

    origin_path = checkpoint.with_name("checkpoint.origin.json")
    if checkpoint.is_file():
        recorded = json.loads(origin_path.read_text()) if origin_path.is_file() else {}
        saved = dict(read_metadata(checkpoint).get("config") or {})
        wanted = {k: v for k, v in config.items() if k != "name"}
        if not recorded:
            why = "it records no stage fingerprint or input"
        elif recorded.get("input") != origin["input"]:
            why = "it was fit on another feature table (rows, columns or values differ)"
        elif recorded.get("fingerprint") != origin["fingerprint"] or saved != wanted:
            why = "it was made with another config"
        else:
            training = load_checkpoint(checkpoint)[0].get("training") or {}
            epochs = context.config.get("tokenizer.epochs")
            info(
                f"tokenizer: resuming from {checkpoint} after epoch {training.get('epoch', '?')}"
                + (f" of {epochs}" if epochs else "")
            )
            return
        names = [checkpoint.name, checkpoint.with_suffix(".json").name, origin_path.name]
        run_dir = context.run_dir
        relative = [str(checkpoint.parent.relative_to(run_dir) / n) for n in names]
        target = move_to_replaced(run_dir, [r for r in relative if (run_dir / r).exists()])
        warn(f"tokenizer: not resuming {checkpoint}: {why}; moved to {target}, training afresh")
    tmp = origin_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(origin, indent=2))
    tmp.replace(origin_path)


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
    origin = {"fingerprint": context.fingerprint, "input": table_digest(table, columns)}
    _resume_or_start_fresh(context, checkpoint, context.config.data.get("tokenizer", {}), origin)
    tokenizer.fit(table, columns, checkpoint=checkpoint, resume=True)
    tokenizer.save(out / "model.pt")
    if "dashboards" in spec.extras:
        from ..specs import import_object

        import_object(spec.extras["dashboards"])(tokenizer, out / "dashboards")
    metrics = tokenizer.metrics or {}
    final = metrics.get("final") or {}
    shown = [f"  {k:<24} {float(v):.4g}" for k, v in final.items() if isinstance(v, (int, float))]
    sizes = metrics.get("split_sizes") or {}
    split = (
        f" (split {'/'.join(str(sizes[k]) for k in ('train', 'val', 'test'))} train/val/test" if sizes else ""
    )
    head = f"tokenizer {name}: {table.shape[0]} samples x {table.shape[1]} columns{split}"
    head += "; metrics on the test rows)" if split else ""
    for base, row in (metrics.get("baselines") or {}).items():
        if isinstance(row, dict) and "r2_overall" in row:
            shown.append(
                f"  baseline {base}: r2_overall {row['r2_overall']:.4g} with {row.get('codes')} codes"
            )
    info("\n".join([head, *shown]))
    dropped = (tokenizer.metrics or {}).get("dropped_columns") or {}
    if dropped:
        kinds = [r.split(":")[0].split(" of ")[0] for r in dropped.values()]
        counts = ", ".join(f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds))
        info(f"  {len(dropped)} columns dropped by preprocessing ({counts}); listed in the report")
