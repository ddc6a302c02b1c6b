"""The core's own config sections: the root keys and ``run``.

Sections owned by plugins (a stage's ``generate``, the selected ``domain`` or ``backbone``)
are structured by the config class that plugin declares in its spec.
"""

from __future__ import annotations

import re

import attrs
from attrs import validators as v

from . import checks

__all__ = ["RunConfig", "CoreConfig", "DEVICE_PATTERN"]

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


def _device(instance, attribute, value):
    if not DEVICE_PATTERN.match(value):
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {value!r}")


@attrs.frozen(kw_only=True)
class RunConfig:
    """Where a run lives and how the stage runner treats existing artefacts."""

    dir: str | None = None
    """Run directory; default ``runs/<domain>/<name>`` under the current directory."""
    name: str = attrs.field(default="default", validator=checks.run_name)
    """Name of the run, used in the default run directory (one directory name: no ``/`` or ``..``)."""
    force: bool = False
    """Re-make artefacts that were made with a different config instead of refusing."""
    only: bool = False
    """Run only the named stage; a missing prerequisite is an error instead of being made."""


@attrs.frozen(kw_only=True)
class CoreConfig:
    """Root keys every run has."""

    seed: int = attrs.field(
        default=0,
        validator=[checks.at_least(0), checks.at_most(checks.MAX_SEED, "an unsigned 64-bit integer")],
    )
    """Global seed: every random draw derives from (seed, sample index, stream)."""
    device: str = attrs.field(default="auto", validator=_device)
    """``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    threads: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))
    """CPU threads torch uses (``null``: chosen for the machine: its physical cores, fewer when
    it is busy or the work is small; printed once at the start of ``spinlock run``)."""
    stage: str = "all"
    """Stage to run (its prerequisites run first when missing), or ``all`` for the pipeline."""
    pipeline: tuple[str, ...] = ("generate",)
    """Stages ``stage=all`` runs, in dependency order."""
    features: tuple[str, ...] = ()
    """Feature families to compute, by installed name."""
    scale: str = "small"
    """Size preset (a config group): ``small`` runs on a CPU in minutes, ``production`` is full size."""
    run: RunConfig = attrs.Factory(RunConfig)
    """Run directory and artefact policy."""
