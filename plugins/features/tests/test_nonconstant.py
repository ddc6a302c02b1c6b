"""No declared column is constant (or all-NaN) across a varied synthetic dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic_fields import SPACE, make_batch, make_domain, varied_dataset

from spinlock_features import ArchitectureFeatures, InitialFeatures, SummaryFeatures, TemporalFeatures


@pytest.fixture(scope="module")
def dataset():
    return varied_dataset(n=10, m=2, t=14, channels=3, seed=11)


@pytest.mark.parametrize(
    "family", [InitialFeatures, ArchitectureFeatures, SummaryFeatures, TemporalFeatures], ids=lambda f: f.name
)
def test_no_constant_column(family, dataset):
    domain = make_domain()
    theta = SPACE.decode(np.random.default_rng(5).random((dataset.shape[0], SPACE.dim)))
    fam = family()
    out = fam.extract(make_batch(domain, dataset, theta=theta))
    flat = out.reshape(-1, out.shape[-1])
    finite = torch.where(torch.isfinite(flat), flat, torch.nan)
    spread = finite.nan_to_num(-torch.inf).amax(0) - finite.nan_to_num(torch.inf).amin(0)
    names = [c.name for c in fam.columns(domain)]
    constant = [n for n, s in zip(names, spread.tolist(), strict=True) if not s > 0]
    assert not constant, f"{fam.name}: constant or all-NaN columns {constant}"
