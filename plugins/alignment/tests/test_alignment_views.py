"""Prototypes, shared columns and the errors a user meets first."""

from __future__ import annotations

import numpy as np
import pytest

from spinlock_alignment.crossencode import Reader, make_probes
from spinlock_alignment.prototypes import LevelPrototypes, matched_distance, mean_profile_warning
from spinlock_alignment.runs import Run, scalers, shared_columns
from spinlock_alignment.views import CodebookView, load_view
from spinlock_core.errors import CheckpointError, DatasetError, PluginError
from spinlock_core.interfaces import Score


def test_a_prototype_departs_from_the_background_only_in_its_category(same_domain):
    run = same_domain[0]
    view = run.view
    usage = view.usage(run.own_tokens())
    for level in range(view.levels):
        protos, codes = view.prototypes(usage, level), view.codes(level)
        assert protos.shape == (sum(k[level] for k in view.sizes), len(view.output_columns))
        for i in range(len(view.categories)):
            rows = [r for r, c in enumerate(codes) if c.category_index == i]
            own = [view.output_columns.index(c) for c in view.category_columns(i)]
            others = [j for j in range(protos.shape[1]) if j not in own]
            assert np.allclose(protos[np.ix_(rows, others)], protos[rows[0], others])  # others at their mean
            assert np.ptp(protos[np.ix_(rows, own)], axis=0).max() > 1e-3  # the codes differ in their own


def test_shared_columns_name_what_is_compared_and_what_is_held_neutral(same_domain):
    a, b = same_domain
    cols = shared_columns(a, b, ("summary", "temporal"))
    assert cols.shared == [c for c in a.view.output_columns if c.startswith("summary/")]
    assert sorted(cols.absent) == sorted(c for c in a.view.input_columns if not c.startswith("summary/"))
    with pytest.raises(DatasetError, match=r"share no column of the families \['temporal'\]"):
        shared_columns(a, b, ("temporal",))


def test_a_run_without_a_tokenizer_says_how_to_make_one(tmp_path):
    with pytest.raises(CheckpointError, match="no tokenizer in .*spinlock run run.dir="):
        load_view(tmp_path)


def test_an_unsupported_tokenizer_is_named():
    with pytest.raises(PluginError, match="no adapter for object; supported tokenizers: categorical_vqvae"):
        CodebookView(object())


def test_probes_skip_failed_samples(same_domain):
    a, b = same_domain
    table = b.table.copy()
    table[:5] = np.nan  # failed samples: every feature undefined
    failed = Run(b.label, b.path, b.domain, b.view, table, b.columns)
    cols = shared_columns(a, failed, ("summary",))
    _, scale_b = scalers(a, failed, cols.fed, "domain")
    probes = make_probes(failed, cols.fed, scale_b, Reader(b.view, cols.fed, scale_b), 10_000, 50, seed=0)
    assert probes.rows.min() == 5 and len(probes.rows) == len(table) - 5
    assert len(probes.rsa_rows) == 50 and np.isfinite(probes.b.recon).all()


def test_centring_separates_the_mean_profile_from_which_code_matches_which():
    """Two codebooks whose codes all decode near one shared mean profile (undertrained): the raw
    prototype distance beats the column-permutation null through the mean profile alone, the
    centred one does not, and the report is told so."""
    rng = np.random.default_rng(4)
    profile = 2.0 * rng.standard_normal(30)
    pa = profile + 0.01 * rng.standard_normal((12, 30))
    pb = profile + 0.01 * rng.standard_normal((9, 30))
    level = LevelPrototypes(0, [], [], pa, pb, {})
    ca, cb = level.centred()
    assert np.allclose(ca.mean(0), 0) and np.allclose(cb.mean(0), 0)
    perms = [rng.permutation(30) for _ in range(40)]
    raw = Score(
        name="prototype distance L0",
        value=matched_distance(pa, pb),
        null_draws=[matched_distance(pa, pb[:, p]) for p in perms],
        alternative="less",
    )
    centred = Score(
        name="prototype distance L0 (centred)",
        value=matched_distance(ca, cb),
        null_draws=[matched_distance(ca, cb[:, p]) for p in perms],
        alternative="less",
    )
    assert raw.p_value == pytest.approx(1 / 41) and centred.p_value > 0.05
    assert "mean profiles agree" in mean_profile_warning(raw, centred, 0.05)
    assert mean_profile_warning(raw, raw, 0.05) is None


def test_a_column_b_holds_only_as_nan_is_held_neutral_not_fed(same_domain):
    """E.g. a spread over realizations in a run with one realization per sample."""
    a, b = same_domain
    table = b.table.copy()
    table[:, b.columns.index("summary/s3")] = np.nan
    nan_b = Run(b.label, b.path, b.domain, b.view, table, b.columns)
    cols = shared_columns(a, nan_b, ("summary", "temporal"))
    assert cols.empty == ["summary/s3"] and "summary/s3" in cols.absent and "summary/s3" not in cols.fed
    assert cols.counts("fed") == {"summary": 11, "temporal": 0}
    table[:, [b.columns.index(f"summary/s{j}") for j in range(12)]] = np.nan
    with pytest.raises(DatasetError, match="no finite value in any column"):
        shared_columns(a, Run(b.label, b.path, b.domain, b.view, table, b.columns), ("summary",))
