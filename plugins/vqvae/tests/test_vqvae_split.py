"""Three splits by operator: the test rows never reach training or model choice, only the metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spinlock_core.errors import ConfigError, DatasetError
from spinlock_vqvae import CategoricalVQVAE, CategoricalVQVAEConfig
from spinlock_vqvae.categories import adjusted_rand_index
from spinlock_vqvae.metrics import pca_kmeans_baseline
from spinlock_vqvae.tokenizer import split_rows

CFG = CategoricalVQVAEConfig(
    epochs=6, batch_size=64, warmup_epochs=1, restart_window=4, hidden_dim=16, seed=5, device="cpu"
)


def test_split_is_disjoint_seeded_and_sized():
    train, val, test = split_rows(200, CFG)
    assert len(val) == len(test) == 30 and len(train) == 140
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(200))
    again = split_rows(200, CFG)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    other = split_rows(200, CategoricalVQVAEConfig(seed=6))
    assert not np.array_equal(test, other[2])


def test_split_keeps_every_operator_on_one_side():
    operators = np.repeat(np.arange(40), 3)  # three realizations per operator
    sides = split_rows(len(operators), CFG, operators)
    owners = [set(operators[rows]) for rows in sides]
    assert not (owners[0] & owners[1] or owners[0] & owners[2] or owners[1] & owners[2])
    assert [len(o) for o in owners] == [28, 6, 6]


@pytest.mark.parametrize(
    ("n", "operators"),
    [
        pytest.param(3, None, id="three-rows"),
        pytest.param(12, np.repeat(np.arange(3), 4), id="three-operators"),
    ],
)
def test_split_too_small_is_a_clear_error(n, operators):
    with pytest.raises(DatasetError, match="at least 2 training operators.*test_fraction"):
        split_rows(n, CFG, operators)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param({"test_fraction": 0.0}, "test_fraction", id="test-zero"),
        pytest.param({"test_fraction": 0.6}, "test_fraction", id="test-large"),
        pytest.param({"val_fraction": 0.45, "test_fraction": 0.45}, "leave at least 20%", id="sum"),
    ],
)
def test_bad_test_fraction(bad, field):
    with pytest.raises(ConfigError, match=field):
        CategoricalVQVAEConfig(**bad)


@pytest.fixture(scope="module")
def clean_and_poisoned(planted):
    table, cols, _ = planted
    table = table[:300]
    clean = CategoricalVQVAE().fit(table, cols, CFG)
    test_rows = clean._split["test"].numpy()
    poisoned_table = table.copy()
    poisoned_table[test_rows] = 1e6
    poisoned_table[test_rows[::2], 3] = np.nan
    poisoned = CategoricalVQVAE().fit(poisoned_table, cols, CFG)
    return clean, poisoned


def test_test_rows_never_reach_training_or_model_choice(clean_and_poisoned):
    clean, poisoned = clean_and_poisoned
    for key in ("train", "val", "test"):
        assert torch.equal(clean._split[key], poisoned._split[key])
    assert clean.preprocessor.state == poisoned.preprocessor.state
    assert clean.category_map == poisoned.category_map
    assert clean.metrics["history"] == poisoned.metrics["history"]  # every train and validation number
    assert clean.metrics["best_epoch"] == poisoned.metrics["best_epoch"]
    a, b = clean.model.state_dict(), poisoned.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert clean.metrics["final"]["rows"] == len(clean._split["test"])
    assert poisoned.metrics["final"]["r2_overall"] < clean.metrics["final"]["r2_overall"] - 0.5
    base_clean = clean.metrics["baselines"]["pca_kmeans"]["r2_overall"]
    assert poisoned.metrics["baselines"]["pca_kmeans"]["r2_overall"] < base_clean - 0.5


def test_split_and_baseline_are_stored_with_the_tokenizer(clean_and_poisoned, tmp_path):
    clean, _ = clean_and_poisoned
    loaded = CategoricalVQVAE.load(clean.save(tmp_path / "tok.pt"))
    for key in ("train", "val", "test"):
        assert torch.equal(loaded._split[key], clean._split[key])
    assert loaded.metrics["split_sizes"] == {"train": 210, "val": 45, "test": 45}
    assert "test" in loaded.metrics["evaluated_on"]
    base = loaded.metrics["baselines"]["pca_kmeans"]
    assert base["codes"] == min(clean.vocabulary_size, 210) and 0 < base["utilization"] <= 1
    stability = loaded.metrics["category_stability"]
    assert stability["seeds"] == [5, 6] and -1 <= stability["adjusted_rand_index"] <= 1


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param([0, 0, 1, 1], [5, 5, 2, 2], 1.0, id="relabelled"),
        pytest.param([0, 0, 1, 1], [0, 0, 1, 2], 4 / 7, id="split-one"),
        pytest.param([0, 0, 1, 1], [0, 1, 0, 1], -0.5, id="crossed"),
        pytest.param([0, 0, 0], [1, 1, 1], 1.0, id="one-cluster"),
    ],
)
def test_adjusted_rand_index(a, b, expected):
    assert adjusted_rand_index(a, b) == pytest.approx(expected)


def test_pca_kmeans_baseline_recovers_planted_clusters():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((4, 6)) * 5
    x = centers[rng.integers(0, 4, 400)] + 0.01 * rng.standard_normal((400, 6))
    out = pca_kmeans_baseline(x[:300], x[300:], 4, seed=0)
    assert out["r2_overall"] > 0.99 and out["utilization"] == 1.0 and out["codes"] == 4


def test_report_verdict_says_test_r2_utilization_and_baseline():
    from spinlock_core.report.tokenizer_section import vocabulary_verdict

    text = vocabulary_verdict(
        {
            "r2_overall": 0.72,
            "utilization_mean": 0.8,
            "test_rows": 19,
            "pca_kmeans_r2_overall": 0.26,
            "pca_kmeans_codes": 90,
            "pca_only_r2_overall": 0.5,
        }
    )
    assert "19 held-out test operators" in text and "80% of the codes" in text
    assert "ahead of" in text and "0.26" in text
    assert vocabulary_verdict({"quality": 0.5}) is None
