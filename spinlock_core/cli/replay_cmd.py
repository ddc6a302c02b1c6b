"""``spinlock replay``: regenerate a stored sample and check it equals what is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import DatasetError
from ._common import JsonFlag, guarded


@guarded
def replay(
    dataset: Annotated[Path, typer.Argument(help="A dataset directory (run_dir/dataset) or shard file.")],
    index: Annotated[int, typer.Option("--index", "-i", help="Global sample index.")],
    device: Annotated[
        str | None, typer.Option(help="Device to replay on (default: the one that made it).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Regenerate sample INDEX from its stored seed and θ and compare it with the stored arrays."""
    from ..replay import compare_replay

    report = compare_replay(dataset, index, device)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for name in ("ic", "trajectories"):
            if name in report:
                r = report[name]
                typer.echo(
                    f"{name}: {'identical' if r['equal'] else 'DIFFERENT'} (max |diff| {r['max_abs_diff']:.3g})"
                )
    if not report["identical"]:
        raise DatasetError(f"replay of sample {index} differs from the stored data")
