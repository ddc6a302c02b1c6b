"""The preprocessing object: selection, NaN indicators, train-only statistics, pruning."""

from __future__ import annotations

import numpy as np
import pytest

from spinlock_core.errors import ConfigError, DatasetError
from spinlock_vqvae.config import CategoricalVQVAEConfig
from spinlock_vqvae.preprocessing import Preprocessor, spearman_matrix

CFG = CategoricalVQVAEConfig()


def fit(table, cols, cfg=CFG, n_train=None):
    rows = np.arange(n_train or len(table))
    return Preprocessor.fit(table, cols, rows, rows, cfg)


def test_nan_gets_indicator_and_training_median(planted):
    table, cols, _ = planted
    pre = fit(table, cols)
    assert "initial/c1#missing" in pre.output_columns
    assert pre.state["indicator_for"] == ["initial/c1"]
    out = pre.transform(table, cols)
    assert np.isfinite(out).all()
    nan_rows = np.isnan(table[:, cols.index("initial/c1")])
    j = pre.output_columns.index("initial/c1")
    assert np.allclose(out[nan_rows, j], 0.0, atol=1e-6)  # median imputed -> scaled median 0
    k = pre.output_columns.index("initial/c1#missing")
    assert (out[nan_rows, k] > 0).all() and (out[~nan_rows, k] < 0.5).all()


def test_nan_outside_training_gets_no_indicator():
    rng = np.random.default_rng(0)
    table = rng.standard_normal((100, 3))
    table[90:, 1] = np.nan
    pre = fit(table, ["s/a", "s/b", "s/c"], n_train=80)
    assert pre.state["indicator_for"] == []
    assert np.isfinite(pre.transform(table)).all()


def test_statistics_come_from_training_rows_only():
    rng = np.random.default_rng(0)
    table = rng.standard_normal((200, 3))
    pre_a = fit(table, ["s/a", "s/b", "s/c"], n_train=150)
    table[150:] = 1e6
    pre_b = fit(table, ["s/a", "s/b", "s/c"], n_train=150)
    assert pre_a.state["center"] == pre_b.state["center"]
    assert pre_a.state["scale"] == pre_b.state["scale"]
    assert pre_a.state["unit"] == pre_b.state["unit"]
    out = pre_b.transform(table)
    # outliers clipped, not rescaled: the clip bound divided by the column's training std
    np.testing.assert_allclose(
        out[150:], np.broadcast_to(CFG.clip / np.asarray(pre_b.state["unit"]), (50, 3)), rtol=1e-6
    )


def test_outputs_have_unit_variance_on_training_rows():
    """Heavy tails leave robust-scaled columns with variance far above 1; step 5 divides it out."""
    rng = np.random.default_rng(1)
    table = np.stack([rng.standard_t(2, 400), np.exp(2 * rng.standard_normal(400)), rng.normal(5, 3, 400)], 1)
    pre = fit(table, ["s/t2", "s/lognormal", "s/gauss"], n_train=300)
    robust = np.clip(
        (table[:300] - np.asarray(pre.state["center"])) / np.asarray(pre.state["scale"]), -CFG.clip, CFG.clip
    )
    assert robust[:, :2].std(0).min() > 1.5  # what the model saw before
    np.testing.assert_allclose(pre.transform(table)[:300].std(0), 1.0, rtol=1e-5)
    inside = (np.abs(robust) < CFG.clip).all(1)  # unclipped rows round-trip
    np.testing.assert_allclose(
        pre.unscale(pre.transform(table[:300][inside])), table[:300][inside], rtol=1e-5
    )


def test_constant_duplicate_and_all_missing_columns_are_dropped(planted):
    table, cols, _ = planted
    extra = np.full((len(table), 1), np.nan)
    pre = fit(np.concatenate([table, extra], axis=1), cols + ["summary/empty"])
    assert "near-constant" in pre.dropped["architecture/const"]
    assert "near-duplicate of summary/a0" in pre.dropped["summary/a_dup"]
    assert "missing" in pre.dropped["summary/empty"]
    for name in ("architecture/const", "summary/a_dup", "summary/empty"):
        assert name not in pre.output_columns


def test_family_and_name_selection(planted):
    table, cols, _ = planted
    pre = fit(table, cols, CategoricalVQVAEConfig(families=["initial"], exclude_columns=["*/c3"]))
    assert pre.input_columns == ["initial/c0", "initial/c1", "initial/c2"]
    with pytest.raises(ConfigError, match="no column left"):
        fit(table, cols, CategoricalVQVAEConfig(families=["temporal"]))


def test_transform_selects_by_name_and_state_is_plain(planted):
    table, cols, _ = planted
    pre = fit(table, cols)
    perm = np.random.default_rng(1).permutation(len(cols))
    shuffled = np.concatenate([table[:, perm], np.ones((len(table), 1))], axis=1)
    names = [cols[i] for i in perm] + ["other/extra"]
    assert np.array_equal(pre.transform(shuffled, names), pre.transform(table, cols))
    with pytest.raises(DatasetError, match="lacks"):
        pre.transform(table[:, :3], cols[:3])
    plain = (list, dict, str, int, float, bool, type(None))
    stack = [pre.state]
    while stack:
        item = stack.pop()
        assert isinstance(item, plain), type(item)
        stack.extend(item.values() if isinstance(item, dict) else item if isinstance(item, list) else [])


def test_spearman_matrix_matches_scipy():
    from scipy.stats import spearmanr

    x = np.random.default_rng(0).standard_normal((50, 4))
    x[:, 3] = np.round(x[:, 3])  # ties
    assert np.allclose(spearman_matrix(x), spearmanr(x).statistic)


def test_torch_transform_equals_numpy_and_is_differentiable(planted):
    import torch

    table, cols, _ = planted
    pre = fit(table, cols)
    raw = table[:, [cols.index(c) for c in pre.input_columns]].astype(np.float64)
    raw[:4, 0] = np.inf  # non-finite: imputed (no gradient)
    raw[4:8, 1] = 1e9  # far outside: clipped (no gradient)
    x = torch.tensor(raw, requires_grad=True)
    out = pre.torch_transform(x)
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.detach().numpy(), pre.transform(raw))
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    # d(sum of outputs)/dx_i = sum of 1/(scale * unit) over the outputs that read column i
    expected = np.zeros(len(pre.input_columns))
    unit = np.asarray(pre.state["unit"])
    for j, e in enumerate(pre.state["expanded_index"]):
        if e < len(pre.input_columns):
            expected[e] += 1 / (pre.state["scale"][j] * unit[j])
    grad = x.grad.numpy()
    assert (grad[:4, 0] == 0).all() and (grad[4:8, 1] == 0).all()
    inside = np.abs(pre.transform(raw) * unit) < pre.state["clip"] * (1 - 1e-5)  # float32 output
    rows = np.isfinite(raw).all(axis=1) & inside.all(axis=1)
    assert rows.sum() > len(raw) // 2
    np.testing.assert_allclose(grad[rows], np.broadcast_to(expected, grad[rows].shape), rtol=1e-12)
    with pytest.raises(DatasetError, match=r"torch_transform takes \[N, "):
        pre.torch_transform(x[:, :-1])


def test_drop_reasons_have_kinds_and_the_column_flow_adds_up(planted):
    from spinlock_vqvae.preprocessing import drop_kind, drop_summary

    table, cols, _ = planted
    extra = np.full((len(table), 2), np.nan)
    pre = fit(np.concatenate([table, extra], axis=1), cols + ["summary/empty", "summary/empty2"])
    assert drop_kind(pre.dropped["summary/empty"]) == "all-NaN"
    assert drop_kind(pre.dropped["architecture/const"]) == "constant"
    assert drop_kind(pre.dropped["summary/a_dup"]) == "near-duplicate"
    assert drop_summary({"a": "all-NaN: x", "b": "all-NaN: y", "c": "why not"}) == {"all-NaN": 2, "other": 1}
    flow = pre.state["column_flow"]
    assert flow["table"] == len(cols) + 2 and flow["dropped"]["all-NaN"] == 2
    assert flow["selected"] + flow["indicators"] - sum(flow["dropped"].values()) == flow["output"]
    assert flow["output"] == len(pre.output_columns)


def _old_spearman_matrix(x):
    """The hand-written ``spearman_matrix`` replaced by scipy's ``spearmanr`` (known answers)."""
    from scipy.stats import rankdata

    ranks = rankdata(x, axis=0)
    ranks -= ranks.mean(axis=0)
    norm = np.sqrt((ranks**2).sum(axis=0))
    ok = norm > 0
    ranks[:, ok] /= norm[ok]
    ranks[:, ~ok] = 0.0
    r = ranks.T @ ranks
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


@pytest.mark.parametrize("columns", [1, 2, 3, 6])
def test_spearman_matrix_gives_the_values_of_the_former_hand_written_formula(columns):
    rng = np.random.default_rng(columns)
    x = rng.standard_normal((40, columns))
    if columns > 2:
        x[:, 1] = np.round(x[:, 1])  # ties
        x[:, 2] = 7.0  # a constant column: 0 off the diagonal
    if columns > 3:
        x[:, 3] = np.exp(x[:, 0])  # a monotone copy: r = 1
        x[5, 4] = np.nan  # a NaN: treated as constant
    assert np.allclose(spearman_matrix(x), _old_spearman_matrix(x), rtol=0, atol=1e-12)
