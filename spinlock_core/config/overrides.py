"""The command-line grammar: ``group=option`` selects, ``a.b.c=value`` overrides.

It is Hydra's grammar without Hydra: a key without dots that names a config group selects
that group's option; any other key is a dotted path whose value is typed by the schema
(int, float, bool, ``null``, lists ``[a,b]``, strings). Later assignments win.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union

import attrs

from ..errors import ConfigError
from ._yaml import parse_scalar

__all__ = ["Override", "parse_overrides", "coerce"]


@attrs.frozen
class Override:
    key: str
    raw: str

    @property
    def path(self) -> list[str]:
        return self.key.split(".")


def parse_overrides(args) -> list[Override]:
    """``["a.b=1", "domain=x"]`` -> overrides, in order; a malformed one is a ConfigError."""
    out = []
    for arg in args:
        key, sep, raw = arg.partition("=")
        key = key.strip()
        if not sep or not key or any(not part.isidentifier() for part in key.split(".")):
            raise ConfigError(
                f"cannot read override {arg!r}: expected key=value (e.g. seed=1, domain=reaction_diffusion, "
                f"generate.n_samples=64)"
            )
        out.append(Override(key, raw))
    return out


_NULLS = {"null", "none", "None", "~", "Null", "NULL"}


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(raw: str, tp, key: str) -> Any:
    """Read ``raw`` as a value of type ``tp``, or raise a ConfigError naming ``key``."""
    try:
        return _coerce(raw.strip(), tp)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{exc} @ {key}") from None


def _coerce(raw: str, tp) -> Any:
    while isinstance(tp, typing.NewType):  # e.g. checks.ExtendedFloat: read as its base type
        tp = tp.__supertype__
    origin = typing.get_origin(tp)
    if tp is Any or tp is None:
        return parse_scalar(raw)
    if origin in (Union, types.UnionType):
        members = typing.get_args(tp)
        if type(None) in members and raw in _NULLS:
            return None
        errors = []
        for member in members:
            if member is type(None):
                continue
            try:
                return _coerce(raw, member)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError(f"expected {_type_name(tp)}, got {raw!r}")
    if origin is Literal:
        choices = typing.get_args(tp)
        if raw in choices:
            return raw
        raise ValueError(f"expected one of {list(choices)}, got {raw!r}")
    if origin in (list, tuple, typing.Sequence, set, frozenset) or tp in (list, tuple):
        args = typing.get_args(tp)
        item = args[0] if args else Any
        value = parse_scalar(raw)
        if not isinstance(value, list):
            raise ValueError(f"expected a list like [a,b], got {raw!r}")
        return [_coerce(_text(v), item) for v in value]
    if origin is dict or tp is dict:
        value = parse_scalar(raw)
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping like {{a: 1}}, got {raw!r}")
        return value
    if tp is bool:
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise ValueError(f"expected bool (true or false), got {raw!r}")
    if tp is int:
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            hint = ""
            try:
                number = float(raw.replace("_", ""))
                if number.is_integer():
                    hint = f" (write the integer out: {int(number)})"
            except (ValueError, OverflowError):
                pass
            raise ValueError(f"expected int, got {raw!r}{hint}") from None
    if tp is float:
        try:
            return float(raw.replace("_", ""))
        except ValueError:
            raise ValueError(f"expected float, got {raw!r}") from None
    if tp is str:
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            return raw[1:-1]
        return raw
    if attrs.has(tp):
        keys = ", ".join(a.name for a in attrs.fields(tp))
        raise ValueError(f"is a section, not a value; set one of its keys: {keys}")
    return parse_scalar(raw)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)
