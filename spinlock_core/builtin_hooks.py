"""The core's own hook implementations, registered through the ``spinlock.plugins`` entry point
like any third-party plugin: ``spinlock inspect`` for run directories and checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

from .hookspecs import hookimpl


def _describe_run_dir(path: Path):
    from rich.table import Table

    from .runner import STATE_DIR

    stamps = sorted((path / STATE_DIR / "stages").glob("*.json"))
    table = Table("stage", "fingerprint", "finished", "seconds", "outputs", title=f"run directory {path}")
    for stamp_file in stamps:
        stamp = json.loads(stamp_file.read_text())
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


@hookimpl(trylast=True)
def describe_artefact(path):
    path = Path(path)
    if path.is_dir() and (path / "config.yaml").is_file():
        return _describe_run_dir(path)
    if path.suffix == ".pt" and path.with_suffix(".json").is_file():
        return _describe_checkpoint(path)
    return None
