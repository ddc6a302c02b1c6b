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

The distance includes how alike the two codebooks' *mean* prototypes are. The same matching on
:meth:`LevelPrototypes.centred` prototypes (each side's mean removed), against the same null
draws, isolates which code matches which; the report gives it beside the score and warns when
the score beats its null only through the mean profiles (an undertrained tokenizer whose codes
all decode alike).
"""

from __future__ import annotations

import attrs
import numpy as np

from .stats import match
from .views import Code

__all__ = ["LevelPrototypes", "level_prototypes", "matched_distance", "mean_profile_warning"]


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

    def spread(self) -> dict[str, float]:
        """Per side, the mean RMS distance (z) of the prototypes to their mean: how different
        the codes of this level are from each other (``nan`` for a side without codes)."""

        def one(p: np.ndarray) -> float:
            return float(np.sqrt(((p - p.mean(0)) ** 2).mean(1)).mean()) if len(p) else float("nan")

        return {"A": one(self.pa), "B": one(self.pb)}

    def centred(self) -> tuple[np.ndarray, np.ndarray]:
        """Both sides' prototypes less their own mean prototype: what is left says which code
        differs from its codebook how, whatever the two codebooks' mean profiles."""
        return (
            self.pa - self.pa.mean(0) if len(self.pa) else self.pa,
            self.pb - self.pb.mean(0) if len(self.pb) else self.pb,
        )

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


def mean_profile_warning(score, centred, level: float) -> str | None:
    """A warning when prototype ``score`` beats its null at ``level`` but its ``centred`` check
    does not: the agreement is in the codebooks' mean profiles, not in which code matches which."""
    if not score.p_value < level <= centred.p_value:
        return None
    return (
        f"{score.name} beats its null (p = {score.p_value:.2g}) but not once each codebook's mean "
        f"prototype is removed (p = {centred.p_value:.2g}): the two codebooks' mean profiles agree, "
        f"which code matches which does not"
    )
