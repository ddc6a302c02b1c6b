"""The ``features`` stage: one named table per enabled family, columns declared up front.

Tables go to ``features/features.h5``: group ``<family>`` holds ``table`` (``[N, D]`` or
``[N, T', D]`` float32, NaN where undefined) and the manifest as attributes (``columns``:
name, unit, scope, aggregate, doc; ``nan_counts`` per column). Families computed inline by
``generate`` with the same options and columns are copied; the others are computed from the
stored trajectories (the offline path), batch by batch on the device. Inline extraction is an
optimisation, not part of the dataset's identity: ``features=`` is not in generate's
fingerprint, so adding a family to a run extracts it here without regenerating. Adding
families is an update in place (``updates_when``): the tables of the families the run had are
kept as they are (bitwise) and only the added ones are reused or extracted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from .. import feature_health, registry
from ..config._yaml import load_yaml
from ..console import info, progress
from ..errors import DatasetError
from ..interfaces import DomainInfo, FeatureBatch, FeatureFamily, Grid
from ..params import ParameterSpace
from ..storage import STATUS, Dataset, temporary_name

__all__ = [
    "run",
    "extract_offline",
    "extract_guarded",
    "family_options",
    "domain_info",
    "read_table",
    "open_features",
]


def family_options(config, name: str) -> Any:
    """The resolved options of feature family ``name`` (defaults filled in) as JSON values, or
    ``None`` for a family without options; ``generate`` records them in the dataset's
    ``feature_options`` attribute, and an inline table is reused only where they are equal."""
    section = config.sections.get(f"feature.{name}")
    if section is None or not attrs.has(type(section)):
        return None
    return json.loads(json.dumps(attrs.asdict(section), sort_keys=True, default=str))


def domain_info(ds: Dataset) -> DomainInfo:
    """The :class:`DomainInfo` a dataset was made with, from its attributes."""
    attrs_ = ds.attrs
    grid = json.loads(attrs_["grid"])
    stride = int(attrs_["trajectory_stride"])
    derived = tuple(k.split("/")[-1] for k in ds if k.startswith("theta/derived/"))
    return DomainInfo(
        name=attrs_["domain"],
        channels=json.loads(attrs_["channels"]),
        grid=Grid(
            shape=tuple(grid["shape"]), extent=tuple(map(tuple, grid["extent"])), periodic=grid["periodic"]
        ),
        dt=float(attrs_["time_per_state"]) * stride,
        parameter_space=ParameterSpace.from_description(json.loads(attrs_["parameter_space"])),
        operator=attrs_["operator"],
        derived=derived,
    )


def _check(family: FeatureFamily, columns: list, table: np.ndarray, name: str) -> None:
    expected = len(columns)
    if table.shape[-1] != expected or (family.scope == "timestep") != (table.ndim == 3):
        raise DatasetError(
            f"family {name!r} returned shape {list(table.shape)} but declares {expected} "
            f"{family.scope} columns; fix the family or its manifest"
        )


def extract_guarded(
    families: dict[str, FeatureFamily], batch: FeatureBatch, diverged=None, failed=None
) -> dict[str, np.ndarray]:
    """``{family: rows}`` of one batch, with divergence and failure handled per sample.

    Samples flagged in ``diverged [B]`` (states NaN from some step on) get NaN rows in every
    family that reads trajectories; samples flagged in ``failed [B]`` (no data) get NaN rows in
    every family. Families never see their non-finite values (they are replaced by zeros first),
    so a family that would raise on NaN cannot fail the batch, and since families are pure per
    sample the other rows are bitwise those of a batch without the flagged samples.
    """
    import torch

    b = batch.trajectories.shape[0] if batch.trajectories is not None else len(batch.u0)
    diverged = np.zeros(b, bool) if diverged is None else np.asarray(diverged, bool)
    failed = np.zeros(b, bool) if failed is None else np.asarray(failed, bool)
    if diverged.any() or failed.any():
        traj, u0 = batch.trajectories, batch.u0
        if traj is not None:
            rows = torch.as_tensor(diverged | failed, device=traj.device).view(-1, *([1] * (traj.ndim - 1)))
            traj = torch.where(rows, torch.zeros((), dtype=traj.dtype, device=traj.device), traj)
        if u0 is not None:
            rows = torch.as_tensor(failed, device=u0.device).view(-1, *([1] * (u0.ndim - 1)))
            u0 = torch.where(rows, torch.zeros((), dtype=u0.dtype, device=u0.device), u0)
        batch = attrs.evolve(batch, trajectories=traj, u0=u0, shared={})  # new data: a fresh cache
    out = {}
    for name, family in families.items():
        table = family.extract(batch).float().cpu().numpy()
        bad = failed | (diverged if family.needs_trajectories else False)
        if bad.any():
            table = table.copy()
            table[bad] = np.nan
        out[name] = table
    return out


def extract_offline(ds: Dataset, families: dict[str, FeatureFamily], device, batch_size: int) -> dict:
    """``{family: table}`` computed from the stored trajectories of ``ds``."""
    import torch

    if not families:
        return {}
    if not ds.has("trajectories"):
        raise DatasetError(
            f"{ds.path} stores no trajectories (generate.store_trajectories=false); enable inline "
            f"features in generate or regenerate with trajectories"
        )
    stored, made = ds.shape("trajectories")[1], int(ds.attrs.get("realizations", 0))
    if stored < made:
        raise DatasetError(
            f"{ds.path} stores the trajectories of {stored} of its {made} realizations "
            f"(generate.stored_realizations={stored}), and features from fewer realizations would not "
            f"match inline ones; compute features inline (generate.inline_features=true, the default) or "
            f"regenerate with generate.stored_realizations=null"
        )
    info_ = domain_info(ds)
    space = info_.parameter_space
    n = len(ds)
    status = ds.read("samples/status") if ds.has("samples/status") else np.zeros(n, np.int8)
    out = {name: [] for name in families}
    with progress(n, "features", unit="samples") as advance:
        for start in range(0, n, batch_size):
            idx = np.arange(start, min(start + batch_size, n))
            traj = torch.as_tensor(ds.read("trajectories", idx).astype(np.float32), device=device)
            theta = space.from_matrix(ds.read("theta/values", idx))
            derived = {d: ds.read(f"theta/derived/{d}", idx) for d in info_.derived}
            batch = FeatureBatch(
                domain=info_,
                theta=theta,
                u0=torch.as_tensor(ds.read("ic", idx), device=device),
                trajectories=traj,
                time=torch.arange(traj.shape[2], device=device) * info_.dt,
                derived=derived,
            )
            rows = extract_guarded(
                families, batch, status[idx] == STATUS["diverged"], status[idx] == STATUS["failed"]
            )
            for name in families:
                out[name].append(rows[name])
            advance(len(idx))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _inline_mismatch(ds: Dataset, config, name: str, manifest: list[dict]) -> str | None:
    """Why the inline table of ``name`` cannot be reused (``None``: it can): it must have been
    made with the same resolved options and the same column manifest."""
    attrs_ = ds.attrs
    if "feature_options" in attrs_:
        made = json.loads(attrs_["feature_options"]).get(name)
        now = family_options(config, name)
    else:  # a dataset written before feature_options was recorded: the options as written
        made = (load_yaml(attrs_["config"]).get("feature") or {}).get(name)
        now = (config.data.get("feature") or {}).get(name)
    if made != now:
        return f"computed inline with feature.{name}={json.dumps(made)}, asked for {json.dumps(now)}"
    if json.loads(attrs_.get("feature_columns", "{}")).get(name) != manifest:
        return "computed inline with other columns"
    return None


def _not_extractable(ds: Dataset, todo: list[str], why: dict[str, str | None], reuse: bool) -> DatasetError:
    """The error for families neither reusable from the inline tables nor extractable offline."""
    names = ", ".join(todo)
    it = "it" if len(todo) == 1 else "them"
    reasons = "; ".join(f"{n}: {why[n]}" for n in todo if why.get(n))
    skipped = [n for n in todo if n in why and why[n] is None]  # reusable, but reuse_inline=false
    hint = (
        f"; {', '.join(skipped)} can be reused with extract.reuse_inline=true"
        if skipped and not reuse
        else ""
    )
    return DatasetError(
        f"feature famil{'y' if len(todo) == 1 else 'ies'} {names} cannot be extracted: {ds.path} "
        f"stores no trajectories (generate.store_trajectories=false) and generate did not compute "
        f"{it} inline with these options{f' ({reasons})' if reasons else ''}{hint}. To add {it}, "
        f"regenerate in a new run directory (run.name=NEW) with {names} in features=[...] "
        f"(computed inline) or with generate.store_trajectories=true"
    )


def _write(path: Path, tables: dict, manifests: dict, index: np.ndarray, attrs_: dict) -> None:
    import os

    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    with h5py.File(tmp, "w") as f:
        f.create_dataset("index", data=index)
        for name, table in tables.items():
            g = f.create_group(name)
            g.create_dataset("table", data=table.astype(np.float32), compression="gzip", shuffle=True)
            g.attrs["columns"] = json.dumps(manifests[name])
            nan = np.isnan(table).reshape(-1, table.shape[-1]).sum(0)
            g.attrs["nan_counts"] = json.dumps(
                {c["name"]: int(k) for c, k in zip(manifests[name], nan, strict=True)}
            )
        for key, value in attrs_.items():
            f.attrs[key] = value
    os.replace(tmp, path)


def open_features(path):
    """``features.h5`` opened read-only after checking its layout (every family group holds a
    ``table`` whose last axis matches its ``columns`` manifest); an ``ArtefactError`` otherwise."""
    from ..artefacts import ArtefactError, open_h5

    kind = "a spinlock feature table file (features.h5)"
    f = open_h5(path, kind, required=("index",), hint="make it with `spinlock run stage=features`")
    try:
        families = [k for k in f if k != "index"]
        if not families:
            raise ArtefactError(f"{path}: expected {kind} with at least one family, found none")
        for name in families:
            group = f[name]
            if not hasattr(group, "keys") or "table" not in group or "columns" not in group.attrs:
                raise ArtefactError(
                    f"{path}: expected family {name!r} with a table and its columns, found {group}"
                )
            try:
                columns = json.loads(group.attrs["columns"])
                names = [c["name"] for c in columns]
            except (ValueError, TypeError, KeyError) as exc:
                raise ArtefactError(
                    f"{path}: expected a JSON list of columns for family {name!r}, found {type(exc).__name__}: {exc}"
                ) from None
            width = group["table"].shape[-1] if group["table"].ndim else None
            if width != len(names):
                raise ArtefactError(
                    f"{path}: family {name!r} declares {len(names)} columns but its table has shape "
                    f"{list(group['table'].shape)}"
                )
    except BaseException:
        f.close()
        raise
    return f


def read_table(path, family: str) -> tuple[np.ndarray, list[dict]]:
    """``(table, columns)`` of one family from a ``features.h5`` file."""
    from ..artefacts import reading

    with open_features(path) as f, reading(path, "a readable feature table file"):
        if family not in f:
            raise DatasetError(
                f"{path} has no table {family!r}; it has: {', '.join(k for k in f if k != 'index')}"
            )
        return f[family]["table"][...], json.loads(f[family].attrs["columns"])


def _kept(path: Path, previous: dict | None, manifests: dict) -> dict[str, np.ndarray]:
    """For an update (families added): ``{family: table}`` of the families ``path`` was made
    with (``previous``) and still enabled with the same columns, read as they are stored."""
    if previous is None or not path.is_file():
        return {}
    with open_features(path) as f:
        return {
            name: f[name]["table"][...]
            for name in previous.get("features") or []
            if name in manifests and name in f and json.loads(f[name].attrs["columns"]) == manifests[name]
        }


def run(context) -> None:
    config = context.config
    cfg = context.section("extract")
    families = {
        name: registry.load("features", name).create(config.sections.get(f"feature.{name}"))
        for name in config.core.features
    }
    out = context.path("features/features.h5")
    with Dataset(context.path("dataset")) as ds:
        info_ = domain_info(ds)
        manifests = {name: [attrs.asdict(c) for c in fam.columns(info_)] for name, fam in families.items()}
        kept = _kept(out, context.previous if context.action == "update" else None, manifests)
        if kept:
            info(f"feature tables kept: {', '.join(kept)}")
        inline = {k.split("/", 1)[1] for k in ds if k.startswith("features/") and k.count("/") == 1}
        why = {n: _inline_mismatch(ds, config, n, manifests[n]) for n in families if n in inline}
        reuse = {n for n in families if cfg.reuse_inline and n in inline and why[n] is None} - set(kept)
        tables = kept | {name: ds.read(f"features/{name}") for name in reuse}
        todo = {n: f for n, f in families.items() if n not in tables}
        if reuse:
            info(f"features computed inline by generate, reused: {', '.join(sorted(reuse))}")
        if todo and not ds.has("trajectories"):
            raise _not_extractable(ds, list(todo), why, cfg.reuse_inline)
        if todo:
            info(f"features extracted from the stored trajectories: {', '.join(todo)}")
        tables |= extract_offline(ds, todo, context.device, cfg.batch_size)
        tables = {name: tables[name] for name in families}  # in the order of features=[...]
        for name, family in families.items():
            _check(family, manifests[name], tables[name], name)
        index = np.arange(len(ds))
        made_with = load_yaml(ds.attrs["config"])
    attrs_ = {"config": config.to_yaml(), "dataset_config": json.dumps(made_with, default=str)}
    _write(out, tables, manifests, index, attrs_)
    for name, table in tables.items():
        info(
            f"  {name}: {list(table.shape)} ({len(manifests[name])} columns, {int(np.isnan(table).sum())} NaN values)"
        )
    feature_health.warn_unhealthy(tables, manifests)  # all-NaN and constant columns, per family
