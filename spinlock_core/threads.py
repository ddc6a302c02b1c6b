"""How many CPU threads torch uses: chosen once per run for the machine, or set by ``threads=``.

torch's default (one intra-op thread per logical CPU) is a bad fit for small work and busy
machines: each parallel region ends at a barrier where OpenMP threads spin-wait for the slowest
one, and on a shared 2-core machine a descheduled thread makes every barrier wait a time slice
(measured: the default run 8x slower, generation 0.2 instead of 2.7 samples/s). The choice here
starts from the physical cores this process may use, leaves out the cores other processes keep
busy (the 1-minute load average), and drops to one thread when a stage's work is small.
"""

from __future__ import annotations

import contextlib
import os

__all__ = [
    "SMALL_WORK",
    "ThreadChoice",
    "choose_threads",
    "machine",
    "decide",
    "apply",
    "one_thread_if_small",
]

#: Below this many state elements per step (batch x grid points), a run's work is small: one
#: thread is faster than several, whose barriers cost more than the split work saves.
SMALL_WORK = 1 << 16


def choose_threads(cores: int, load: float, work: int | None = None, small: int = SMALL_WORK) -> int:
    """Intra-op threads for ``cores`` usable physical cores under 1-minute ``load`` average.

    A pure function: the cores other processes keep busy (``load``, rounded to the nearest
    core) are left out, at least one thread is kept, and ``work`` (elements per step) below
    ``small`` gives one thread.
    """
    if work is not None and work < small:
        return 1
    cores = max(1, int(cores))
    return max(1, min(cores, int(cores - max(0.0, load) + 0.5)))


def _physical_cores() -> int | None:
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return psutil.cpu_count(logical=False)
    try:
        with open("/proc/cpuinfo") as f:
            pairs = {
                (block.get("physical id"), block.get("core id"))
                for block in (
                    dict(line.split(":", 1) for line in chunk.splitlines() if ":" in line)
                    for chunk in f.read().split("\n\n")
                )
                if block.get("core id") is not None
            }
        return len(pairs) or None
    except OSError:
        return None


def machine() -> tuple[int, float]:
    """``(usable physical cores, 1-minute load average)`` of this machine."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    total = os.cpu_count() or logical
    physical = _physical_cores()
    # the affinity mask counts logical CPUs; scale it by the machine's cores per logical CPU
    cores = logical if not physical or physical >= total else max(1, logical * physical // total)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return cores, load


class ThreadChoice:
    """The decision and why: ``threads``, the ``cores``, ``load`` and ``work`` it came from."""

    def __init__(self, threads: int, cores: int, load: float, source: str, small_work: bool = False):
        self.threads, self.cores, self.load = threads, cores, load
        self.source, self.small_work = source, small_work

    def line(self) -> str:
        """One line for the console, e.g. ``threads: 1 (2 cores, load 1.9; set threads=N to override)``."""
        why = f"{self.cores} cores, load {self.load:.1f}" + (", small work" if self.small_work else "")
        if self.source == "config":
            return f"threads: {self.threads} (threads={self.threads}; {why})"
        return f"threads: {self.threads} ({why}; set threads=N to override)"


def decide(threads: int | None, work: int | None = None) -> ThreadChoice:
    """The choice for the ``threads`` key (``None``: chosen for this machine and ``work``,
    the state elements a step handles, e.g. batch x grid points)."""
    cores, load = machine()
    ranks = int(os.environ.get("LOCAL_WORLD_SIZE") or 1)  # torchrun ranks on this machine share it
    cores = max(1, cores // max(1, ranks))
    if threads is not None:
        return ThreadChoice(int(threads), cores, load, "config")
    chosen = choose_threads(cores, load, work)
    small = work is not None and chosen == 1 and choose_threads(cores, load) > 1
    return ThreadChoice(chosen, cores, load, "auto", small_work=small)


def apply(choice: ThreadChoice) -> None:
    """Set torch's intra-op threads (and inter-op threads, while torch still allows it)."""
    import torch

    torch.set_num_threads(choice.threads)
    with contextlib.suppress(RuntimeError):  # refused once inter-op work has started
        torch.set_num_interop_threads(choice.threads)


@contextlib.contextmanager
def one_thread_if_small(device, work: int, small: int = SMALL_WORK):
    """Run the block on one intra-op thread when ``device`` is a CPU and ``work`` (elements per
    operation) is below ``small``; values do not depend on the thread count."""
    import torch

    if getattr(device, "type", str(device)) != "cpu" or work >= small:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
