"""The three sanity checks of the issue: same domain far above the null, a relabelled copy
recovered exactly, unrelated random tokenizers at the null."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import as_run, domain_table, fit_tokenizer, permuted_copy

from spinlock_alignment.compare import compare
from spinlock_alignment.config import CodebookAlignmentConfig

DRAWS = 40
CFG = CodebookAlignmentConfig(permutations=DRAWS, probe_samples=256, rsa_samples=96)
ALIGNMENT = (
    "prototype distance L0",
    "prototype distance L1",
    "cross-encoding R²",
    "token MI (L0)",
    "CKA",
    "RSA",
)


def test_same_domain_two_seeds_is_far_above_the_null(same_domain):
    c = compare(*same_domain, CFG)
    assert c.columns.counts("shared") == {"summary": 12} and len(c.columns.fed) == 12
    for name in ALIGNMENT:
        s = c.score(name)
        assert s.p_value == pytest.approx(1 / (DRAWS + 1)), name  # better than every null draw
        assert s.z > 2.5, (name, s.z)
    assert c.score("cross-encoding R²").value > 0.8 and c.score("CKA").value > 0.85


def test_a_permuted_copy_is_recovered_exactly(same_domain):
    a = same_domain[0]
    copy, order, perms = permuted_copy(a.view.tokenizer, seed=5)
    assert order != sorted(order)  # the categories really moved
    c = compare(a, as_run(copy, a.table, a.columns, "A relabelled"), CFG)
    for p in c.prototypes:
        pairs = p.matching()
        assert len(pairs) == len(p.codes_a) == len(p.codes_b) > 0
        for code_a, code_b, distance in pairs:
            assert order[code_b.category_index] == code_a.category_index
            assert perms[code_b.category_index][p.level][code_b.index] == code_a.index
            assert distance < 1e-6
    assert c.score("CKA").value == pytest.approx(1.0) and c.score("RSA").value == pytest.approx(1.0)
    mi = c.score("token MI (L0)").value
    assert mi == pytest.approx(c.references["token MI (L0) upper bound: mean H(A L0)"])
    nmi = c.correspondence["token NMI"]
    assert np.nanargmax(nmi, axis=1).tolist() == [order.index(i) for i in range(len(order))]
    assert np.allclose(np.diag(c.correspondence["prototype matches"][:, order]), 1.0)


def test_unrelated_random_tokenizers_score_at_the_null():
    """Tokenizers at initialisation (random weights, k-means codebooks) of two unrelated domains."""
    tx, cols = domain_table(11, 0)
    ty, _ = domain_table(23, 1)
    x = fit_tokenizer(tx, cols, seed=2, epochs=1, lr=1e-12)
    y = fit_tokenizer(ty, cols, seed=3, epochs=1, lr=1e-12)
    c = compare(as_run(x, tx, cols, "X"), as_run(y, ty, cols, "Y"), CFG)
    for name in ALIGNMENT:
        s = c.score(name)
        assert s.p_value > 0.1 and abs(s.z) < 2, (name, s.z, s.p_value)
