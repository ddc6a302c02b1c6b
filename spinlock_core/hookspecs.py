"""Hook specifications: the events and contributions plugins take part in.

Hooks are for things *many* plugins contribute to or observe. Picking one implementation
by name (a domain, a backbone...) is the registries' job (:mod:`spinlock_core.registry`).
Every hook is called with keyword arguments, so a spec can gain arguments without breaking
older plugins. Specs are grouped by phase; ``docs/hooks.md`` is generated from these
docstrings (``python -m spinlock_core.docs_hooks``).
"""

from __future__ import annotations

import pluggy

PROJECT = "spinlock"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# --- start-up: contributions -----------------------------------------------------------


@hookspec
def register_commands(register):
    """Add sub-commands to the ``spinlock`` CLI.

    Called once when the CLI starts. ``register(app_or_function, name=None, help=None)``
    adds a ``typer.Typer`` as a command group, or a plain function as a single command.
    Keep the module that defines the hook light: heavy imports belong inside the command.
    Returns nothing.
    """


@hookspec
def register_config_paths(register):
    """Add directories of config groups (``<dir>/<group>/<option>.yaml``).

    Called whenever a config is composed. ``register(path)`` adds one directory; a plugin
    usually ships its groups as package data and registers
    ``importlib.resources.files(__package__) / "configs"``. Options of the same group and
    name in several directories are merged, in registration order after the core's own.
    Returns nothing.
    """


# --- running: events -----------------------------------------------------------------


@hookspec
def on_stage_start(stage, context):
    """Called just before stage ``stage`` (its name) runs in ``context`` (a ``StageContext``).

    Not called for a stage the runner skips because its artefacts are up to date.
    Returns nothing.
    """


@hookspec
def on_stage_end(stage, context, seconds):
    """Called after stage ``stage`` finished successfully, taking ``seconds`` of wall time.

    Returns nothing.
    """


@hookspec
def on_checkpoint_saved(path, metadata):
    """Called after a checkpoint was written atomically to ``path`` with ``metadata``.

    Use it to mirror checkpoints elsewhere or log them. Returns nothing.
    """


@hookspec
def on_analysis_end(analysis, runs, out_dir, result):
    """Called after analysis ``analysis`` (its name) of the run directories ``runs`` wrote its
    report into ``out_dir``; ``result`` is its ``AnalysisResult`` (scores beside their nulls).

    Use it to log the scores to a tracker or collect reports. Returns nothing.
    """


# --- inspection ----------------------------------------------------------------------


@hookspec(firstresult=True)
def describe_artefact(path):
    """Describe a spinlock artefact at ``path`` for ``spinlock inspect``.

    Return a ``rich`` renderable (or a string) if this plugin recognises the artefact,
    else ``None``; the first non-``None`` answer wins.
    """


@hookspec
def register_report_sections(register, run):
    """Add sections to a run's report page (``spinlock report RUN_DIR``, and after ``spinlock run``).

    Called once per report. ``run`` is a ``spinlock_core.report.RunArtefacts`` (the run
    directory ``run.dir``, its saved config ``run.config``, stage stamps ``run.stamps()``);
    ``register(section)`` adds one ``spinlock_core.report.Section`` (text, tables and PNG
    figures; ``order`` places it, the core's own run from 0 to 50). Return
    ``Section.not_run(...)`` when the artefacts it shows are missing. Each plugin's call is
    isolated: an exception becomes an error section, not a lost report. Returns nothing.
    """
