"""Category discovery and pinning."""

from __future__ import annotations

import numpy as np
import pytest

from spinlock_core.errors import ConfigError
from spinlock_vqvae.categories import discover_categories, pinned_categories, silhouette_precomputed
from spinlock_vqvae.config import CategoricalVQVAEConfig
from spinlock_vqvae.preprocessing import Preprocessor, spearman_matrix


def _brute_silhouette(d, labels):
    s = []
    for i in range(len(labels)):
        same = (labels == labels[i]) & (np.arange(len(labels)) != i)
        if not same.any():
            s.append(0.0)
            continue
        a = d[i, same].mean()
        b = min(d[i, labels == c].mean() for c in set(labels) if c != labels[i])
        s.append((b - a) / max(a, b))
    return np.mean(s)


def test_silhouette_matches_definition():
    rng = np.random.default_rng(0)
    p = rng.standard_normal((12, 3))
    d = np.linalg.norm(p[:, None] - p[None], axis=-1)
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3])
    assert np.isclose(silhouette_precomputed(d, labels), _brute_silhouette(d, labels))


def _absr(table, cols):
    rows = np.arange(len(table))
    pre = Preprocessor.fit(table, cols, rows, rows, CategoricalVQVAEConfig())
    return pre, np.abs(spearman_matrix(pre.transform(table, cols)))


def test_discovery_recovers_planted_blocks(planted):
    table, cols, blocks = planted
    pre, absr = _absr(table, cols)
    cmap, report = discover_categories(pre.output_columns, absr, CategoricalVQVAEConfig())
    assert report["chosen_k"] == 3
    found = [{c for c in v if "#" not in c} for v in cmap.values()]
    for block in blocks.values():
        kept = {c for c in block if c in pre.output_columns}
        assert kept in found, (kept, found)


def test_small_clusters_are_reassigned():
    absr = np.full((9, 9), 0.05)
    absr[:4, :4] = absr[4:8, 4:8] = 0.9
    absr[8, :4] = absr[:4, 8] = 0.3  # the loner leans towards the first block
    np.fill_diagonal(absr, 1.0)
    names = [f"s/x{i}" for i in range(9)]
    cmap, _ = discover_categories(names, absr, CategoricalVQVAEConfig(min_category_size=2))
    assert sorted(map(len, cmap.values())) == [4, 5]
    assert any({"s/x0", "s/x8"} <= set(v) for v in cmap.values())


def test_pinned_map_is_kept_and_unlisted_columns_join_their_best_category(planted):
    table, cols, blocks = planted
    pre, absr = _absr(table, cols)
    pinned = {
        "A": tuple(blocks["a"][:3]),
        "B": tuple(blocks["b"]),
        "C": tuple(blocks["c"]) + ("summary/a_dup",),
    }
    cmap, report = pinned_categories(pinned, pre.output_columns, absr, pre.dropped)
    assert set(blocks["a"]) <= set(cmap["A"])
    assert cmap["B"] == blocks["b"]
    assert report["skipped_dropped"]["C"] == ["summary/a_dup"]
    with pytest.raises(ConfigError, match="not in the preprocessed table"):
        pinned_categories({"A": ("summary/nope",)}, pre.output_columns, absr, pre.dropped)
