"""Known answers for the ``validate`` stage's distances (JSD in bits, KS, Wasserstein-1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from spinlock_core.mno.validate_metrics import (
    codebook_usage,
    feature_distances,
    finite_or_none,
    jensen_shannon,
    reconstruction,
)


def test_jsd_of_identical_histograms_is_zero_and_of_disjoint_ones_one_bit():
    assert jensen_shannon([3, 1, 0, 4], [3, 1, 0, 4]) == 0.0
    assert jensen_shannon([3, 1, 0, 4], [6, 2, 0, 8]) == pytest.approx(
        0.0, abs=1e-15
    )  # counts or probabilities
    assert jensen_shannon([1, 0, 0], [0, 0, 5]) == 1.0  # bits: ln 2 nats


def test_jsd_known_value_and_agreement_with_scipy():
    # P = (1, 0), Q = (1/2, 1/2), M = (3/4, 1/4):
    # KL(P||M) = log2(4/3), KL(Q||M) = (log2(2/3) + log2(2)) / 2
    expected = (math.log2(4 / 3) + (math.log2(2 / 3) + 1) / 2) / 2
    assert jensen_shannon([1, 0], [1, 1]) == pytest.approx(expected, rel=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):
        p, q = rng.random(7), rng.random(7)
        # scipy returns the distance, the square root of the divergence
        assert jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2, rel=1e-9)
        assert jensen_shannon(p, q) == pytest.approx(jensen_shannon(q, p), rel=1e-12)


@pytest.mark.parametrize(
    ("p", "q", "match"),
    [
        pytest.param([1, 2], [1, 2, 3], "one length", id="shape"),
        pytest.param([1, -1], [1, 1], "non-negative", id="negative"),
        pytest.param([0, 0], [1, 1], "positive total", id="empty"),
    ],
)
def test_jsd_rejects_bad_histograms(p, q, match):
    with pytest.raises(ValueError, match=match):
        jensen_shannon(p, q)


def test_codebook_usage_separates_histogram_and_pairing():
    truth = np.array([[0, 2], [1, 2], [1, 3], [0, 3]])
    same = codebook_usage(truth, truth, sizes=[2, 4], names=["a/L0", "a/L1"])
    assert [(b["jsd_bits"], b["agreement"]) for b in same] == [(0.0, 1.0), (0.0, 1.0)]
    assert same[1]["size"] == 4 and same[1]["codes_used_truth"] == 2
    # codebook 0 with codes 0 and 1 exchanged: the same histogram, no pair agrees
    swapped = codebook_usage(truth[:, :1], 1 - truth[:, :1])
    assert swapped[0]["jsd_bits"] == 0.0 and swapped[0]["agreement"] == 0.0
    disjoint = codebook_usage(np.zeros((4, 1), int), np.ones((4, 1), int))
    assert disjoint[0]["jsd_bits"] == 1.0 and disjoint[0]["size"] == 2


def test_ks_and_wasserstein_known_answers():
    x = np.array([[0.0], [1.0]])
    y = np.array([[2.0], [3.0]])
    (row,) = feature_distances(x, y, ["f"])
    assert row["ks"] == 1.0 and row["wasserstein"] == pytest.approx(2.0)
    assert row["wasserstein_scaled"] == pytest.approx(2.0 / 0.5)  # divided by the truth's std
    (same,) = feature_distances(x, x, ["f"])
    assert same["ks"] == 0.0 and same["wasserstein"] == 0.0 and same["ks_pvalue"] == 1.0


def test_ks_and_wasserstein_of_shifted_normals():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.0, 1.0, 20000), rng.normal(0.5, 1.0, 20000)
    (row,) = feature_distances(a[:, None], b[:, None], ["g"])
    # W1 between N(0,1) and N(0.5,1) is the shift; KS is 2 Phi(0.25) - 1
    assert row["wasserstein"] == pytest.approx(0.5, abs=0.03)
    assert row["ks"] == pytest.approx(2 * (0.5 * (1 + math.erf(0.25 / math.sqrt(2)))) - 1, abs=0.02)


def test_feature_distances_drop_nans_pool_time_and_check_columns():
    truth = np.array([[[1.0, 5.0], [2.0, np.nan]], [[3.0, 5.0], [4.0, 5.0]]])  # [N, T, D]
    model = truth.copy()
    model[0, 0, 0] = np.nan
    a, b = feature_distances(truth, model, ["x", "y"])
    assert (a["n_truth"], a["n_model"], b["n_truth"]) == (4, 3, 3)
    assert b["ks"] == 0.0 and b["wasserstein_scaled"] == 0.0  # constant column, equal
    (empty,) = feature_distances(np.full((2, 1), np.nan), np.ones((2, 1)), ["z"])
    assert empty["ks"] is None and empty["n_truth"] == 0
    with pytest.raises(ValueError, match="columns"):
        feature_distances(truth, model, ["x"])


def test_reconstruction_and_json_sanitising():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert reconstruction(x, x) == {"mse": 0.0, "explained_variance": 1.0}
    assert reconstruction(x, x + 1)["mse"] == pytest.approx(1.0)
    assert finite_or_none({"a": [np.float32(1.5), float("nan")], "b": np.int64(3), "c": float("inf")}) == {
        "a": [1.5, None],
        "b": 3,
        "c": None,
    }


def _old_jensen_shannon(p, q) -> float:
    """The hand-written divergence ``jensen_shannon`` replaced by scipy's (known answers)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return min(1.0, max(0.0, (kl(p) + kl(q)) / 2))


def test_jsd_gives_the_values_of_the_former_hand_written_formula():
    rng = np.random.default_rng(24)
    cases = [([3, 1, 0, 4], [3, 1, 0, 4]), ([1, 0, 0], [0, 0, 5]), ([1, 0], [1, 1]), ([0, 2, 9], [5, 0, 1])]
    cases += [(rng.integers(0, 6, 16), rng.integers(1, 6, 16)) for _ in range(20)]
    cases += [(rng.random(64), rng.random(64) ** 4) for _ in range(20)]
    for p, q in cases:
        assert jensen_shannon(p, q) == pytest.approx(_old_jensen_shannon(p, q), rel=1e-9, abs=1e-15)
