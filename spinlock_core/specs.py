"""What entry points resolve to: light descriptors that import implementations on use.

Entry points of every kind point at a spec object, not at the heavy implementation, so
listing or validating plugins never imports torch or model code. The spec names its config
class (an attrs class; light) and the ``"module:attribute"`` of the implementation.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs

__all__ = ["ComponentSpec", "StageSpec", "import_object"]


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

    def load_implementation(self) -> Any:
        return import_object(self.implementation)

    def create(self, config: Any = None, **kwargs: Any) -> Any:
        return self.load_implementation()(config, **kwargs)


@attrs.frozen(kw_only=True)
class StageSpec:
    """A pipeline stage: what it needs, what it makes, and which config it depends on.

    * ``requires`` – stages whose artefacts this stage reads (they run first if missing);
    * ``outputs`` – artefact paths, relative to the run directory, that this stage makes;
    * ``config_keys`` – dotted prefixes of the resolved config that determine the outputs
      (a change there makes existing artefacts stale);
    * ``config_section``/``config_class`` – the section this stage owns, if any;
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

    def load_implementation(self) -> Any:
        return import_object(self.implementation)
