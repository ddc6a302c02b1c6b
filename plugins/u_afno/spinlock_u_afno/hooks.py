"""Hook implementations of the backbone plugin: its config groups (``backbone=fno``)."""

from __future__ import annotations

from importlib.resources import files

from spinlock_core.api import hookimpl


@hookimpl
def register_config_paths(register):
    register(files(__package__) / "configs")
