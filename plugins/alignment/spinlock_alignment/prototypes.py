"""Measure 1: prototype matching on the shared columns.

Every code of a level is decoded to its prototype (:meth:`CodebookView.prototypes`), the
prototypes are z-scaled (``space``) and restricted to the shared columns, and the codes of A
and B are matched one to one by the Hungarian algorithm on RMS distance. The score is the mean
matched distance (z units; lower is better). Codes are compared only when they say something
about the shared columns: a code no sample of its own run uses (dead) or whose category holds
no shared column is left out and counted.

Null: the shared columns of B's prototypes permuted (one permutation per draw). It keeps each
codebook's internal geometry and every prototype's values, and breaks only which feature is
which — what "unrelated vocabularies over the same features" means.
"""

from __future__ import annotations

import attrs
import numpy as np

from .stats import match
from .views import Code

__all__ = ["LevelPrototypes", "level_prototypes", "matched_distance"]


@attrs.frozen
class LevelPrototypes:
    """The comparable codes of one level of both sides, with z-scaled prototypes ``[n, S]``."""

    level: int
    codes_a: list[Code]
    codes_b: list[Code]
    pa: np.ndarray
    pb: np.ndarray
    #: Left-out codes per side: {"dead": n, "without a shared column": n}.
    left_out: dict[str, dict[str, int]]

    def matching(self) -> list[tuple[Code, Code, float]]:
        ra, rb, cost = match(self.pa, self.pb)
        return [(self.codes_a[i], self.codes_b[j], float(c)) for i, j, c in zip(ra, rb, cost, strict=True)]


def _side(run, usage, level: int, shared: list[str], scale) -> tuple[list[Code], np.ndarray, dict[str, int]]:
    view = run.view
    pos = {c: i for i, c in enumerate(view.output_columns)}
    protos = view.prototypes(usage, level)[:, [pos[c] for c in shared]]
    shared_set = set(shared)
    covers = [bool(shared_set & set(view.category_columns(i))) for i in range(len(view.categories))]
    keep, dead, blind = [], 0, 0
    for row, code in enumerate(view.codes(level)):
        if not covers[code.category_index]:
            blind += 1
        elif usage[code.category_index][level][code.index] <= 0:
            dead += 1
        else:
            keep.append(row)
    codes = view.codes(level)
    return [codes[r] for r in keep], scale(protos[keep]), {"dead": dead, "without a shared column": blind}


def level_prototypes(
    a, b, usage_a, usage_b, level: int, shared: list[str], scale_a, scale_b
) -> LevelPrototypes:
    """Comparable prototypes of ``level`` of runs ``a`` and ``b`` (z-scaled by ``scale_a``/``scale_b``)."""
    codes_a, pa, out_a = _side(a, usage_a, level, shared, scale_a)
    codes_b, pb, out_b = _side(b, usage_b, level, shared, scale_b)
    return LevelPrototypes(level, codes_a, codes_b, pa, pb, {"A": out_a, "B": out_b})


def matched_distance(pa: np.ndarray, pb: np.ndarray) -> float:
    """Mean RMS distance of the Hungarian matching (``nan`` when a side has no code)."""
    if len(pa) == 0 or len(pb) == 0:
        return float("nan")
    return float(match(pa, pb)[2].mean())
