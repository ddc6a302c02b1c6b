"""The hook plugin manager (pluggy), loaded from the ``spinlock.plugins`` entry points.

Switches for people debugging:

* ``SPINLOCK_PLUGINS=a,b`` loads only the hook plugins named ``a`` and ``b``
  (``SPINLOCK_PLUGINS=`` with an empty value loads none);
* ``SPINLOCK_TRACE_HOOKS=1`` prints every hook call and its result to stderr.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import entry_points
from typing import NamedTuple

import pluggy

from . import hookspecs
from .errors import PluginError

__all__ = [
    "HOOK_GROUP",
    "get_plugin_manager",
    "reset_plugin_manager",
    "hookimpl",
    "HookFailure",
    "hook_failures",
]

HOOK_GROUP = "spinlock.plugins"
hookimpl = hookspecs.hookimpl
_manager: pluggy.PluginManager | None = None


class HookFailure(NamedTuple):
    """A hook plugin that failed to import: its distribution, module and the cause in one line."""

    name: str
    distribution: str
    module: str
    cause: str


_failed: dict[str, HookFailure] = {}


def hook_failures() -> dict[str, HookFailure]:
    """Hook plugins that failed to import when the manager loaded, by entry-point name.

    They are skipped with a warning so the others keep working; a plugin of another kind from
    the same distribution (a domain whose config paths come from its hook module) is refused
    by :func:`spinlock_core.registry.check_hooks` with the module and the cause.
    """
    get_plugin_manager()
    return dict(_failed)


def _selected_names() -> set[str] | None:
    raw = os.environ.get("SPINLOCK_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    only = _selected_names()
    for ep in entry_points(group=HOOK_GROUP):
        if only is not None and ep.name not in only:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        dist = ep.dist.name if ep.dist else "?"
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"{HOOK_GROUP}:{ep.name} (from {dist}) is invalid: {exc}") from exc
        except Exception as exc:
            cause = f"{type(exc).__name__}: {exc}".splitlines()[0]
            _failed[ep.name] = HookFailure(ep.name, dist, ep.value, cause)
            print(
                f"warning: hook plugin {HOOK_GROUP}:{ep.name} (from {dist}) failed to load: {cause}",
                file=sys.stderr,
            )


def _trace(pm: pluggy.PluginManager) -> None:
    def before(hook_name, hook_impls, kwargs):
        print(
            f"[hook] {hook_name}({', '.join(kwargs)}) -> {[i.plugin_name for i in hook_impls]}",
            file=sys.stderr,
        )

    def after(outcome, hook_name, hook_impls, kwargs):
        print(f"[hook] {hook_name} returned {outcome.get_result()!r}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created and loaded on first use."""
    global _manager
    if _manager is None:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        _load_entry_points(pm)
        pm.check_pending()
        if os.environ.get("SPINLOCK_TRACE_HOOKS"):
            _trace(pm)
        _manager = pm
    return _manager


def reset_plugin_manager() -> None:
    """Forget the plugin manager (tests, or after installing a plugin in-process)."""
    global _manager
    _manager = None
    _failed.clear()
