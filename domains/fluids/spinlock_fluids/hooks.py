"""Hook implementations of the fluids domain: its config groups (domain, operator, preset)."""

from __future__ import annotations

from importlib.resources import files

from spinlock_core.api import hookimpl


@hookimpl
def register_config_paths(register):
    register(files(__package__) / "configs")
