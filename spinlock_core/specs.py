"""What entry points resolve to: light descriptors that import implementations on use.

Entry points of every kind point at a spec object, not at the heavy implementation, so
listing or validating plugins never imports torch or model code. The spec names its config
class (an attrs class; light) and the ``"module:attribute"`` of the implementation.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs

__all__ = ["ComponentSpec", "StageSpec", "PluginSections", "PluginOrigin", "import_object"]


@attrs.frozen
class PluginOrigin:
    """Where a spec came from; set by :func:`spinlock_core.registry.load` (``None`` for a spec
    built by hand, which is then used unchecked)."""

    kind: str
    name: str
    distribution: str = "?"
    version: str = "?"

    def __str__(self) -> str:
        return f"plugin {self.name!r} (distribution {self.distribution} {self.version}) of kind {self.kind}"


#: Kinds whose implementation is the callable itself (a factory or a function), not a class.
_CALLABLE_KINDS = ("backbones", "stages")


def _origin_field():
    return attrs.field(default=None, init=False, eq=False, repr=False)


def _load(spec: Any) -> Any:
    """Import ``spec.implementation``; with an origin, a failure is one :class:`PluginError`
    line naming the plugin and its distribution, and the object is checked against its kind's
    interface (:data:`spinlock_core.interfaces.INTERFACES`)."""
    origin = spec.origin
    if origin is None:
        return import_object(spec.implementation)
    from .errors import PluginError

    try:
        obj = import_object(spec.implementation)
    except Exception as exc:
        cause = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise PluginError(f"{origin} failed to import {spec.implementation}: {cause}") from exc
    if isinstance(obj, type) or origin.kind in _CALLABLE_KINDS:
        check(origin, obj)
    return obj


def check(origin: PluginOrigin | None, obj: Any) -> Any:
    """Raise :class:`PluginError` when ``obj`` does not satisfy the interface of ``origin.kind``."""
    from .interfaces import INTERFACES, missing_members

    interface = INTERFACES.get(origin.kind) if origin is not None else None
    if interface is not None:
        missing = missing_members(interface, obj)
        if missing:
            from .errors import PluginError

            raise PluginError(
                f"{origin} does not implement {interface.__name__}: missing {', '.join(missing)}"
            )
    return obj


def import_object(target: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module_name, _, attribute = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else []:
        obj = getattr(obj, part)
    return obj


@attrs.frozen(kw_only=True)
class ComponentSpec:
    """A named implementation of one kind (domain, operator, feature family, backbone...).

    ``implementation`` is called as ``implementation(config)`` by :meth:`create`, where
    ``config`` is an instance of ``config_class`` (or ``None`` when it has none).
    ``extras`` carries kind-specific light facts (e.g. a domain's operator names).
    """

    name: str
    implementation: str
    summary: str = ""
    config_class: type | None = None
    extras: dict[str, Any] = attrs.Factory(dict)
    origin: PluginOrigin | None = _origin_field()

    def load_implementation(self) -> Any:
        """The implementation, imported now and checked against its kind's interface."""
        return _load(self)

    def create(self, config: Any = None, **kwargs: Any) -> Any:
        implementation = self.load_implementation()
        made = implementation(config, **kwargs)
        if isinstance(implementation, type) or self.origin is None or self.origin.kind in _CALLABLE_KINDS:
            return made
        return check(self.origin, made)  # a factory function: check what it made


@attrs.frozen(kw_only=True)
class PluginSections:
    """Named plugins a stage enables from its config, each with an options section of its own.

    The plugins of ``kind`` named at the dotted key ``enabled_by`` (a list of names, or a
    mapping name -> weight) keep their options in ``<prefix>.<name>``, structured by the
    ``config_class`` of their spec. E.g. ``features=[summary]`` -> ``feature.summary``.
    """

    kind: str
    """Entry-point kind of the plugins, e.g. ``"losses"``."""
    enabled_by: str
    """Dotted config key naming the enabled plugins, e.g. ``"mno.loss"``."""
    prefix: str
    """Root key of their sections, e.g. ``"loss"``."""
    label: str
    """What one plugin is called in messages, e.g. ``"loss"``."""
    enable_hint: str
    """How to enable plugin ``{name}`` on the command line, e.g. ``"mno.loss.{name}=WEIGHT"``."""


@attrs.frozen(kw_only=True)
class StageSpec:
    """A pipeline stage: what it needs, what it makes, and which config it depends on.

    * ``requires`` – stages whose artefacts this stage reads (they run first if missing);
    * ``outputs`` – artefact paths, relative to the run directory, that this stage makes;
    * ``config_keys`` – dotted prefixes of the resolved config that determine the outputs
      (a change there makes existing artefacts stale);
    * ``config_section``/``config_class`` – the section this stage owns, if any;
    * ``plugin_sections`` – plugins this stage enables by name whose options have sections of
      their own (:class:`PluginSections`);
    * ``requires_when`` – ``"module:function"`` called as ``function(config)``: stages it also
      reads under that config (``mno`` reads the tokenizer when one of its losses does); light,
      as it runs when the pipeline is planned and fingerprinted;
    * ``updates_when`` – ``"module:function"`` called as ``function(old, new)`` with the stage's
      config as stamped on its artefacts and as resolved now (``{config key: value}``, JSON
      values): true when the stage updates its artefacts in place for that change rather than
      re-making them (``features`` adding a family keeps the tables it has), so the runner runs
      it as an ``update`` without ``run.force``; light, as it runs when the pipeline is planned;
    * ``implementation`` – ``"module:function"`` called as ``function(context)``.
    """

    name: str
    implementation: str
    summary: str = ""
    requires: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    outputs: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    config_keys: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    config_section: str | None = None
    config_class: type | None = None
    plugin_sections: tuple[PluginSections, ...] = attrs.field(default=(), converter=tuple)
    requires_when: str | None = None
    updates_when: str | None = None
    origin: PluginOrigin | None = _origin_field()

    def load_implementation(self) -> Any:
        """The stage function, imported now and checked against :class:`~spinlock_core.interfaces.Stage`."""
        return _load(self)

    def requires_under(self, config: Any) -> tuple[str, ...]:
        """``requires``, then the stages ``requires_when`` adds under ``config``."""
        extra = import_object(self.requires_when)(config) if self.requires_when else ()
        return self.requires + tuple(r for r in extra if r not in self.requires)

    def updates_in_place(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """Whether a change of this stage's config from ``old`` to ``new`` (both ``{config key:
        value}``) updates its artefacts in place (``updates_when``; never without one)."""
        return bool(self.updates_when) and bool(import_object(self.updates_when)(old, new))
