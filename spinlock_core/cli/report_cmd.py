"""``spinlock report RUN_DIR``: the run's report page; ``spinlock report tokenizer PATH``: dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigError
from ._common import guarded

#: Words that name one artefact's report instead of a run directory.
PARTS = ("tokenizer",)


def write_run_report(run_dir: Path, out: Path | None = None):
    """Write the report, print its headline numbers and where it is; returns ``(path, sections)``."""
    from ..artefacts import ArtefactError
    from ..console import info
    from ..report import write_report
    from ..report.build import path_problems

    try:
        path, sections = write_report(run_dir, out)
    except (OSError, ValueError) as exc:  # e.g. an unreadable file outside any section
        raise ArtefactError(
            f"{run_dir}: expected a readable run directory, found {type(exc).__name__}: {exc}"
        ) from None
    headline = [f"{name} [bold]{value}[/bold]" for s in sections for name, value in s.headline.items()]
    if headline:
        info(" · ".join(headline))
    failed = [s.title for s in sections if s.status == "error"]
    info(
        f"report: [bold]{path}[/bold]"
        + (f" ([red]failed sections: {', '.join(failed)}[/red])" if failed else "")
    )
    problems = path_problems.pop(path, [])
    if problems:
        raise ArtefactError(
            f"the report ({path}) is written, but {len(problems)} artefact(s) could not be read: "
            + " | ".join(problems)
        )
    return path, sections


@guarded
def report(
    target: Annotated[
        str, typer.Argument(metavar="RUN_DIR | tokenizer", help="A run directory, or `tokenizer`.")
    ],
    path: Annotated[
        Path | None, typer.Argument(help="With `tokenizer`: a run directory or tokenizer model.pt.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The HTML file (default RUN_DIR/report.html); with `tokenizer`, a folder."
        ),
    ] = None,
) -> None:
    """One self-contained HTML page of a run: config and timings, dataset, ICs and trajectories,
    feature distributions, tokenizer, MNO training, validation. `spinlock report tokenizer PATH`
    writes only the tokenizer's dashboard PNGs."""
    if target in PARTS and path is not None:
        from .tokenize_cmd import report_tokenizer

        return report_tokenizer(path, out)
    if path is not None:
        raise ConfigError(
            f"unexpected second argument {str(path)!r}: use `spinlock report RUN_DIR` or "
            f"`spinlock report tokenizer PATH`"
        )
    write_run_report(Path(target), out)
