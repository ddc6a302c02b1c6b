"""``spinlock replay``: regenerate a stored sample and check it equals what is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import DatasetError
from ._common import JsonFlag, guarded


def _describe(ds, index: int) -> list[str]:
    """What sample ``index`` was made from: θ (decoded), its IC type, the run seed and its own seeds."""
    from ..params import ParameterSpace

    lines = []
    if 0 <= index < len(ds):
        row = ds.read("theta/values", [index])
        space = ParameterSpace.from_description(json.loads(ds.attrs["parameter_space"]))
        theta = space.from_matrix(row)
        lines.append("θ: " + ", ".join(f"{k}={float(v[0]):.6g}" for k, v in theta.items()))
        if ds.has("samples/ic_type"):
            kind = int(ds.read("samples/ic_type", [index])[0])
            names = json.loads(ds.attrs.get("ic_types", "[]"))
            lines.append(f"IC type: {names[kind] if 0 <= kind < len(names) else f'#{kind} (unknown)'}")
        seeds = [
            f"{s} {int(ds.read(f'seeds/{s}', [index])[0])}"
            for s in ("ic", "operator")
            if ds.has(f"seeds/{s}")
        ]
        lines.append(
            f"seed: run {ds.attrs.get('seed', '?')}"
            + (f"; sample seeds: {', '.join(seeds)}" if seeds else "")
        )
    return lines


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
    from ..artefacts import ArtefactError
    from ..replay import compare_replay
    from ..storage import Dataset

    with Dataset(dataset) as ds:  # checks the files; then what replay needs of them
        lacking = [a for a in ("config", "device") if a not in ds.attrs]
        lacking += [n for n in ("samples/chunk", "samples/batch", "theta/values", "ic") if not ds.has(n)]
        if not lacking:
            described = _describe(ds, index)
    if lacking:
        raise ArtefactError(
            f"{dataset}: expected a dataset made by `spinlock run stage=generate`, found one lacking "
            f"{', '.join(lacking)}"
        )
    report = compare_replay(dataset, index, device)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for line in described:
            typer.echo(line)
        for name in ("ic", "trajectories"):
            if name in report:
                r = report[name]
                typer.echo(
                    f"{name}: {'identical' if r['equal'] else 'DIFFERENT'} (max |diff| {r['max_abs_diff']:.3g})"
                )
    if not report["identical"]:
        raise DatasetError(f"replay of sample {index} differs from the stored data")
