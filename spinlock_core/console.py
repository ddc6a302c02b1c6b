"""Output for people: one rich console, quiet on ranks other than 0, and progress bars."""

from __future__ import annotations

import contextlib
import os
import sys
import time

from .distributed import is_rank0

__all__ = [
    "console",
    "set_verbosity",
    "verbosity",
    "progress",
    "pipeline_display",
    "info",
    "detail",
    "warn",
    "PlainProgress",
]

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
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    return [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[eta]}"),
    ]


def _clock(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _rate_eta(done: int, total: int, elapsed: float, unit: str) -> tuple[str, str]:
    """``("2.01 samples/s", "eta 0:08")``: the rate is everything done over everything elapsed
    since the bar started (the figure a stage's own summary reports), the ETA follows from it."""
    if done <= 0 or elapsed <= 0:
        return "", ""
    rate = done / elapsed
    return f"{rate:.2f} {unit}/s", f"eta {_clock((total - done) / rate)}"


def _interactive() -> bool:
    """True when the console draws live bars (a terminal); else progress goes as plain lines."""
    return bool(console().is_terminal)


class PlainProgress:
    """Progress as plain lines for logs, CI and batch jobs (a console that is not a terminal):
    ``stage: done/total unit (pct), rate, elapsed, eta`` at most every ``interval`` seconds,
    and once more at the end. ``clock`` and ``emit`` are injectable for tests."""

    def __init__(self, total: int, description: str, unit: str, *, interval: float, clock=None, emit=None):
        self.total, self.description, self.unit, self.interval = total, description, unit, interval
        self.clock = clock or time.monotonic
        self.emit = emit or (
            lambda line: console().print(line, markup=False, highlight=False, soft_wrap=True)
        )
        self.start = self.last = self.clock()
        self.done = 0
        self.shown = 0

    def line(self) -> str:
        elapsed = self.clock() - self.start
        rate, eta = _rate_eta(self.done, self.total, elapsed, self.unit)
        parts = [f"{self.done}/{self.total} {self.unit} ({100 * self.done // max(1, self.total)}%)"]
        parts += [p for p in (rate, f"elapsed {_clock(elapsed)}", eta if self.done < self.total else "") if p]
        return f"{self.description}: " + ", ".join(parts)

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.interval or self.done >= self.total:
            self._show(now)

    def close(self) -> None:
        """The last line, unless the current state was just shown."""
        if self.done != self.shown:
            self._show(self.clock())

    def _show(self, now: float) -> None:
        self.emit(self.line())
        self.last, self.shown = now, self.done


def _interval() -> float:
    """Seconds between plain progress lines (``SPINLOCK_PROGRESS_SECONDS``, default 10)."""
    try:
        return float(os.environ.get("SPINLOCK_PROGRESS_SECONDS", "10"))
    except ValueError:
        return 10.0


@contextlib.contextmanager
def pipeline_display(stages: list[str]):
    """One live display for a run of several stages: a ``pipeline [i/n] stage`` bar on top and
    each stage's own bars beneath it, so a run reads as one job rather than separate ones.

    Yields ``enter(i)``, called as stage ``i`` of ``stages`` starts. Silent when quiet, on other
    ranks, or for a single stage (its own bars are display enough).
    """
    if verbosity() < 0 or not is_rank0() or len(stages) < 2 or not _interactive():
        yield lambda i: None
        return
    from rich.progress import Progress

    n = len(stages)
    with Progress(*_columns(), console=console(), transient=False, disable=not sys.stderr) as bar:
        task = bar.add_task(f"pipeline [1/{n}] {stages[0]}", total=n, rate="stages", eta="")

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

    Inside :func:`pipeline_display` the bar is a line of the pipeline's display. When the console
    is not a terminal (a log file, CI), plain lines (:class:`PlainProgress`) replace the bar."""
    if verbosity() < 0 or not is_rank0() or total <= 0:
        yield lambda n=1: None
        return
    if not _interactive():
        plain = PlainProgress(total, description, unit, interval=_interval())
        try:
            yield plain.advance
        finally:
            plain.close()
        return
    shared = _pipeline["progress"]
    if shared is not None:
        yield _advancer(shared, shared.add_task(description, total=total, rate="", eta=""), unit)
        return
    from rich.progress import Progress

    with Progress(*_columns(), console=console(), transient=False, disable=not sys.stderr) as bar:
        yield _advancer(bar, bar.add_task(description, total=total, rate="", eta=""), unit)


def _advancer(bar, task, unit: str):
    def advance(n: int = 1) -> None:
        bar.advance(task, n)
        state = bar.tasks[task]
        rate, eta = _rate_eta(int(state.completed), int(state.total or 0), state.elapsed or 0.0, unit)
        if rate:
            bar.update(task, rate=rate, eta=eta)

    return advance
