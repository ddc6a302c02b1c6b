"""Manifests: declared before running, stable names, checked against the output."""

from __future__ import annotations

import pathlib

import pytest
import torch
from synthetic_fields import make_batch, make_domain, varied_dataset

from spinlock_core.errors import PluginError
from spinlock_features import (
    ArchitectureFeatures,
    InitialFeatures,
    SummaryFeatures,
    TemporalFeatures,
    check_output,
    nan_counts,
)
from spinlock_features._docs import reference_markdown
from spinlock_features.architecture import ArchitectureConfig

FAMILIES = [InitialFeatures, ArchitectureFeatures, SummaryFeatures, TemporalFeatures]
DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "features.md"


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("channels", [("u",), ("u", "v", "w")], ids=["C1", "C3"])
def test_output_matches_manifest(family, channels):
    domain = make_domain(channels=channels)
    traj = varied_dataset(n=2, m=2, t=6, channels=len(channels))
    fam = family()
    cols = fam.columns(domain)
    out = fam.extract(make_batch(domain, traj))
    assert check_output(fam, domain, out, batch_size=2) == cols
    assert all(c.name and c.doc for c in cols)
    assert all(c.scope == fam.scope for c in cols)
    if fam.scope == "timestep":
        assert out.shape[1] == 6


def test_column_counts():
    c3, c1 = make_domain(), make_domain(channels=("u",))
    assert len(InitialFeatures().columns(c3)) == 3 * 18 + 3
    assert len(InitialFeatures().columns(c1)) == 18
    assert len(ArchitectureFeatures().columns(c3)) == 1 + 1 + 1 + 3 + 1


@pytest.mark.parametrize("family", [SummaryFeatures, TemporalFeatures], ids=lambda f: f.name)
def test_same_columns_for_every_channel_count(family):
    names = [[c.name for c in family().columns(make_domain(channels=ch))] for ch in (("a",), ("u", "v"))]
    assert names[0] == names[1]


def test_aggregates_order_and_single_realization():
    fam = SummaryFeatures(SummaryFeatures.Config(aggregates=("max", "mean", "std")))
    domain = make_domain(channels=("u",))
    cols = fam.columns(domain)
    assert [c.aggregate for c in cols[:3]] == ["max", "mean", "std"]
    out = fam.extract(make_batch(domain, varied_dataset(n=1, m=1, t=5, channels=1)))
    std_cols = [i for i, c in enumerate(cols) if c.aggregate == "std"]
    assert torch.isnan(out[0, std_cols]).all()  # spread over one realization is unknown, not 0


def test_check_output_rejects_mismatch(domain3):
    fam = InitialFeatures()
    d = len(fam.columns(domain3))
    with pytest.raises(PluginError, match="columns"):
        check_output(fam, domain3, torch.zeros(2, d + 1))
    with pytest.raises(PluginError, match="scope"):
        check_output(fam, domain3, torch.zeros(2, 3, d))
    with pytest.raises(PluginError, match="dtype"):
        check_output(fam, domain3, torch.zeros(2, d, dtype=torch.float64))
    with pytest.raises(PluginError, match="rows"):
        check_output(fam, domain3, torch.zeros(2, d), batch_size=3)


def test_nan_counts():
    t = torch.tensor([[1.0, float("nan")], [float("nan"), float("nan")]])
    assert nan_counts(t).tolist() == [1, 2]
    cols = ArchitectureFeatures(ArchitectureConfig(derived=("a", "b"))).columns(make_domain())[-2:]
    assert nan_counts(t, cols) == {"derived__a": 1, "derived__b": 2}
    assert nan_counts(torch.full((2, 3, 2), float("nan"))).tolist() == [6, 6]


def test_docs_are_current():
    """docs/features.md contains the generated reference of every family, line for line."""
    text = DOC.read_text()
    missing = [line for line in reference_markdown().splitlines() if line.strip() and line not in text]
    assert not missing, (
        f"docs/features.md is stale; regenerate with python -m spinlock_features._docs: {missing[:3]}"
    )
