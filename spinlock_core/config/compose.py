"""Compose a run's config from config groups, plugin search paths and overrides.

Search paths, in order: the core's ``configs/`` (shipped as ``spinlock_configs``), the
directories plugins register through the ``register_config_paths`` hook, then the
directories in ``$SPINLOCK_CONFIG_PATH``. A group option ``<group>/<option>.yaml`` found in
several of them is merged in that order. Option files are fragments of the root config and
may name ``defaults`` (group selections they imply unless chosen on the command line) and
``by_scale`` (``{scale option: fragment}``: how this option refines a size preset, applied
after every group, e.g. a smaller CNO family for ``scale=small``).

Resolution order: the base ``config.yaml`` -> the selected options, group by group in
:data:`GROUP_ORDER` -> dotted overrides. The result is structured section by section with
the config class each section's owner declares.

Keys that moved are declared in :data:`ALIASES`: a value under the old key (command line,
option file or saved config) is read at the new one, with one warning line.
"""

from __future__ import annotations

import copy
import difflib
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import attrs

from .. import registry
from ..errors import ConfigError, PluginError
from ..specs import PluginSections
from . import checks
from ._yaml import dump_yaml, load_yaml
from .converter import structure, unstructure
from .overrides import Override, coerce, parse_overrides
from .schema import CoreConfig

__all__ = [
    "SELECTABLE",
    "GROUP_ORDER",
    "ALIASES",
    "ResolvedConfig",
    "compose",
    "search_paths",
    "config_from_file",
    "move_aliases",
]

#: Groups whose option picks a plugin by name; the option becomes ``<group>.name``.
SELECTABLE = {
    "domain": "domains",
    "operator": "operators",
    "backbone": "backbones",
    "tokenizer": "tokenizers",
}
#: Order in which group options are merged (later ones win); other groups follow alphabetically.
GROUP_ORDER = ("domain", "operator", "backbone", "tokenizer", "scale")
_CORE_KEYS = {a.name for a in attrs.fields(CoreConfig)}
#: Deprecated dotted keys and the keys that replaced them: ``{old: new}``. A value under the old
#: key is moved to the new one during composition with one warning line (a command-line value
#: becomes an override of the new key, so it wins over option files); a value found in an option
#: file or a saved config that the selected plugin cannot take at the new key is dropped with
#: the warning (e.g. ``mno.preset``, saved by every run before, for a backbone without presets).
ALIASES: dict[str, str] = {
    "mno.preset": "backbone.preset",  # a size preset is the backbone's own option (issue #24)
}


def search_paths() -> list[Path]:
    paths: list[Path] = [Path(str(files("spinlock_configs")))]

    def register(path) -> None:
        path = Path(str(path))
        if path not in paths:
            paths.append(path)

    from ..plugins import get_plugin_manager

    get_plugin_manager().hook.register_config_paths(register=register)
    for extra in filter(None, os.environ.get("SPINLOCK_CONFIG_PATH", "").split(os.pathsep)):
        register(extra)
    return paths


def _read(path: Path) -> dict:
    try:
        data = load_yaml(path.read_text()) or {}
    except Exception as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping, not {type(data).__name__}")
    return data


def _groups(paths: list[Path]) -> dict[str, dict[str, list[Path]]]:
    """``{group: {option: [files in search order]}}``."""
    found: dict[str, dict[str, list[Path]]] = {}
    for root in paths:
        if not root.is_dir():
            continue
        for group_dir in sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
        ):
            for f in sorted(group_dir.glob("*.yaml")):
                found.setdefault(group_dir.name, {}).setdefault(f.stem, []).append(f)
    return found


def _merge(into: dict, fragment: dict) -> dict:
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def _options(group: str, groups: dict) -> list[str]:
    names = set(groups.get(group, {}))
    if group in SELECTABLE:
        names |= set(registry.available(SELECTABLE[group]))
    return sorted(names)


def _check_option(group: str, option: str, groups: dict) -> None:
    if group in SELECTABLE:
        if option not in registry.available(SELECTABLE[group]):
            raise registry._unknown(SELECTABLE[group], option)
        registry.check_hooks(SELECTABLE[group], option)  # its config files come from its hooks
    elif option not in groups.get(group, {}):
        valid = _options(group, groups)
        close = difflib.get_close_matches(option, valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown {group} {option!r}{hint} Available: {', '.join(valid)}")


def _compose_groups(paths: list[Path], groups: dict, selections: dict[str, str]) -> tuple[dict, dict]:
    data: dict = {}
    for root in paths:
        if (root / "config.yaml").is_file():
            _merge(data, _read(root / "config.yaml"))
    pending = dict(data.pop("defaults", None) or {})
    pending.update(selections)
    order = list(GROUP_ORDER) + sorted(set(pending) - set(GROUP_ORDER))
    done: dict[str, str] = {}
    refinements: list[tuple[str, dict]] = []
    for group in order:
        option = pending.get(group)
        if option is None:
            continue
        option = str(option)
        _check_option(group, option, groups)
        fragment: dict = {}
        for f in groups.get(group, {}).get(option, []):
            _merge(fragment, _read(f))
        for sub_group, sub_option in (fragment.pop("defaults", None) or {}).items():
            if sub_group in selections:
                continue
            if sub_group in done:
                raise ConfigError(
                    f"{group}/{option}.yaml sets a default for {sub_group!r}, which is resolved before "
                    f"{group!r}; select it on the command line instead"
                )
            pending[sub_group] = sub_option
            if sub_group not in order:
                order.append(sub_group)
        refinements.append((f"{group}/{option}.yaml", fragment.pop("by_scale", None) or {}))
        _merge(data, fragment)
        if group in SELECTABLE:
            section = {k: v for k, v in (data.get(group) or {}).items() if k != "name"}
            data[group] = {"name": option, **section}
        elif group in _CORE_KEYS:  # e.g. scale: recorded; other groups leave only their effects
            data[group] = option
        done[group] = option
    scale = data.get("scale")
    for source, by_scale in refinements:  # an option's own size presets, after every group
        if not isinstance(by_scale, dict):
            raise ConfigError(f"{source}: by_scale must map scale names to config fragments")
        _merge(data, by_scale.get(scale) or {})
    return data, done


@attrs.frozen
class _Section:
    path: str
    cls: type | None
    owner: str


def _enabled_names(value) -> list[str]:
    """The plugin names an ``enabled_by`` key holds: a list of names or a mapping name -> weight."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return []


def _stage_specs(wanted: set[str] = frozenset()):
    """``(name, spec)`` of every installed stage that loads; a broken one is skipped unless it is
    ``wanted`` (then its error is raised)."""
    for name in registry.available("stages"):
        try:
            spec = registry.load("stages", name)
        except PluginError:
            if name in wanted:
                raise
            continue
        yield name, spec


def _plugin_sections(wanted: set[str] = frozenset()) -> list[PluginSections]:
    """What the installed stages declare: plugins they enable whose options have own sections."""
    found: dict[str, PluginSections] = {}
    for _, spec in _stage_specs(wanted):
        for decl in getattr(spec, "plugin_sections", ()):
            found.setdefault(decl.prefix, decl)
    return list(found.values())


def _sections(data: dict) -> dict[str, _Section]:
    """Config sections and the classes that structure them, from the composed data."""
    sections: dict[str, _Section] = {}
    for group, kind in SELECTABLE.items():
        value = data.get(group)
        if isinstance(value, dict) and value.get("name"):
            spec = registry.load(kind, str(value["name"]))
            sections[group] = _Section(group, spec.config_class, f"{kind}:{spec.name}")
    wanted = {str(data.get("stage", "all")), *map(str, data.get("pipeline") or ())}
    for name, spec in _stage_specs(wanted):
        if spec.config_section:
            sections[spec.config_section] = _Section(spec.config_section, spec.config_class, f"stages:{name}")
    for decl in _plugin_sections(wanted):
        for name in _enabled_names(_get(data, decl.enabled_by)):
            spec = registry.load(decl.kind, name)
            if spec.config_class is not None:
                path = f"{decl.prefix}.{name}"
                sections[path] = _Section(path, spec.config_class, f"{decl.kind}:{name}")
    return sections


def _field_type(cls: type, name: str, key: str):
    attrs.resolve_types(cls)
    for field in attrs.fields(cls):
        if field.name == name:
            return field.type
    valid = [f.name for f in attrs.fields(cls)]
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown key {name!r}{hint} Valid keys: {', '.join(valid)} @ {key}")


def _target_type(key: str, sections: dict[str, _Section]):
    parts = key.split(".")
    if key in sections:
        cls = sections[key].cls
        keys = ", ".join(a.name for a in attrs.fields(cls)) if cls is not None else "(none)"
        raise ConfigError(f"{key!r} is a section, not a value; set one of its keys: {keys}")
    for cut in range(len(parts) - 1, 0, -1):
        path = ".".join(parts[:cut])
        if path in sections:
            section = sections[path]
            rest = parts[cut:]
            if path in SELECTABLE and rest == ["name"]:
                raise ConfigError(f"select the {path} with `{path}=NAME`, not `{key}=...`")
            tp: Any = section.cls
            if tp is None:
                raise ConfigError(f"{section.owner} takes no options @ {key}")
            for name in rest:
                if not attrs.has(tp):
                    return Any
                tp = _field_type(tp, name, key)
            return tp
    for decl in _plugin_sections():
        if parts[0] == decl.prefix and len(parts) > 1:
            raise ConfigError(_not_enabled_hint(decl, parts[1], sections) + f" @ {key}")
    tp = CoreConfig
    for name in parts:
        if not attrs.has(tp):
            return Any
        if tp is CoreConfig and name not in _CORE_KEYS:
            valid = sorted(_CORE_KEYS | {p.split(".")[0] for p in sections})
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown config key {key!r}{hint} Valid top-level keys: {', '.join(valid)}")
        tp = _field_type(tp, name, key)
    return tp


def _plural(label: str) -> str:
    if label.endswith("y"):
        return label[:-1] + "ies"
    return label + ("es" if label.endswith("s") else "s")


def _not_enabled_hint(decl: PluginSections, name: str, sections: dict[str, _Section]) -> str:
    """Why ``<prefix>.<name>`` takes no options here: not installed, not enabled or no options."""
    installed = registry.available(decl.kind)
    enabled = sorted(p.split(".", 1)[1] for p in sections if p.startswith(f"{decl.prefix}."))
    if name not in installed:
        close = difflib.get_close_matches(name, installed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {decl.label} {name!r}{hint}; installed {_plural(decl.label)}: {', '.join(installed)}"
    return (
        f"options for {decl.label} {name!r}, which is not in {decl.enabled_by} or takes none: enable it "
        f"first with {decl.enable_hint.format(name=name)} (enabled with options now: {', '.join(enabled) or 'none'})"
    )


def _assign(data: dict, key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _get(data: dict, path: str):
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@attrs.frozen
class ResolvedConfig:
    """A fully resolved config: plain data (saved with every artefact) and its typed sections."""

    data: dict
    core: CoreConfig
    sections: dict[str, Any]
    choices: dict[str, str]

    def section(self, path: str) -> Any:
        try:
            return self.sections[path]
        except KeyError:
            raise ConfigError(
                f"config has no section {path!r}; present: {', '.join(sorted(self.sections))}"
            ) from None

    def get(self, dotted: str, default: Any = None) -> Any:
        value = _get(self.data, dotted)
        return default if value is None else value

    def subset(self, prefixes) -> dict[str, Any]:
        """``{prefix: value}`` for each dotted prefix (the config a stage's artefacts depend on)."""
        return {p: copy.deepcopy(_get(self.data, p)) for p in prefixes}

    def to_yaml(self) -> str:
        return dump_yaml(self.data)


def _structure_all(data: dict, sections: dict[str, _Section]) -> tuple[CoreConfig, dict[str, Any]]:
    errors: list[str] = []
    root_keys = _CORE_KEYS | {p.split(".")[0] for p in sections}
    unknown = sorted(set(data) - root_keys)
    if unknown:
        errors.append(f"unknown top-level key(s) {unknown}; valid: {', '.join(sorted(root_keys))}")
    core = None
    try:
        core = structure({k: v for k, v in data.items() if k in _CORE_KEYS}, CoreConfig, "")
    except ConfigError as exc:
        errors.append(str(exc))
    built: dict[str, Any] = {}
    for path, section in sections.items():
        raw = _get(data, path) or {}
        if path in SELECTABLE:
            raw = {k: v for k, v in raw.items() if k != "name"}
        if section.cls is None:
            if raw:
                errors.append(f"{section.owner} takes no options, got {sorted(raw)} @ {path}")
            continue
        try:
            built[path] = structure(raw, section.cls, path)
        except ConfigError as exc:
            errors.append(str(exc))
    for decl in _plugin_sections():
        raw = data.get(decl.prefix)
        if not isinstance(raw, dict):
            continue
        for name in sorted(
            set(raw) - {p.split(".", 1)[1] for p in sections if p.startswith(f"{decl.prefix}.")}
        ):
            errors.append(f"{_not_enabled_hint(decl, str(name), sections)} @ {decl.prefix}.{name}")
    if not errors:
        errors += _value_errors(built)
    if errors:
        raise ConfigError("\n".join(errors))
    return core, built


def _value_errors(built: dict[str, Any]) -> list[str]:
    """Checks across a section's fields that its class leaves open: weight maps and size bounds."""
    errors = []
    for path, field in (("mno", "loss"), ("generate", "ic_weights")):
        value = getattr(built.get(path), field, None)
        if value is not None:
            try:
                checks.check_weights(value, field)
            except checks.FieldError as exc:
                errors.append(f"{exc.message} @ {path}.{field}")
    return errors + checks.size_errors(built.get("generate"), built.get("validate"))


def _check_names(core: CoreConfig) -> None:
    stages = registry.available("stages")
    for name in (core.stage, *core.pipeline):
        if name != "all" and name not in stages:
            raise registry._unknown("stages", name)
    for family in core.features:
        if family not in registry.available("features"):
            raise registry._unknown("features", family)


def _alias_warning(old: str, value: Any, used: bool = True) -> None:
    from ..console import warn

    new = ALIASES[old]
    warn(
        f"{old} is deprecated: read as {new}={value}"
        if used
        else f"{old} is deprecated, dropped: no {new} here"
    )


def _alias_overrides(overrides: list[Override]) -> list[Override]:
    """Command-line overrides with each deprecated key replaced by its new one (one warning each)."""
    out = []
    for o in overrides:
        if o.key in ALIASES:
            _alias_warning(o.key, o.raw.strip())
            o = Override(key=ALIASES[o.key], raw=o.raw)
        out.append(o)
    return out


def _pop(data: dict, key: str) -> tuple[bool, Any]:
    parts = key.split(".")
    node = _get(data, ".".join(parts[:-1])) if len(parts) > 1 else data
    if not isinstance(node, dict) or parts[-1] not in node:
        return False, None
    return True, node.pop(parts[-1])


def move_aliases(data: dict, accepts=lambda key: True) -> dict:
    """Move the values of :data:`ALIASES`' old keys in plain config ``data`` (an option file's
    merge or a saved config) to their new keys, in place, one warning line each; a value whose
    new key ``accepts(new)`` refuses (the selected plugin has no such option) is dropped.
    Returns ``data``."""
    for old, new in ALIASES.items():
        found, value = _pop(data, old)
        if not found:
            continue
        if accepts(new):
            _alias_warning(old, value)
            _assign(data, new, value)
        else:
            _alias_warning(old, value, used=False)
    return data


def _accepts(sections: dict[str, _Section]):
    def accepts(key: str) -> bool:
        try:
            _target_type(key, sections)
        except ConfigError:
            return False
        return True

    return accepts


def _apply(data: dict, overrides: list[Override], sections: dict[str, _Section] | None) -> None:
    for o in overrides:
        tp = _target_type(o.key, sections or {})
        _assign(data, o.key, _plain(coerce(o.raw, tp, o.key)))


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def compose(args=(), *, from_data: dict | None = None) -> ResolvedConfig:
    """Resolve ``args`` (``group=option`` and ``a.b=value``) into a :class:`ResolvedConfig`.

    With ``from_data`` (a saved resolved config) the groups are fixed and only dotted
    overrides may follow.
    """
    overrides = parse_overrides(args)
    paths = search_paths()
    groups = _groups(paths)
    group_keys = set(groups) | set(SELECTABLE)
    selections = {o.key: o.raw.strip() for o in overrides if o.key in group_keys}
    assignments = _alias_overrides([o for o in overrides if o.key not in group_keys])
    if from_data is not None:
        if selections:
            raise ConfigError(
                f"groups are fixed by the saved config; drop {sorted(selections)} or start a new run"
            )
        data = copy.deepcopy(from_data)
        choices = {
            g: (data[g]["name"] if g in SELECTABLE else data[g]) for g in group_keys if g in data and data[g]
        }
    else:
        data, choices = _compose_groups(paths, groups, selections)
    root_level = [o for o in assignments if o.key.split(".")[0] in _CORE_KEYS]
    _apply(data, root_level, None)
    sections = _sections(data)
    move_aliases(data, _accepts(sections))
    rest = [o for o in assignments if o not in root_level]
    prefixes = {decl.prefix for decl in _plugin_sections()}
    late = [o for o in rest if o.key.split(".")[0] in prefixes]  # <prefix>.<name> exists once it is enabled
    _apply(data, [o for o in rest if o not in late], sections)
    sections = _sections(data)
    _apply(data, late, sections)
    core, built = _structure_all(data, sections)
    _check_names(core)
    data = _normalise(data, core, built)
    return ResolvedConfig(data=data, core=core, sections=built, choices=choices)


def _normalise(data: dict, core: CoreConfig, built: dict[str, Any]) -> dict:
    """The saved form: every default filled in, so a saved config never depends on code defaults."""
    out = dict(data)
    out.update(unstructure(core))
    for path, obj in built.items():
        value = unstructure(obj)
        if path in SELECTABLE:
            value = {"name": data[path]["name"], **value}
        _assign(out, path, value)
    return _listify(out)


def _listify(value):
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value


def config_from_file(path: Path, args=()) -> ResolvedConfig:
    """Re-resolve a saved ``config.yaml`` (from a run directory), with optional dotted overrides."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"no saved config at {path}; pass a run directory made by `spinlock run`")
    data = _read(path)
    _check_saved(data, path)
    return compose(args, from_data=data)


def _check_saved(data: dict, path: Path) -> None:
    """A saved config names its groups as ``{name: ...}`` sections; anything else is refused."""
    if not data:
        raise ConfigError(
            f"config file {path} is empty; pass a config.yaml saved by `spinlock run` (or its run directory)"
        )
    if "domain" not in data:
        raise ConfigError(
            f"config file {path} has no domain section, so it is not a config saved by `spinlock run`; "
            f"keys found: {', '.join(map(str, data))}"
        )
    for group in SELECTABLE:
        value = data.get(group)
        if value is None:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            raise ConfigError(
                f"config file {path}: {group} must be a mapping with a name, e.g. "
                f"{group}: {{name: ...}}, got {value!r} @ {group}"
            )
