"""The statistics the alignment measures are made of, each a small pure numpy function.

* :class:`RobustScale` – per-column median and robust spread (IQR / 1.349, the standard
  deviation of a normal with that IQR; the standard deviation where the IQR is zero or
  negligible, as in zero-inflated columns), the statistics the tokenizer's preprocessing uses,
  clipped the same way, so "z" means the same thing everywhere;
* :func:`match` – Hungarian assignment of two prototype sets on RMS distance;
* :func:`entropy_bits`, :func:`mutual_information_bits` – plug-in estimates from counts (biased
  upwards for few samples per cell: the permutation nulls carry the same bias, which is why
  every score is read against its null);
* :func:`linear_cka` (Kornblith et al. 2019) and :func:`rsa` (Spearman between the condensed
  distance matrices, Kriegeskorte et al. 2008) – representational similarity of two
  representations of the same items.
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist, pdist
from scipy.stats import rankdata

__all__ = [
    "RobustScale",
    "match",
    "entropy_bits",
    "mutual_information_bits",
    "linear_cka",
    "rsa",
    "ranked_distances",
]


#: z-scores beyond this are clipped (the tokenizer's default ``clip``), so one outlying column
#: cannot dominate a distance.
CLIP = 10.0


@attrs.frozen
class RobustScale:
    """Per-column ``(x - center) / scale`` with robust statistics of a reference table."""

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, table: np.ndarray) -> RobustScale:
        """Statistics of ``table [N, D]`` over its finite entries (a column with none: 0 and 1)."""
        x = np.asarray(table, dtype=np.float64)
        x = np.where(np.isfinite(x), x, np.nan)
        center, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
        for j in range(x.shape[1]):
            col = x[:, j][~np.isnan(x[:, j])]
            if col.size == 0:
                continue
            center[j] = np.median(col)
            q75, q25 = np.percentile(col, [75, 25])
            s, std = (q75 - q25) / 1.349, col.std()
            tiny = 1e-8 * max(1.0, abs(center[j]))
            if s <= tiny or s < 1e-3 * std:  # constant bulk (e.g. zero-inflated): the IQR says nothing
                s = std
            scale[j] = s if s > tiny else 1.0
        return cls(center, scale)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """z-scores, clipped to ``[-CLIP, CLIP]`` as the tokenizer clips what it sees."""
        return np.clip((np.asarray(x, dtype=np.float64) - self.center) / self.scale, -CLIP, CLIP)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.scale + self.center


def match(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one matching of the rows of ``a [n, D]`` and ``b [m, D]``.

    The cost is the RMS difference over the ``D`` columns. Returns ``(rows of a, rows of b,
    costs)`` for the ``min(n, m)`` matched pairs, sorted by the rows of ``a``.
    """
    cost = cdist(a, b) / np.sqrt(max(1, a.shape[1]))
    ra, rb = linear_sum_assignment(cost)
    return ra, rb, cost[ra, rb]


def entropy_bits(labels: np.ndarray, size: int | None = None) -> float:
    """Plug-in entropy (bits) of integer ``labels``."""
    counts = np.bincount(np.asarray(labels), minlength=size or 0).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def mutual_information_bits(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (bits) between two label vectors (ints >= 0) of the same samples."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    kb = int(b.max()) + 1
    joint = np.bincount(a * kb + b, minlength=(int(a.max()) + 1) * kb).reshape(-1, kb).astype(np.float64)
    joint /= joint.sum()
    pa, pb = joint.sum(1), joint.sum(0)
    i, j = np.nonzero(joint)
    p = joint[i, j]
    return float(max(0.0, (p * np.log2(p / (pa[i] * pb[j]))).sum()))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment of ``x [N, p]`` and ``y [N, q]`` (rows: the same items).

    1 when one is an orthogonal transform of the other up to scale, near 0 for unrelated
    representations of many items; invariant to isotropic scaling and rotations, not to
    per-column scaling. ``nan`` when either representation is constant.
    """
    x = np.asarray(x, dtype=np.float64) - np.mean(x, axis=0)
    y = np.asarray(y, dtype=np.float64) - np.mean(y, axis=0)
    if x.shape[0] < max(x.shape[1], y.shape[1]):  # fewer items than features: the N x N Gram form
        kx, ky = x @ x.T, y @ y.T
        xy, xx, yy = float((kx * ky).sum()), np.linalg.norm(kx), np.linalg.norm(ky)
    else:
        xy = np.linalg.norm(x.T @ y) ** 2
        xx, yy = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    return float(xy / (xx * yy)) if xx > 0 and yy > 0 else float("nan")


def ranked_distances(x: np.ndarray) -> np.ndarray:
    """The condensed Euclidean distances of the rows of ``x``, as centred unit-norm ranks
    (so the Spearman correlation of two of them is their dot product)."""
    r = rankdata(pdist(x))
    r -= r.mean()
    n = np.sqrt((r * r).sum())
    return r / n if n > 0 else r


def rsa(x: np.ndarray, y: np.ndarray | None = None, *, ranked_y: np.ndarray | None = None) -> float:
    """Spearman correlation between the Euclidean distance matrices of ``x`` and ``y`` (same items).

    ``ranked_y`` (:func:`ranked_distances` of ``y``) saves recomputing a fixed side."""
    ry = ranked_distances(y) if ranked_y is None else ranked_y
    return float((ranked_distances(x) * ry).sum())
