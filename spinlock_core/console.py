"""Output for people: one rich console, quiet on ranks other than 0, and progress bars."""

from __future__ import annotations

import contextlib
import sys

from .distributed import is_rank0

__all__ = ["console", "set_verbosity", "verbosity", "progress", "info", "detail", "warn"]

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


@contextlib.contextmanager
def progress(total: int, description: str, unit: str = "samples"):
    """A progress bar with rate and ETA; yields ``advance(n)``. Silent when quiet or not rank 0."""
    if verbosity() < 0 or not is_rank0() or total <= 0:
        yield lambda n=1: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console(), transient=False, disable=not sys.stderr) as bar:
        task = bar.add_task(description, total=total, rate="")

        def advance(n: int = 1) -> None:
            bar.advance(task, n)
            speed = bar.tasks[task].speed
            if speed:
                bar.update(task, rate=f"{speed:.2f} {unit}/s")

        yield advance
