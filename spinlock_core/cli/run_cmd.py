"""``spinlock run``: run a stage or the whole pipeline in a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import Overrides, guarded


@guarded
def run(
    overrides: Overrides = None,
    from_dir: Annotated[
        Path | None, typer.Option("--from", help="Re-run the resolved config saved in this run directory.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run, run nothing.")] = False,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write RUN_DIR/report.html at the end.")
    ] = True,
) -> None:
    """Run a stage (stage=NAME) or the pipeline (stage=all, the default) in a run directory."""
    from ..config import compose, config_from_file
    from ..console import console, info
    from ..runner import Runner

    config = config_from_file(from_dir, overrides or []) if from_dir else compose(overrides or [])
    runner = Runner(config, run_dir=from_dir if from_dir and not config.core.run.dir else None)
    plan = runner.plan()
    info(f"run directory: [bold]{runner.run_dir}[/bold]")
    if dry_run:
        for name, action in plan:
            console().print(f"  {action:>5}  {name}")
        return
    runner.run()
    info(f"[bold green]done[/bold green]: {runner.run_dir}")
    if report:
        _report(runner.run_dir)


def _report(run_dir: Path) -> None:
    """Write the run's report on rank 0; a failure to render warns and never fails the run."""
    from ..console import warn
    from ..distributed import is_rank0

    if not is_rank0():
        return
    try:
        from .report_cmd import write_run_report

        write_run_report(run_dir)
    except Exception as exc:
        warn(
            f"the run finished but its report could not be written ({type(exc).__name__}: {exc}); "
            f"retry with `spinlock report {run_dir}`"
        )
