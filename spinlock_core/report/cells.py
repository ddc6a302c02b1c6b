"""Table cells: numbers formatted for people, and nested JSON flattened into rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["fmt", "json_rows"]


def fmt(value: Any) -> str:
    """A cell: ints with separators, floats to 4 significant digits, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        if len(value) <= 8 and all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "[" + ", ".join(fmt(v) for v in value) + "]"
        return f"[{len(value)} values]"
    return str(value)


def json_rows(data: Any, prefix: str = "", limit: int = 60) -> list[tuple[str, str]]:
    """``[(dotted.key, cell)]`` of the leaves of a JSON value, at most ``limit`` rows.

    Short lists of scalars stay one cell; lists of records are summarised by their length.
    """
    rows: list[tuple[str, str]] = []

    def walk(value: Any, key: str) -> None:
        if len(rows) >= limit:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows.append((key, f"{len(value)} records"))
        else:
            rows.append((key, fmt(value)))

    walk(data, prefix)
    return rows
