"""Category discovery: which feature columns are tokenized together.

Columns are clustered hierarchically on the distance ``1 - |Spearman r|`` (rank correlation, so
monotone but non-linear relations count and outliers do not) with **average linkage** (UPGMA),
which is well defined for an arbitrary dissimilarity; Ward and centroid linkage assume Euclidean
geometry that ``1 - |r|`` does not have. The number of categories is the cut whose partition,
*after* small categories have been dissolved, has the highest mean **silhouette** on the
precomputed distance matrix (ties go to fewer categories). Categories smaller than
``min_category_size`` are dissolved and each orphan joins the category with the highest mean
|r| to it. A pinned map from the config replaces discovery.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from spinlock_core.api import ConfigError

from .preprocessing import MISSING_SUFFIX, family_of

__all__ = ["silhouette_precomputed", "discover_categories", "pinned_categories", "adjusted_rand_index"]


def silhouette_precomputed(dist: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of ``labels`` on a square distance matrix (singletons score 0)."""
    labels = np.asarray(labels)
    uniq, lab = np.unique(labels, return_inverse=True)
    if len(uniq) < 2:
        return float("nan")
    onehot = np.eye(len(uniq))[lab]
    sums = dist @ onehot
    counts = onehot.sum(axis=0)
    own = counts[lab] - 1
    a = np.where(own > 0, sums[np.arange(len(lab)), lab] / np.maximum(own, 1), 0.0)
    means = sums / counts
    means[np.arange(len(lab)), lab] = np.inf
    b = means.min(axis=1)
    s = np.where(own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def adjusted_rand_index(a, b) -> float:
    """Adjusted Rand index of two labelings of the same items (1 = same partition, ~0 = chance).

    Hubert and Arabie's correction from the contingency table; two single-cluster (or two
    all-singleton) labelings count as identical (1.0).
    """
    _, ia = np.unique(np.asarray(a), return_inverse=True)
    _, ib = np.unique(np.asarray(b), return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(table, (ia, ib), 1)

    def pairs(v):
        return float((v * (v - 1) / 2).sum())

    n = len(ia)
    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (rows + cols) / 2
    if top == expected:
        return 1.0
    return float((index - expected) / (top - expected))


def _reassign_orphans(labels: np.ndarray, absr: np.ndarray, min_size: int) -> np.ndarray:
    """Dissolve clusters below ``min_size``; orphans join the cluster of highest mean |r|."""
    labels = labels.copy()
    sizes = Counter(labels.tolist())
    big = [c for c, n in sizes.items() if n >= min_size]
    if not big:
        return np.zeros_like(labels)
    for j in np.flatnonzero(~np.isin(labels, big)):
        scores = [absr[j, labels == c].mean() for c in big]
        labels[j] = big[int(np.argmax(scores))]
    return labels


def _name_categories(groups: list[list[str]]) -> dict[str, list[str]]:
    """``cat<i>_<majority family>`` names, categories ordered by their first column."""
    out = {}
    for i, cols in enumerate(groups):
        fams = Counter(family_of(c.removesuffix(MISSING_SUFFIX)) or "other" for c in cols)
        out[f"cat{i:02d}_{fams.most_common(1)[0][0]}"] = cols
    return out


def discover_categories(
    names: list[str], absr: np.ndarray, config
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Category map and a plain report (scores per candidate count) from a |Spearman r| matrix."""
    m = len(names)
    min_size = config.min_category_size
    kmax = config.max_categories or min(32, m // min_size)
    kmax = min(kmax, m)
    report: dict[str, Any] = {
        "method": "average-linkage hierarchical clustering on 1 - |spearman r|, k by silhouette",
        "silhouette": {},
    }
    if m < 2 * min_size or kmax < 2:
        report["chosen_k"] = 1
        return _name_categories([list(names)]), report
    dist = np.clip(1.0 - absr, 0.0, 1.0)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    best, best_score = np.zeros(m, dtype=int), -np.inf
    for k in range(2, kmax + 1):
        labels = _reassign_orphans(fcluster(tree, k, criterion="maxclust"), absr, min_size)
        score = silhouette_precomputed(dist, labels)
        report["silhouette"][str(k)] = None if np.isnan(score) else round(score, 6)
        if not np.isnan(score) and score > best_score + 1e-9:
            best, best_score = labels, score
    groups: dict[int, list[str]] = {}
    for j in range(m):
        groups.setdefault(int(best[j]), []).append(names[j])
    report["chosen_k"] = len(groups)
    report["chosen_silhouette"] = None if best_score == -np.inf else round(float(best_score), 6)
    return _name_categories(list(groups.values())), report


def pinned_categories(
    pinned: dict[str, tuple[str, ...]], names: list[str], absr: np.ndarray, dropped: dict[str, str]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Apply a pinned map: unknown columns are an error, dropped ones are skipped, unlisted kept
    columns join the pinned category with the highest mean |r|."""
    pos = {c: i for i, c in enumerate(names)}
    unknown = [c for cols in pinned.values() for c in cols if c not in pos and c not in dropped]
    if unknown:
        raise ConfigError(
            f"tokenizer.categories names column(s) not in the preprocessed table: {unknown[:5]}; "
            f"valid names are the table's selected columns (see tokenizer.families)"
        )
    cats = {k: [c for c in v if c in pos] for k, v in pinned.items()}
    skipped = {k: [c for c in v if c in dropped] for k, v in pinned.items()}
    cats = {k: v for k, v in cats.items() if v}
    if not cats:
        raise ConfigError("tokenizer.categories: every pinned column was dropped by preprocessing")
    listed = {c for v in cats.values() for c in v}
    added = {}
    for col in names:
        if col in listed:
            continue
        j = pos[col]
        scores = {k: absr[j, [pos[c] for c in v]].mean() for k, v in cats.items()}
        best = max(scores, key=scores.get)
        cats[best].append(col)
        added[col] = best
    order = {c: i for i, c in enumerate(names)}
    cats = {k: sorted(v, key=order.get) for k, v in cats.items()}
    report = {"method": "pinned by config", "added": added, "skipped_dropped": skipped, "chosen_k": len(cats)}
    return cats, report
