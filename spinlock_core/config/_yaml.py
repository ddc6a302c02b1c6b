"""YAML with YAML 1.2's scalars: ``1e-3`` is a float, only ``true``/``false`` are booleans.

PyYAML implements YAML 1.1, where ``1e-3`` is a string and ``no`` is ``False``; both have
bitten config users for years. We keep PyYAML's safe loader and fix its resolvers.
"""

from __future__ import annotations

import re

import yaml

__all__ = ["load_yaml", "dump_yaml", "parse_scalar"]

_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))


def load_yaml(text: str):
    return yaml.load(text, Loader=_Loader)


def parse_scalar(text: str):
    """A command-line value as YAML 1.2 would read it (``[a,b]`` lists, ``null``...)."""
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


class _Dumper(yaml.SafeDumper):
    pass


def _represent_tuple(dumper, data):
    return dumper.represent_list(list(data))


_Dumper.add_representer(tuple, _represent_tuple)


def dump_yaml(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
