"""Run an analysis plugin (``spinlock.analyses``) on finished run directories.

An analysis is picked by name like any implementation (:func:`spinlock_core.registry.load`);
its options are ``key=value`` strings typed by its config class and structured by the strict
converter, so a typo fails before any artefact is read. After the report is written,
``on_analysis_end`` lets hook plugins see the scores. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from . import registry
from .errors import ConfigError, StageError

__all__ = ["analysis_config", "run_analysis"]


def analysis_config(name: str, options: Sequence[str] = (), base: dict[str, Any] | None = None) -> Any:
    """The config of analysis ``name``: ``base`` values, then ``key=value`` ``options``, typed
    by the analysis' config class (``None`` when it takes no options)."""
    from .config import parse_overrides, structure
    from .config.compose import _assign, _field_type
    from .config.overrides import coerce

    spec = registry.load("analyses", name)
    cls = spec.config_class
    data = dict(base or {})
    overrides = parse_overrides(options)
    if cls is None:
        if data or overrides:
            raise ConfigError(
                f"analysis {name!r} takes no options; got {sorted(data) + [o.key for o in overrides]}"
            )
        return None
    for o in overrides:
        tp: Any = cls
        for part in o.path:
            if not attrs.has(tp):
                raise ConfigError(f"{'.'.join(o.path[:-1])!r} takes no sub-keys @ analysis.{name}.{o.key}")
            tp = _field_type(tp, part, f"analysis.{name}.{o.key}")
        value = coerce(o.raw, tp, f"analysis.{name}.{o.key}")
        _assign(data, o.key, list(value) if isinstance(value, tuple) else value)
    return structure(data, cls, f"analysis.{name}")


def run_analysis(
    name: str, runs: Sequence[Path], out_dir: Path, options: Sequence[str] = (), base: dict | None = None
):
    """Run analysis ``name`` on ``runs``, writing into ``out_dir``; returns its ``AnalysisResult``."""
    from .plugins import get_plugin_manager

    runs = [Path(r) for r in runs]
    for run in runs:
        if not run.is_dir():
            raise StageError(f"no run directory at {run}; make one with `spinlock run run.dir={run}`")
    config = analysis_config(name, options, base)
    spec = registry.load("analyses", name)
    analysis = spec.create(config)
    wanted = getattr(analysis, "runs", len(runs))
    if wanted != len(runs):
        raise ConfigError(f"analysis {name!r} compares {wanted} run directories, got {len(runs)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = analysis.run(runs, out_dir)
    get_plugin_manager().hook.on_analysis_end(analysis=name, runs=runs, out_dir=out_dir, result=result)
    return result
