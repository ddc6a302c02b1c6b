"""Output for people: one rich console, quiet on ranks other than 0, and progress bars."""

from __future__ import annotations

import contextlib
import sys

from .distributed import is_rank0

__all__ = ["console", "set_verbosity", "verbosity", "progress", "pipeline_display", "info", "detail", "warn"]

_state = {"verbosity": 0}
_console = None


def console():
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, quiet=not is_rank0(), highlight=False)
    return _console


def set_verbosity(level: int) -> None:
    """-1 quiet, 0 normal, 1+ verbose."""
    _state["verbosity"] = level


def verbosity() -> int:
    return _state["verbosity"]


def info(message: str) -> None:
    if verbosity() >= 0:
        console().print(message)


def detail(message: str) -> None:
    if verbosity() >= 1:
        console().print(f"[dim]{message}[/dim]")


def warn(message: str) -> None:
    console().print(f"[yellow]warning:[/yellow] {message}")


#: The display of a multi-stage run (:func:`pipeline_display`); stage bars join it while it is open.
_pipeline: dict = {"progress": None}


def _columns():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    ]


@contextlib.contextmanager
def pipeline_display(stages: list[str]):
    """One live display for a run of several stages: a ``pipeline [i/n] stage`` bar on top and
    each stage's own bars beneath it, so a run reads as one job rather than separate ones.

    Yields ``enter(i)``, called as stage ``i`` of ``stages`` starts. Silent when quiet, on other
    ranks, or for a single stage (its own bars are display enough).
    """
    if verbosity() < 0 or not is_rank0() or len(stages) < 2:
        yield lambda i: None
        return
    from rich.progress import Progress

    n = len(stages)
    with Progress(*_columns(), console=console(), transient=False, disable=not sys.stderr) as bar:
        task = bar.add_task(f"pipeline [1/{n}] {stages[0]}", total=n, rate="stages")

        def enter(i: int) -> None:
            bar.update(task, completed=i, description=f"pipeline [{i + 1}/{n}] {stages[i]}")

        _pipeline["progress"] = bar
        try:
            yield enter
            bar.update(task, completed=n, description=f"pipeline [{n}/{n}] done")
        finally:
            _pipeline["progress"] = None


@contextlib.contextmanager
def progress(total: int, description: str, unit: str = "samples"):
    """A progress bar with rate and ETA; yields ``advance(n)``. Silent when quiet or not rank 0.

    Inside :func:`pipeline_display` the bar is a line of the pipeline's display."""
    if verbosity() < 0 or not is_rank0() or total <= 0:
        yield lambda n=1: None
        return
    shared = _pipeline["progress"]
    if shared is not None:
        yield _advancer(shared, shared.add_task(description, total=total, rate=""), unit)
        return
    from rich.progress import Progress

    with Progress(*_columns(), console=console(), transient=False, disable=not sys.stderr) as bar:
        yield _advancer(bar, bar.add_task(description, total=total, rate=""), unit)


def _advancer(bar, task, unit: str):
    def advance(n: int = 1) -> None:
        bar.advance(task, n)
        speed = bar.tasks[task].speed
        if speed:
            bar.update(task, rate=f"{speed:.2f} {unit}/s")

    return advance
