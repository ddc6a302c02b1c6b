"""The one strict cattrs converter, and config errors as ``message @ dotted.path`` lines.

Strict means: unknown keys are errors (listing the valid ones), and no silent coercion:
``2.7`` is not an ``int``, ``"1.0"`` is not a ``float``, ``1`` is not a ``bool``; an ``int``
is accepted where a ``float`` is expected. A ``float`` must be finite (no NaN, no ±inf) unless
the field is typed :data:`~.checks.ExtendedFloat`, which also takes ±inf.
"""

from __future__ import annotations

import math

import attrs
import cattrs
from cattrs.errors import ForbiddenExtraKeysError

from ..errors import ConfigError
from .checks import ExtendedFloat, FieldError

__all__ = ["converter", "structure", "unstructure"]

converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)


def _strict(kind, accept):
    def hook(value, _type):
        if isinstance(value, bool) and kind is not bool or not isinstance(value, accept):
            raise TypeError(f"expected {kind.__name__}, got {value!r} ({type(value).__name__})")
        return kind(value)

    return hook


def _float(allow_inf: bool):
    read = _strict(float, (int, float))

    def hook(value, _type):
        value = read(value, _type)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            valid = "a number or ±inf" if allow_inf else "a finite number"
            raise ValueError(f"expected {valid}, got {value!r}")
        return value

    return hook


converter.register_structure_hook(int, _strict(int, int))
converter.register_structure_hook(float, _float(allow_inf=False))
converter.register_structure_hook(ExtendedFloat, _float(allow_inf=True))
converter.register_structure_hook(str, _strict(str, str))
converter.register_structure_hook(bool, _strict(bool, bool))


#: Separates a :class:`FieldError`'s field name from its message until :func:`_reroot` moves it into the path.
_FIELD = "\x00"


def _format(exc: BaseException, type_) -> str:
    if isinstance(exc, FieldError):
        return f"{exc.message}{_FIELD}{exc.field}"
    if isinstance(exc, ForbiddenExtraKeysError):
        valid = sorted(a.name for a in attrs.fields(exc.cl)) if attrs.has(exc.cl) else []
        return f"unknown key(s) {sorted(exc.extra_fields)}; valid keys: {', '.join(valid)}"
    if isinstance(exc, KeyError):
        return f"required key missing ({exc})"
    return str(exc) if str(exc) else f"invalid value for {getattr(type_, '__name__', type_)}"


def structure(data, cls, path: str):
    """Structure ``data`` into ``cls``; errors become one :class:`ConfigError`."""
    try:
        return converter.structure(data if data is not None else {}, cls)
    except Exception as exc:
        raise ConfigError("\n".join(error_lines(exc, path))) from exc


def error_lines(exc: BaseException, path: str) -> list[str]:
    if isinstance(exc, FieldError):
        return [_reroot(f"{exc.message}{_FIELD}{exc.field} @ $", path)]
    if isinstance(exc, ConfigError):
        return [str(exc)]
    lines = cattrs.transform_error(exc, path="$", format_exception=_format)
    return [_reroot(line, path) for line in lines]


def _reroot(line: str, path: str) -> str:
    message, sep, where = line.rpartition(" @ ")
    if not sep:
        return f"{line} @ {path}" if path else line
    message, _, field = message.partition(_FIELD)
    where = where.removeprefix("$").lstrip(".")
    full = ".".join(p for p in (path, where, field) if p)
    return f"{message} @ {full or '(root)'}"


def unstructure(obj):
    return converter.unstructure(obj)
