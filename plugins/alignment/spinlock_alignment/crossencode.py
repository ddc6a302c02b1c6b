"""Measures 2 and 3: cross-encoding B's samples with A, and the geometry of both vocabularies
on those same samples.

Probes are rows of B's feature table (a seeded subsample). Both tokenizers read the same
information from them: the ``fed`` columns (A reads them, B's table has them), z-scaled within
B's table and put into each tokenizer's units by its own run's z-scaling (``space="domain"``:
"as extreme within B as it would be within A"; ``"pooled"``: raw values as they are), through
each tokenizer's own preprocessing; every other column a tokenizer reads is held at its
imputation value (see :mod:`spinlock_alignment.runs`). So the comparison is of two
vocabularies describing the same common ground, and a tokenizer against a relabelled copy of
itself agrees exactly. Statistics of A's encoding:

* ``r2`` – A's reconstruction of what it was given, 1 - SSE/SST over the fed columns A
  reconstructs, in A's scaled space;
* ``entropy`` – mean entropy (bits) of A's token usage over A's codebooks that read a fed column;
* ``mi`` – mutual information (bits) between A's and B's level-0 tokens, per pair of
  categories; the score is the mean over a Hungarian matching of categories (most MI);
* ``cka`` / ``rsa`` – linear CKA and RSA between A's and B's decoded representations (each
  tokenizer's reconstruction of the probes in its own scaled space): do the two vocabularies
  arrange the same samples alike?

Null: the fed columns permuted before A reads them (one permutation per draw); B's side is
fixed. For a tokenizer whose weights do not single out columns (e.g. a random one) the permuted
A is just another draw of the same kind, so unrelated tokenizers score at the null.
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy.optimize import linear_sum_assignment

from spinlock_core.api import DatasetError, generator_for

from .stats import entropy_bits, linear_cka, mutual_information_bits, ranked_distances, rsa

__all__ = [
    "Probes",
    "make_probes",
    "Reader",
    "Encoded",
    "statistics",
    "mi_matrix",
    "r2",
    "mean_entropy",
    "STATISTICS",
]

#: The statistics of :func:`statistics` that become scores, in report order.
STATISTICS = ("r2", "entropy", "mi", "cka", "rsa")


@attrs.frozen
class Encoded:
    """One tokenizer's encoding of the probes: what it saw (scaled), its tokens, its reconstruction."""

    seen: np.ndarray
    tokens: np.ndarray
    recon: np.ndarray


class Reader:
    """Encodes probes given as z-values of the fed columns with one tokenizer.

    Fed columns the tokenizer reads get the probe's values, put into the tokenizer's units by
    its run's z-scaling; every other column it reads is held at its neutral value.
    """

    def __init__(self, view, fed: list[str], scale):
        self.view, self.scale = view, scale
        neutral = view.neutral()
        self.template = np.asarray([neutral[c] for c in view.input_columns], dtype=np.float64)
        pos = {c: i for i, c in enumerate(view.input_columns)}
        self.take = np.asarray([j for j, c in enumerate(fed) if c in pos], dtype=np.int64)
        self.put = np.asarray([pos[c] for c in fed if c in pos], dtype=np.int64)
        out = {c: i for i, c in enumerate(view.output_columns)}
        self.evaluated = np.asarray([out[c] for c in fed if c in out], dtype=np.int64)
        read = {fed[j] for j in self.take}
        self.reading = [i for i in range(len(view.categories)) if read & set(_inputs_of(view, i))]

    def __call__(self, z_fed: np.ndarray) -> Encoded:
        raw = np.repeat(self.template[None], len(z_fed), axis=0)
        raw[:, self.put] = self.scale.inverse(z_fed)[:, self.take]
        seen = self.view.scale(raw).astype(np.float64)
        tokens = self.view.encode(raw)
        return Encoded(seen, tokens, self.view.decode_scaled(tokens))


@attrs.frozen
class Probes:
    """B's probe samples: rows of its table, their fed columns as z, B's own encoding of them."""

    rows: np.ndarray
    z_fed: np.ndarray
    b: Encoded
    rsa_rows: np.ndarray
    #: :func:`ranked_distances` of B's representation of the RSA probes (fixed across null draws).
    rsa_ranked_b: np.ndarray


def make_probes(b, fed: list[str], scale_b, reader_b: Reader, n: int, rsa_n: int, seed: int) -> Probes:
    """Up to ``n`` rows of B's table (seeded), encoded by B from the fed columns; ``rsa_n`` of
    them (a seeded subset) for RSA. Rows without one finite fed value (failed samples) are skipped."""
    import torch

    usable = np.flatnonzero(np.isfinite(b.select(fed)).any(axis=1))
    if len(usable) < 3:
        raise DatasetError(
            f"{b.path}: fewer than 3 samples have a finite value in the {len(fed)} fed columns"
        )
    order = torch.randperm(len(usable), generator=generator_for(seed, 0, "alignment/probes")).numpy()
    rows = np.sort(usable[order[: min(n, len(usable))]])
    z_fed = scale_b(b.select(fed, rows))
    enc = reader_b(z_fed)
    pick = torch.randperm(len(rows), generator=generator_for(seed, 0, "alignment/rsa")).numpy()
    sub = np.sort(pick[: min(rsa_n, len(rows))])
    return Probes(rows, z_fed, enc, sub, ranked_distances(enc.recon[sub]))


def _inputs_of(view, i: int) -> list[str]:
    """Raw columns behind category ``i``'s outputs (a missing indicator reads its column)."""
    return [c.removesuffix("#missing") for c in view.category_columns(i)]


def mi_matrix(
    view_a, rows_a: list[int], tokens_a: np.ndarray, view_b, rows_b: list[int], tokens_b
) -> np.ndarray:
    """``[len(rows_a), len(rows_b)]`` level-0 mutual information (bits) between categories."""
    m = np.zeros((len(rows_a), len(rows_b)))
    for r, i in enumerate(rows_a):
        ta = tokens_a[:, view_a.column(i, 0)]
        for c, j in enumerate(rows_b):
            m[r, c] = mutual_information_bits(ta, tokens_b[:, view_b.column(j, 0)])
    return m


def r2(enc: Encoded, columns: np.ndarray) -> float:
    """1 - SSE/SST of a reconstruction over ``columns`` of what the tokenizer saw."""
    target = enc.seen[:, columns]
    sst = float(((target - target.mean(0)) ** 2).sum())
    return 1 - float(((enc.recon[:, columns] - target) ** 2).sum()) / sst if sst > 0 else float("nan")


def mean_entropy(enc: Encoded, reader: Reader) -> float:
    """Mean usage entropy (bits) over the codebooks of the categories that read a fed column."""
    view = reader.view
    books = [view.column(i, lvl) for i in reader.reading for lvl in range(view.levels)]
    return float(np.mean([entropy_bits(enc.tokens[:, c]) for c in books])) if books else float("nan")


def statistics(enc: Encoded, reader_a: Reader, probes: Probes, reader_b: Reader) -> dict[str, float]:
    """Every statistic of A's encoding ``enc`` of the probes (see the module doc)."""
    m = mi_matrix(
        reader_a.view, reader_a.reading, enc.tokens, reader_b.view, reader_b.reading, probes.b.tokens
    )
    if m.size:
        ra, rb = linear_sum_assignment(-m)
        mi = float(m[ra, rb].mean())
    else:
        mi = float("nan")
    sub = probes.rsa_rows
    return {
        "r2": r2(enc, reader_a.evaluated),
        "entropy": mean_entropy(enc, reader_a),
        "mi": mi,
        "cka": linear_cka(enc.recon, probes.b.recon),
        "rsa": rsa(enc.recon[sub], ranked_y=probes.rsa_ranked_b) if len(sub) >= 3 else float("nan"),
    }
