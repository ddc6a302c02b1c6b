"""``spinlock compare-codebooks``: align the vocabularies of two runs' tokenizers (an analysis plugin)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ._common import JsonFlag, RunDirArg, guarded


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


Z_MEANING = (
    "z: the score's distance from its null in null standard deviations, signed so that positive is "
    "better than chance whichever way the score runs (for a lower-is-better score, z > 0 means below "
    "the null); p: permutation p-value; 'descriptive' scores have no better direction."
)


def default_folder(run_a: Path, run_b: Path, analysis: str) -> Path:
    """``RUN_A/analyses/ANALYSIS-vs-NAME_OF_RUN_B``, with B's parent (domain) folder in the name when
    both runs have one name (``codebook_alignment-vs-fluids-default``)."""
    a, b = run_a.resolve(), run_b.resolve()
    name = b.name if b.name != a.name or a == b else f"{b.parent.name}-{b.name}"
    return run_a / "analyses" / f"{analysis}-vs-{name}"


def print_scores(result) -> None:
    """A rich table: every score beside its null (mean ± std), z and permutation p-value."""
    from rich.table import Table

    from ..console import console, info, warn

    table = Table(title=f"{result.name}: score vs null", title_justify="left")
    for column in ("measure", "value", "null mean ± std", "z", "p", "better"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    better = {"greater": "higher", "less": "lower", "two-sided": "descriptive"}
    for s in result.scores:
        null = f"{_fmt(s.null_mean)} ± {_fmt(s.null_std, 2)}"
        table.add_row(s.name, _fmt(s.value), null, _fmt(s.z, 3), _fmt(s.p_value, 2), better[s.alternative])
    console().print(table)
    info(Z_MEANING)
    summary = result.summary if isinstance(result.summary, dict) else {}
    for line in summary.get("notes", ()):
        info(f"- {line}")
    for line in summary.get("warnings", ()):
        warn(line)
    if result.headline:
        info(result.headline)


@guarded
def compare_codebooks(
    run_a: RunDirArg,
    run_b: RunDirArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Report folder (default: RUN_A/analyses/ANALYSIS-vs-NAME_OF_RUN_B)."
        ),
    ] = None,
    analysis: Annotated[
        str, typer.Option("--analysis", "-a", help="Analysis plugin (spinlock.analyses) to run.")
    ] = "codebook_alignment",
    permutations: Annotated[
        int | None,
        typer.Option("--permutations", "-n", help="Null draws per score (analysis default if unset)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the null draws and subsamples.")] = None,
    options: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Analysis option KEY=VALUE (repeatable), e.g. --set space=pooled."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare the tokenizers of RUN_A and RUN_B: every alignment score beside its null; writes a
    Markdown + JSON + PNG report."""
    from ..analyses import run_analysis
    from ..console import info

    base = {}
    if permutations is not None:
        base["permutations"] = permutations
    if seed is not None:
        base["seed"] = seed
    folder = out or default_folder(run_a, run_b, analysis)
    result = run_analysis(analysis, [run_a, run_b], folder, options or [], base)
    if as_json:
        typer.echo(
            json.dumps({"analysis": result.name, "scores": [s.to_dict() for s in result.scores]}, indent=2)
        )
        return
    print_scores(result)
    info(f"report: [bold]{folder}[/bold] ({len(result.files)} files)")
