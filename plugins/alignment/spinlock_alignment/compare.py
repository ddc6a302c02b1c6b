"""All measures of two runs, each beside its null: the computation behind the report.

:func:`compare` takes two :class:`~spinlock_alignment.runs.Run` objects (so tests can build
them from tokenizers in memory) and returns a :class:`Comparison`; writing files is
:mod:`spinlock_alignment.report`'s job. One seeded permutation of the shared columns and one of
the fed columns per null draw serve every score, so the draws of different scores are paired.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch

from spinlock_core.api import Score, generator_for, progress

from .crossencode import STATISTICS, Reader, make_probes, mean_entropy, mi_matrix, r2, statistics
from .prototypes import LevelPrototypes, level_prototypes, matched_distance, mean_profile_warning
from .runs import Run, SharedColumns, scalers, shared_columns
from .stats import entropy_bits

__all__ = ["Comparison", "compare"]

PROTO_NULL = "shared columns of B's prototypes permuted"
CROSS_NULL = "fed columns permuted before A reads them"
#: Level of the check that a prototype score's agreement is more than the codebooks' mean profiles.
CENTRED_P = 0.05
_CROSS = {
    "r2": (
        "cross-encoding R²",
        "greater",
        "",
        "A's reconstruction of B's probes (fed columns, A's scaled space)",
    ),
    "entropy": (
        "A token entropy on B",
        "two-sided",
        "bits",
        "mean usage entropy of A's codebooks on B's probes",
    ),
    "mi": ("token MI (L0)", "greater", "bits", "A-vs-B level-0 token MI, mean over matched categories"),
    "cka": ("CKA", "greater", "", "linear CKA of A's and B's decoded probes"),
    "rsa": ("RSA", "greater", "", "Spearman of A's and B's probe distance matrices"),
}


@attrs.frozen
class Comparison:
    """Scores (each with its null draws) and everything the report draws or lists."""

    a: Run
    b: Run
    columns: SharedColumns
    scores: list[Score]
    prototypes: list[LevelPrototypes]
    #: Category correspondence matrices [C_A, C_B]: "token NMI", "prototype matches", "column overlap".
    correspondence: dict[str, np.ndarray]
    references: dict[str, float]
    warnings: list[str]
    n_probes: int
    #: Per level, the prototype distance of the centred prototypes with its null (a check of the
    #: prototype scores, not a score of its own: see :mod:`spinlock_alignment.prototypes`).
    centred: list[Score] = attrs.field(factory=list)

    def score(self, name: str) -> Score:
        return next(s for s in self.scores if s.name == name)


def _perm(n: int, seed: int, index: int, stream: str) -> np.ndarray:
    return torch.randperm(n, generator=generator_for(seed, index, stream)).numpy()


def _correspondence(a: Run, b: Run, cols: SharedColumns, level0: LevelPrototypes, rows_a, rows_b, nmi):
    ca, cb = len(a.view.categories), len(b.view.categories)
    full = np.full((ca, cb), np.nan)
    full[np.ix_(rows_a, rows_b)] = nmi
    counts = np.zeros((ca, cb))
    for code_a, code_b, _ in level0.matching():
        counts[code_a.category_index, code_b.category_index] += 1
    per_a = np.bincount([c.category_index for c in level0.codes_a], minlength=ca)[:, None]
    shared = set(cols.shared)
    sa = [set(a.view.category_columns(i)) & shared for i in range(ca)]
    sb = [set(b.view.category_columns(j)) & shared for j in range(cb)]
    overlap = np.array([[len(x & y) / len(x | y) if x | y else np.nan for y in sb] for x in sa])
    return {
        "token NMI": full,
        "prototype matches": np.divide(counts, per_a, out=np.full_like(counts, np.nan), where=per_a > 0),
        "column overlap": overlap,
    }


def compare(a: Run, b: Run, config) -> Comparison:
    """Every measure of A against B with ``config.permutations`` null draws.

    Runs torch on one thread: the tokenizer MLPs are tiny, and several threads on a busy or
    small machine make every call many times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _compare(a, b, config)
    finally:
        torch.set_num_threads(threads)


def _compare(a: Run, b: Run, config) -> Comparison:
    cols = shared_columns(a, b, config.families)
    warnings: list[str] = []
    usage_a, usage_b = a.view.usage(a.own_tokens()), b.view.usage(b.own_tokens())

    scale_sa, scale_sb = scalers(a, b, cols.shared, config.space)
    levels = min(a.view.levels, b.view.levels)
    protos = [
        level_prototypes(a, b, usage_a, usage_b, lvl, cols.shared, scale_sa, scale_sb)
        for lvl in range(levels)
    ]

    scale_fa, scale_fb = scalers(a, b, cols.fed, config.space)
    reader_a, reader_b = Reader(a.view, cols.fed, scale_fa), Reader(b.view, cols.fed, scale_fb)
    probes = make_probes(
        b, cols.fed, scale_fb, reader_b, config.probe_samples, config.rsa_samples, config.seed
    )
    encoded = reader_a(probes.z_fed)
    observed = statistics(encoded, reader_a, probes, reader_b)

    n = config.permutations
    proto_null, centred_null = np.zeros((levels, n)), np.zeros((levels, n))
    centred_protos = [p.centred() for p in protos]
    cross_null = {k: np.zeros(n) for k in STATISTICS}
    with progress(n, "null draws", unit="draws") as advance:
        for d in range(n):
            pi_s = _perm(len(cols.shared), config.seed, d, "alignment/null/shared")
            for lvl, p in enumerate(protos):
                proto_null[lvl, d] = matched_distance(p.pa, p.pb[:, pi_s])
                ca, cb = centred_protos[lvl]
                centred_null[lvl, d] = matched_distance(ca, cb[:, pi_s])
            pi_f = _perm(len(cols.fed), config.seed, d, "alignment/null/fed")
            stats = statistics(reader_a(probes.z_fed[:, pi_f]), reader_a, probes, reader_b)
            for k in STATISTICS:
                cross_null[k][d] = stats[k]
            advance(1)

    scores = [
        Score(
            name=f"prototype distance L{p.level}",
            value=matched_distance(p.pa, p.pb),
            null_draws=proto_null[p.level],
            alternative="less",
            null=PROTO_NULL,
            unit="z (RMS)",
            doc=f"mean Hungarian-matched distance of {len(p.codes_a)} x {len(p.codes_b)} level-{p.level} prototypes",
        )
        for p in protos
    ]
    for k in STATISTICS:
        name, alternative, unit, doc = _CROSS[k]
        scores.append(
            Score(name=name, value=observed[k], null_draws=cross_null[k], alternative=alternative,
                  null=CROSS_NULL, unit=unit, doc=doc)
        )  # fmt: skip

    mi = mi_matrix(a.view, reader_a.reading, encoded.tokens, b.view, reader_b.reading, probes.b.tokens)
    ha = np.array([entropy_bits(encoded.tokens[:, a.view.column(i, 0)]) for i in reader_a.reading])
    hb = np.array([entropy_bits(probes.b.tokens[:, b.view.column(j, 0)]) for j in reader_b.reading])
    denom = np.sqrt(np.outer(ha, hb))
    nmi = np.divide(mi, denom, out=np.zeros_like(mi), where=denom > 0)
    correspondence = _correspondence(a, b, cols, protos[0], reader_a.reading, reader_b.reading, nmi)

    own_fed = a.select(cols.fed)
    own = reader_a(scale_fa(own_fed[np.isfinite(own_fed).any(axis=1)]))  # A on its own samples
    references = {
        "A R² on its own table": r2(own, reader_a.evaluated),
        "B R² on its probes": r2(probes.b, reader_b.evaluated),
        "A token entropy on its own table": mean_entropy(own, reader_a),
        "token MI (L0) upper bound: mean H(A L0)": float(ha.mean()) if len(ha) else float("nan"),
    }

    centred = [
        Score(
            name=f"prototype distance L{p.level} (centred)",
            value=matched_distance(*p.centred()),
            null_draws=centred_null[p.level],
            alternative="less",
            null=PROTO_NULL,
            unit="z (RMS)",
            doc="the same matching with each codebook's mean prototype removed",
        )
        for p in protos
    ]
    for s, c in zip(scores, centred, strict=False):  # scores open with the prototype distances
        if warning := mean_profile_warning(s, c, CENTRED_P):
            warnings.append(warning)

    biggest = max(k for row in a.view.sizes + b.view.sizes for k in row)
    if len(probes.rows) < 5 * biggest:
        warnings.append(
            f"only {len(probes.rows)} probes for codebooks of up to {biggest} codes: token MI and entropy "
            f"are dominated by small-sample bias (read them against the null, which has the same bias)"
        )
    for name, n_cols in (("shared", len(cols.shared)), ("fed", len(cols.fed))):
        if n_cols < 4:
            warnings.append(f"only {n_cols} {name} column(s): few distinct permutations, the null is coarse")
    skipped = [a.view.categories[i] for i in range(len(a.view.categories)) if i not in reader_a.reading]
    if skipped:
        warnings.append(
            f"{len(skipped)} of A's categories read no fed column (their tokens are constant on the probes): "
            f"left out of token MI and entropy"
        )
    return Comparison(
        a, b, cols, scores, protos, correspondence, references, warnings, len(probes.rows), centred
    )
