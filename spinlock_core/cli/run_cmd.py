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
    from ..runlock import run_lock
    from ..runner import Runner

    config = config_from_file(from_dir, overrides or []) if from_dir else compose(overrides or [])
    runner = Runner(config, run_dir=from_dir if from_dir and not config.core.run.dir else None)
    plan = runner.plan()
    info(f"run directory: [bold]{runner.run_dir}[/bold]")
    _set_threads(config)
    if dry_run:
        for name, action in plan:
            console().print(f"  {action:>6}  {name}")
        return
    with run_lock(runner.run_dir):  # every stage and the report; a second run exits 2 naming us
        _interruptible(runner, plan)
        info(f"[bold green]done[/bold green]: {runner.run_dir}")
        if report:
            _report(runner.run_dir)


def _set_threads(config) -> None:
    """Choose torch's CPU threads once for this run (``threads=`` or the machine) and say so."""
    from ..console import info
    from ..threads import apply, decide

    batch, grid = config.get("generate.batch_size"), config.get("generate.grid")
    work = int(batch) * int(grid) ** 2 if batch and grid else None
    choice = decide(config.core.threads, work)
    apply(choice)
    info(choice.line())


class _Terminated(KeyboardInterrupt):
    """SIGTERM, sent down the same path as Ctrl-C."""


def _interruptible(runner, plan) -> None:
    """Run the plan; on Ctrl-C or SIGTERM say what was kept and how to resume, and exit with
    130 (SIGINT) or 143 (SIGTERM) instead of a traceback."""
    import signal
    import threading

    def terminate(signum, frame):
        raise _Terminated()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, terminate)
    try:
        runner.run()
    except KeyboardInterrupt as exc:
        from ..console import console

        console().print(interrupted_message(runner, plan), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(143 if isinstance(exc, _Terminated) else 130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def interrupted_message(runner, plan) -> str:
    """``interrupted during STAGE: WHAT kept in WHERE; run the same command to resume``."""
    run_dir = runner.run_dir
    pending = [name for name, action in plan if action != "skip" and runner.state(name) != "current"]
    finished = [name for name, action in plan if action != "skip" and name not in pending]
    resume = "run the same command to resume"
    if not pending:
        return f"interrupted: every stage had finished, all kept in {run_dir}; {resume}"
    stage = pending[0]
    kept = f"finished stages ({', '.join(finished)}) kept in {run_dir}" if finished else "nothing kept yet"
    if stage == "generate":
        parts = sorted((run_dir / "dataset" / "parts").glob("rank*/part-*.h5"))
        samples = 0
        for part in parts:
            first, _, last = part.stem.removeprefix("part-").partition("-")
            if first.isdigit() and last.isdigit():
                samples += int(last) - int(first) + 1
        if samples:
            kept = f"{samples} generated samples ({len(parts)} chunks) kept in {run_dir / 'dataset'}"
    elif stage == "mno":
        checkpoints = list((run_dir / "mno" / "checkpoints").glob("*.pt"))
        if checkpoints:
            kept = f"{len(checkpoints)} checkpoints kept in {run_dir / 'mno' / 'checkpoints'}"
    return f"interrupted during {stage}: {kept}; {resume}"


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
