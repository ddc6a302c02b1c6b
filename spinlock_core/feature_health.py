"""Feature health: which columns of each family carry no information (all NaN, or constant).

A family can finish its stage and still be mostly empty (a SUMMARY family whose statistics are
undefined for a domain's fields: NaN on every sample). :func:`health` counts such columns per
family from the tables alone (pure numpy); :func:`problems` turns the counts into one line per
unhealthy family, which the ``features`` stage prints as warnings (:func:`warn_unhealthy`) and
the report's features section shows, with a badge that is not "ok" when a family is mostly NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["column_health", "health", "problems", "mostly_nan", "warn_unhealthy", "MOSTLY"]

#: A family with more than this fraction of all-NaN columns is "mostly NaN".
MOSTLY = 0.5


def column_health(table: np.ndarray, names: Sequence[str]) -> dict:
    """Health of one family's table (``[N, D]`` or ``[N, T, D]``, pooled over all but the last axis).

    Returns ``{"columns", "with_nan", "all_nan": [names], "constant": [names], "varying": [indices]}``:
    ``all_nan`` columns have no finite value; ``constant`` ones have finite values all equal
    (NaNs aside); ``with_nan`` counts columns holding at least one non-finite value.
    """
    table = np.asarray(table)
    if table.shape[-1] != len(names):
        raise ValueError(f"the table has {table.shape[-1]} columns, {len(names)} names were given")
    flat = table.reshape(-1, table.shape[-1])
    finite = np.isfinite(flat)
    with np.errstate(all="ignore"):
        lo = np.where(finite, flat, np.inf).min(axis=0, initial=np.inf)
        hi = np.where(finite, flat, -np.inf).max(axis=0, initial=-np.inf)
    all_nan = ~finite.any(axis=0)
    constant = ~all_nan & (hi <= lo)
    return {
        "columns": len(names),
        "with_nan": int((~finite).any(axis=0).sum()),
        "all_nan": [names[j] for j in np.flatnonzero(all_nan)],
        "constant": [names[j] for j in np.flatnonzero(constant)],
        "varying": np.flatnonzero(~all_nan & ~constant).tolist(),
    }


def health(tables: Mapping[str, np.ndarray], columns: Mapping[str, Sequence[str]]) -> dict[str, dict]:
    """:func:`column_health` of every family: ``{family: health}``."""
    return {name: column_health(tables[name], list(columns[name])) for name in tables}


def mostly_nan(entry: Mapping) -> bool:
    """Whether more than :data:`MOSTLY` of a family's columns are all NaN."""
    return entry["columns"] > 0 and len(entry["all_nan"]) > MOSTLY * entry["columns"]


def problems(by_family: Mapping[str, Mapping]) -> list[str]:
    """One line per family with all-NaN or constant columns, e.g.
    ``"summary: 97 of 186 columns are all NaN (mostly NaN), 3 constant; e.g. summary/a, ..."``."""
    lines = []
    for name, entry in by_family.items():
        nan, const = len(entry["all_nan"]), len(entry["constant"])
        if not nan and not const:
            continue
        parts = []
        if nan:
            mostly = " (mostly NaN)" if mostly_nan(entry) else ""
            parts.append(f"{nan} of {entry['columns']} columns are all NaN{mostly}")
        if const:
            parts.append(
                f"{const} constant" if nan else f"{const} of {entry['columns']} columns are constant"
            )
        examples = (entry["all_nan"] + entry["constant"])[:3]
        lines.append(
            f"{name}: {', '.join(parts)}; they carry no information and the tokenizer drops them "
            f"(e.g. {', '.join(examples)})"
        )
    return lines


def warn_unhealthy(tables: Mapping[str, np.ndarray], manifests: Mapping[str, Sequence]) -> list[str]:
    """Warn on the console about every unhealthy family (``manifests``: column names or dicts with
    a ``name``); returns the lines warned."""
    from .console import warn

    columns = {n: [c["name"] if isinstance(c, Mapping) else str(c) for c in m] for n, m in manifests.items()}
    lines = problems(health(tables, columns))
    for line in lines:
        warn(f"features: {line}")
    return lines
