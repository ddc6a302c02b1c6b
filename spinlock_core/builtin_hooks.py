"""The core's own hook implementations, registered through the ``spinlock.plugins`` entry point
like any third-party plugin: ``spinlock inspect`` for run directories and checkpoints, and the
run report's sections."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .hookspecs import hookimpl


def _describe_run_dir(path: Path):
    from rich.table import Table

    from .runner import STATE_DIR

    stamps = [json.loads(f.read_text()) for f in (path / STATE_DIR / "stages").glob("*.json")]
    stamps.sort(key=lambda stamp: stamp.get("finished", ""))  # the order they ran in
    table = Table("stage", "fingerprint", "finished", "seconds", "outputs", title=f"run directory {path}")
    for stamp in stamps:
        table.add_row(
            stamp["stage"],
            stamp["fingerprint"],
            stamp.get("finished", "?"),
            f"{stamp.get('seconds', 0):.1f}",
            ", ".join(stamp.get("outputs", [])),
        )
    if not stamps:
        table.caption = "no stage has finished here yet"
    return table


def _describe_checkpoint(path: Path):
    from rich.pretty import Pretty

    from .checkpoint import read_metadata

    meta = read_metadata(path)
    return Pretty({"checkpoint": str(path), **meta}, max_length=20, max_depth=3)


def _describe_dataset(path: Path):
    from rich.console import Group
    from rich.table import Table

    from .storage import STATUS, Dataset

    with Dataset(path) as ds:
        attrs = ds.attrs
        status = ds.read("samples/status")
        values = ds.read("theta/values")
        unit = ds.read("theta/unit")
        keys = ds.keys()
        traj_shape = ds._files[0]["trajectories"].shape if ds.has("trajectories") else None
        feature_shapes = {
            k.split("/", 1)[1]: ds._files[0][k].shape for k in keys if k.startswith("features/")
        }
    files = [path] if path.is_file() else sorted(path.glob("*.h5"))
    size = sum(f.stat().st_size for f in files)
    head = Table(box=None, show_header=False, title=f"dataset {path}")
    head.add_row("samples", str(len(status)))
    for name, code in STATUS.items():
        head.add_row(f"  {name}", str(int((status == code).sum())))
    head.add_row("domain / operator", f"{attrs['domain']} / {attrs['operator']}")
    head.add_row("channels", ", ".join(json.loads(attrs["channels"])))
    head.add_row("grid", str(json.loads(attrs["grid"])["shape"]))
    head.add_row(
        "steps, stride, realizations",
        f"{attrs['steps']}, {attrs['trajectory_stride']}, {attrs['realizations']}",
    )
    head.add_row("trajectories", str(traj_shape) if traj_shape else "not stored")
    head.add_row("storage", f"{size / 2**20:.1f} MiB in {len(files)} file(s)")
    head.add_row("centred L2 discrepancy", f"{attrs['centered_l2_discrepancy']:.3g}")
    for name, shape in feature_shapes.items():
        head.add_row(f"features/{name}", str(list(shape)))
    coverage = Table("parameter", "kind", "min", "max", "unit-cube coverage", title="parameter coverage")
    for j, p in enumerate(json.loads(attrs["parameter_space"])):
        col = values[:, j]
        cells = np.histogram(unit[:, j], bins=10, range=(0, 1))[0]
        coverage.add_row(
            p["name"], p["kind"], f"{col.min():.4g}", f"{col.max():.4g}", f"{(cells > 0).sum()}/10 deciles"
        )
    return Group(head, coverage)


def _describe_features(path: Path):
    import h5py
    from rich.console import Group
    from rich.panel import Panel

    panels = []
    with h5py.File(path, "r") as f:
        for name in (k for k in f if k != "index"):
            columns = json.loads(f[name].attrs["columns"])
            nan = json.loads(f[name].attrs["nan_counts"])
            listed = ", ".join(
                f"{c['name']}" + (f" [{nan[c['name']]} NaN]" if nan.get(c["name"]) else "") for c in columns
            )
            title = f"{name}: table {list(f[name]['table'].shape)}, {len(columns)} columns"
            panels.append(Panel(listed, title=title, title_align="left"))
    return Group(f"feature tables in {path}", *panels)


def _is_features_file(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "index" in f and any("columns" in f[k].attrs for k in f if k != "index")
    except OSError:
        return False


@hookimpl(trylast=True)
def describe_artefact(path):
    path = Path(path)
    if path.is_dir() and (path / "config.yaml").is_file():
        return _describe_run_dir(path)
    if path.is_dir() and (path / "features.h5").is_file():
        path = path / "features.h5"
    if path.suffix == ".h5" and _is_features_file(path):
        return _describe_features(path)
    if (path.is_dir() and (path / "manifest.json").is_file()) or path.suffix == ".h5":
        return _describe_dataset(path)
    if path.suffix == ".pt" and path.with_suffix(".json").is_file():
        return _describe_checkpoint(path)
    return None


@hookimpl
def register_report_sections(register, run):
    from .report.core import register_core_sections

    register_core_sections(register, run)
