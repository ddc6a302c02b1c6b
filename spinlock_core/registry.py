"""Named implementations, picked by config name through stevedore.

One entry-point namespace per kind (``spinlock.domains``, ``spinlock.operators``...).
:func:`load` is the one driver loader: an unknown name lists the installed ones and the
closest match; a plugin that fails to import is reported by ``namespace:name``, its
distribution and a one-line cause; two distributions registering one name is an error
naming both. Nothing here imports torch.
"""

from __future__ import annotations

import difflib
import sys
import types
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import attrs

from .errors import DuplicatePluginError, PluginError, UnknownPluginError

__all__ = [
    "KINDS",
    "namespace",
    "available",
    "load",
    "load_all",
    "check_hooks",
    "import_failure",
    "PluginRow",
    "list_plugins",
]

KINDS = ("domains", "operators", "features", "backbones", "tokenizers", "losses", "stages", "analyses")
#: The hook plugins' group (pluggy); listed by ``spinlock plugins list`` too.
HOOKS = "plugins"


def namespace(kind: str) -> str:
    if kind not in KINDS and kind != HOOKS:
        raise UnknownPluginError(f"unknown plugin kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return f"spinlock.{kind}"


def _dist(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    return (dist.name, dist.version) if dist is not None else ("?", "?")


@cache
def _entry_points(kind: str) -> dict[str, list[EntryPoint]]:
    """Entry points of ``kind`` by name; the same (name, target, dist) seen twice counts once."""
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=namespace(kind)):
        same = [e for e in found.get(ep.name, []) if e.value == ep.value and _dist(e) == _dist(ep)]
        if not same:
            found.setdefault(ep.name, []).append(ep)
    return found


def clear_cache() -> None:
    """Forget discovered entry points (tests, or after installing a plugin in-process).

    stevedore keeps its own process-wide list per namespace
    (``ExtensionManager.ENTRY_POINT_CACHE``); left alone, a distribution added after a
    namespace was first read is invisible to the driver loader though listed here.
    """
    _entry_points.cache_clear()
    _load.cache_clear()
    _warned.clear()
    extension = sys.modules.get("stevedore.extension")
    if extension is not None:
        extension.ExtensionManager.ENTRY_POINT_CACHE.clear()


def available(kind: str) -> list[str]:
    """Installed names of ``kind``, sorted."""
    return sorted(_entry_points(kind))


def _unknown(kind: str, name: str) -> UnknownPluginError:
    names = available(kind)
    singular = {"analyses": "analysis", "losses": "loss"}.get(kind, kind.removesuffix("s"))
    msg = f"unknown {singular} {name!r}"
    close = difflib.get_close_matches(name, names, n=1)
    msg += f"; did you mean {close[0]!r}?" if close else "."
    msg += f" Installed {kind}: {', '.join(names) if names else '(none)'}."
    return UnknownPluginError(msg)


def missing_requirements(spec: Any) -> dict[str, str]:
    """``{module: install hint}`` of the optional modules a spec declares in
    ``extras["requires"]`` (module -> hint, e.g. ``{"neuralop": "pip install 'spinlock[neuralop]'"}``)
    that cannot be imported here; found without importing them."""
    import importlib.util

    requires = (getattr(spec, "extras", None) or {}).get("requires") or {}
    missing = {}
    for module, hint in requires.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing[module] = hint
    return missing


def _requirements_line(kind: str, name: str, missing: dict[str, str]) -> str:
    need = ", ".join(f"{m} (install with `{hint}`)" for m, hint in missing.items())
    return f"{namespace(kind)}:{name} needs {need}, which is not installed"


_warned: set[tuple[str, str]] = set()


def _check_duplicates(kind: str, name: str) -> None:
    eps = _entry_points(kind).get(name, [])
    if len(eps) > 1:
        who = " and ".join(f"{_dist(e)[0]} ({e.value})" for e in eps)
        raise DuplicatePluginError(
            f"{namespace(kind)}:{name} is registered by more than one distribution: {who}. "
            f"Uninstall one of them or rename its entry point."
        )


@cache
def _load(kind: str, name: str) -> Any:
    from stevedore import driver

    def failed(manager, ep, exc):
        dist = _dist(_entry_points(kind)[name][0])[0]  # stevedore's cached entry points lack .dist
        cause = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise PluginError(f"plugin {namespace(kind)}:{name} (from {dist}) failed to load: {cause}") from exc

    manager = driver.DriverManager(
        namespace=namespace(kind), name=name, invoke_on_load=False, on_load_failure_callback=failed
    )
    spec = manager.driver
    if attrs.has(type(spec)) and getattr(spec, "origin", False) is None:
        from .specs import PluginOrigin

        # a copy that knows where it came from (one spec object may be registered twice)
        spec = attrs.evolve(spec)
        dist, version = _dist(_entry_points(kind)[name][0])
        object.__setattr__(spec, "origin", PluginOrigin(kind, name, dist, version))
    return spec


def load(kind: str, name: str) -> Any:
    """The spec registered as ``name`` in ``kind`` (loaded once, then cached)."""
    if name not in _entry_points(kind):
        raise _unknown(kind, name)
    _check_duplicates(kind, name)
    spec = _load(kind, name)
    missing = missing_requirements(spec)
    if missing and (kind, name) not in _warned:  # said when a config selects it (and --dry-run)
        from rich.markup import escape

        from .console import warn

        _warned.add((kind, name))
        warn(escape(_requirements_line(kind, name, missing) + "; it will fail when used."))
    return spec


def check_hooks(kind: str, name: str) -> None:
    """Refuse ``kind:name`` when a hook module of its package failed to import: what the
    plugin contributes through hooks (e.g. a domain's config files) is then missing, and the
    error names the broken module rather than the symptom."""
    eps = _entry_points(kind).get(name)
    if not eps:
        return
    from .plugins import hook_failures

    dist, version = _dist(eps[0])
    package = eps[0].value.split(":")[0].split(".")[0]  # the plugin's top-level package
    broken = [
        f
        for f in hook_failures().values()
        if f.distribution == dist and f.module.split(":")[0].split(".")[0] == package
    ]
    if broken:
        singular = {"analyses": "analysis", "losses": "loss"}.get(kind, kind.removesuffix("s"))
        why = "; ".join(f"{f.module} failed to import: {f.cause}" for f in broken)
        raise PluginError(
            f"{singular} {name!r} (distribution {dist} {version}) cannot be used: its hook module {why}"
        )


def load_all(kind: str) -> dict[str, Any]:
    """Every loadable spec of ``kind``; broken or duplicated ones raise."""
    return {name: load(kind, name) for name in available(kind)}


def _summary(obj: Any) -> str:
    """A spec's ``summary``; for a hook module, the first line of its docstring."""
    summary = getattr(obj, "summary", None)
    if summary is None and isinstance(obj, types.ModuleType):
        summary = (obj.__doc__ or "").strip().split("\n")[0]
    return summary or ""


@attrs.frozen
class PluginRow:
    kind: str
    name: str
    distribution: str
    version: str
    status: str
    summary: str = ""


def import_failure(kind: str, name: str) -> str | None:
    """Import the implementation of ``kind:name`` and check its interface; the failure in one
    line (``"ModuleNotFoundError: No module named 'x'"``), or ``None`` when it loads."""
    try:
        load(kind, name).load_implementation()
    except Exception as exc:
        cause = exc.__cause__ if isinstance(exc, PluginError) and exc.__cause__ is not None else None
        if cause is not None:
            return f"{type(cause).__name__}: {cause}".splitlines()[0]
        origin = getattr(load(kind, name), "origin", None) if isinstance(exc, PluginError) else None
        text = str(exc).removeprefix(f"{origin} ") if origin is not None else f"{type(exc).__name__}: {exc}"
        return text.splitlines()[0]
    return None


def _import_failures(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """:func:`import_failure` of every pair, in a child process: the implementations import
    honestly (torch, model code) while this process stays light."""
    import json
    import subprocess

    if not pairs:
        return {}
    code = (
        "import json, sys; from spinlock_core.registry import import_failure; "
        "print(json.dumps([import_failure(k, n) for k, n in json.load(sys.stdin)]))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], input=json.dumps(pairs), capture_output=True, text=True, timeout=300
        )
        failures = json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as exc:  # the check itself broke: say so on every row it covered
        why = f"not import-checked: {type(exc).__name__}: {exc}".splitlines()[0]
        return {tuple(p): why for p in pairs}
    return {tuple(p): f"error: {f}" for p, f in zip(pairs, failures, strict=True) if f}


def list_plugins(kinds=KINDS + (HOOKS,), check_imports: bool = True) -> list[PluginRow]:
    """One row per entry point, loading each spec to report its status (specs are light).

    ``check_imports``: also import each implementation (in a child process, so this one does
    not import torch) and check it against its kind's interface; a failure shows as
    ``error: <cause>`` instead of ``ok``.
    """
    rows = []
    for kind in kinds:
        for name, eps in sorted(_entry_points(kind).items()):
            for ep in eps:
                dist, version = _dist(ep)
                summary = ""
                if len(eps) > 1:
                    status = "conflict: " + ", ".join(_dist(e)[0] for e in eps)
                else:
                    try:
                        obj = ep.load()
                        missing = missing_requirements(obj)
                        status = (
                            "missing: " + ", ".join(f"{m} ({h})" for m, h in missing.items())
                            if missing
                            else "ok"
                        )
                        summary = _summary(obj)
                    except Exception as exc:
                        status = f"failed: {type(exc).__name__}: {exc}".splitlines()[0]
                rows.append(PluginRow(kind, name, dist, version, status, summary))
    if check_imports:
        pairs = [(r.kind, r.name) for r in rows if r.status == "ok" and r.kind != HOOKS]
        failures = _import_failures(pairs)
        rows = [attrs.evolve(r, status=failures.get((r.kind, r.name), r.status)) for r in rows]
    return rows
