"""Build a run's report: collect sections from every hook plugin, render, write atomically.

Each plugin's ``register_report_sections`` runs on its own, and each of the core's sections is
built on its own, so one failure becomes one red section instead of no report.
``SPINLOCK_DEBUG=1`` lets such an exception through, with its traceback.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path

import attrs

from ..errors import StageError
from .model import RunArtefacts, Section, Text

__all__ = ["collect_sections", "write_report", "error_section", "REPORT_NAME", "HOOK"]

REPORT_NAME = "report.html"
HOOK = "register_report_sections"


def error_section(key: str, title: str, order: int, exc: BaseException) -> Section:
    """A section saying that building ``title`` failed, with the error's last frames."""
    if os.environ.get("SPINLOCK_DEBUG"):
        raise exc
    where = "".join(traceback.format_exception(exc, limit=-2)).strip().splitlines()
    return Section(
        key=key,
        title=title,
        order=order,
        status="error",
        blocks=[
            Text(f"Could not build this section: `{type(exc).__name__}: {exc}`."),
            Text("Last frames: " + " | ".join(line.strip() for line in where[-4:])),
        ],
    )


def guarded(build: Callable[[RunArtefacts], Section], key: str, title: str, order: int):
    """``build`` whose exceptions become an error section (see :func:`error_section`)."""

    def run(run_artefacts: RunArtefacts) -> Section:
        try:
            return build(run_artefacts)
        except Exception as exc:
            from ..artefacts import ArtefactError

            if isinstance(exc, ArtefactError):
                run_artefacts.problems.append(str(exc))
            return error_section(key, title, order, exc)

    return run


def collect_sections(run: RunArtefacts) -> list[Section]:
    """Every plugin's sections, in page order; a repeated key gets a number appended."""
    from ..plugins import get_plugin_manager

    pm = get_plugin_manager()
    impls = getattr(pm.hook, HOOK).get_hookimpls()
    sections: list[Section] = []
    for impl in impls:
        found: list[Section] = []

        def register(section: Section, _found=found, _name=impl.plugin_name) -> None:
            if not isinstance(section, Section):
                raise TypeError(
                    f"plugin {_name!r} registered a {type(section).__name__}; "
                    f"register_report_sections takes spinlock_core.report.Section objects"
                )
            _found.append(section)

        others = [i.plugin for i in impls if i.plugin is not impl.plugin]
        try:
            pm.subset_hook_caller(HOOK, remove_plugins=others)(register=register, run=run)
        except Exception as exc:
            from ..artefacts import ArtefactError

            if isinstance(exc, ArtefactError):
                run.problems.append(str(exc))
            found.append(error_section(f"plugin-{impl.plugin_name}", f"Plugin {impl.plugin_name}", 1000, exc))
        sections += found
    seen: set[str] = set()
    unique = []
    for section in sections:
        key, n = section.key, 2
        while key in seen:
            key, n = f"{section.key}-{n}", n + 1
        seen.add(key)
        unique.append(section if key == section.key else attrs.evolve(section, key=key))
    return sorted(unique, key=lambda s: (s.order, s.title))


def write_report(run_dir, out=None) -> tuple[Path, list[Section]]:
    """Write the run's self-contained HTML report (default ``RUN_DIR/report.html``).

    Returns the path and the sections (their ``headline`` numbers summarise the run).
    """
    from ..storage import temporary_name
    from .html import render_html

    run = RunArtefacts(run_dir)
    if not run.dir.is_dir():
        raise StageError(f"no run directory at {run.dir}; pass the folder `spinlock run` printed")
    if not (run.path("config.yaml").is_file() or run.path(".spinlock").is_dir()):
        raise StageError(
            f"{run.dir} is not a run directory (no config.yaml, no .spinlock/); "
            f"pass the folder `spinlock run` printed"
        )
    sections = collect_sections(run)
    config_path = run.path("config.yaml")
    domain = run.config_get("domain.name", "?")
    operator = run.config_get("operator.name", "?")
    page = render_html(
        title=f"spinlock run: {run.dir.resolve().name}",
        subtitle=f"`{run.dir.resolve()}` · domain `{domain}`, operator `{operator}`",
        sections=sections,
        config_yaml=config_path.read_text() if config_path.is_file() else "",
    )
    path = Path(out) if out is not None else run.path(REPORT_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    if run.problems:
        path_problems[path] = list(run.problems)
    return path, sections


#: ``{report path: [messages]}`` of the artefacts the last reports could not read.
path_problems: dict[Path, list[str]] = {}
