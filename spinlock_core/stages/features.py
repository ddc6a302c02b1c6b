"""The ``features`` stage: one named table per enabled family, columns declared up front.

Tables go to ``features/features.h5``: group ``<family>`` holds ``table`` (``[N, D]`` or
``[N, T', D]`` float32, NaN where undefined) and the manifest as attributes (``columns``:
name, unit, scope, aggregate, doc; ``nan_counts`` per column). Families computed inline by
``generate`` with the same config are copied; the others are computed from the stored
trajectories (the offline path), batch by batch on the device.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np

from .. import registry
from ..config._yaml import load_yaml
from ..console import info, progress
from ..errors import DatasetError
from ..interfaces import DomainInfo, FeatureBatch, FeatureFamily, Grid
from ..params import ParameterSpace
from ..storage import Dataset, temporary_name

__all__ = ["run", "extract_offline", "domain_info", "read_table"]


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
    info_ = domain_info(ds)
    space = info_.parameter_space
    n = len(ds)
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
            for name, family in families.items():
                out[name].append(family.extract(batch).float().cpu().numpy())
            advance(len(idx))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _reusable(ds: Dataset, config, name: str, manifest: list[dict]) -> bool:
    """An inline table is reused only if made with the same options and the same manifest."""
    made = load_yaml(ds.attrs["config"])
    stored = json.loads(ds.attrs.get("feature_columns", "{}")).get(name)
    return (
        made.get("feature", {}).get(name) == (config.data.get("feature") or {}).get(name)
        and stored == manifest
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


def read_table(path, family: str) -> tuple[np.ndarray, list[dict]]:
    """``(table, columns)`` of one family from a ``features.h5`` file."""
    import h5py

    with h5py.File(path, "r") as f:
        if family not in f:
            raise DatasetError(
                f"{path} has no table {family!r}; it has: {', '.join(k for k in f if k != 'index')}"
            )
        return f[family]["table"][...], json.loads(f[family].attrs["columns"])


def run(context) -> None:
    config = context.config
    cfg = context.section("extract")
    families = {
        name: registry.load("features", name).create(config.sections.get(f"feature.{name}"))
        for name in config.core.features
    }
    with Dataset(context.path("dataset")) as ds:
        info_ = domain_info(ds)
        manifests = {name: [attrs.asdict(c) for c in fam.columns(info_)] for name, fam in families.items()}
        inline = {k.split("/", 1)[1] for k in ds if k.startswith("features/") and k.count("/") == 1}
        reuse = {
            n for n in families if cfg.reuse_inline and n in inline and _reusable(ds, config, n, manifests[n])
        }
        tables = {name: ds.read(f"features/{name}") for name in reuse}
        todo = {n: f for n, f in families.items() if n not in reuse}
        if reuse:
            info(f"features computed inline by generate, reused: {', '.join(sorted(reuse))}")
        tables |= extract_offline(ds, todo, context.device, cfg.batch_size)
        for name, family in families.items():
            _check(family, manifests[name], tables[name], name)
        index = np.arange(len(ds))
        made_with = load_yaml(ds.attrs["config"])
    attrs_ = {"config": config.to_yaml(), "dataset_config": json.dumps(made_with, default=str)}
    _write(context.path("features/features.h5"), tables, manifests, index, attrs_)
    for name, table in tables.items():
        info(
            f"  {name}: {list(table.shape)} ({len(manifests[name])} columns, {int(np.isnan(table).sum())} NaN values)"
        )
