"""Typed configuration: strict structuring, the override grammar and config-group composition."""

from .compose import GROUP_ORDER, SELECTABLE, ResolvedConfig, compose, config_from_file, search_paths
from .converter import converter, structure, unstructure
from .overrides import Override, coerce, parse_overrides
from .schema import CoreConfig, RunConfig

__all__ = [
    "GROUP_ORDER",
    "SELECTABLE",
    "ResolvedConfig",
    "compose",
    "config_from_file",
    "search_paths",
    "converter",
    "structure",
    "unstructure",
    "Override",
    "coerce",
    "parse_overrides",
    "CoreConfig",
    "RunConfig",
]
