"""Known answers of the statistics the measures are made of."""

from __future__ import annotations

import numpy as np
import pytest

from spinlock_alignment.stats import (
    CLIP,
    RobustScale,
    entropy_bits,
    linear_cka,
    match,
    mutual_information_bits,
    rsa,
)


def test_entropy_and_mutual_information_known_answers():
    a = np.repeat(np.arange(4), 26)
    assert entropy_bits(a) == pytest.approx(2.0)
    assert mutual_information_bits(a, a) == pytest.approx(2.0)
    assert mutual_information_bits(a, (a + 1) % 4) == pytest.approx(2.0)  # relabelling keeps MI
    assert mutual_information_bits(a, a // 2) == pytest.approx(1.0)
    b = np.tile(np.arange(2), 52)  # independent of a by construction: 13 of each per block
    assert mutual_information_bits(a, b) == pytest.approx(0.0, abs=1e-12)


def test_cka_is_one_under_rotation_and_scale_and_small_for_unrelated():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 6))
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert linear_cka(x, 3.0 * x @ q) == pytest.approx(1.0)
    assert linear_cka(x[:5], 2.0 * x[:5] @ q) == pytest.approx(1.0)  # the N < D (Gram) form
    assert linear_cka(x, rng.standard_normal((400, 6))) < 0.1
    assert np.isnan(linear_cka(np.ones((10, 2)), x[:10]))


def test_rsa_is_one_for_a_monotone_map_of_distances():
    x = np.random.default_rng(1).standard_normal((30, 3))
    assert rsa(x, 5.0 * x + 2.0) == pytest.approx(1.0)
    assert rsa(x, x[::-1]) < 0.5


def test_match_recovers_a_row_permutation_with_zero_cost():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((12, 5))
    perm = rng.permutation(12)
    ra, rb, cost = match(a, a[perm])
    assert (perm[rb] == ra).all() and np.allclose(cost, 0)
    ra, rb, cost = match(a, a[:7])  # rectangular: every row of the smaller side matched once
    assert sorted(rb) == list(range(7)) and np.allclose(cost, 0)


def test_robust_scale_known_answers_and_zero_inflated_columns():
    col = np.arange(1.0, 102.0)  # median 51, IQR 50
    spike = np.r_[np.zeros(90), np.linspace(1, 10, 11)]  # IQR 0: the standard deviation is used
    s = RobustScale.fit(np.stack([col, spike, np.full(101, 4.0)], axis=1))
    assert s.center.tolist() == [51.0, 0.0, 4.0]
    assert (
        s.scale[0] == pytest.approx(50 / 1.349)
        and s.scale[1] == pytest.approx(spike.std())
        and s.scale[2] == 1
    )
    z = s(np.array([[51.0 + 1e6, 0.0, 4.0]]))
    assert z[0, 0] == CLIP and z[0, 1] == 0
    assert np.allclose(s.inverse(s(np.array([[60.0, 2.0, 5.0]]))), [[60.0, 2.0, 5.0]])
