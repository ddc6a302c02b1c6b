"""Purity: a sample's features do not depend on the rest of its batch."""

from __future__ import annotations

import pytest
import torch
from synthetic_fields import make_batch, make_domain, varied_dataset

from spinlock_features import ArchitectureFeatures, InitialFeatures, SummaryFeatures, TemporalFeatures
from spinlock_features.architecture import ArchitectureConfig


@pytest.mark.parametrize(
    "family", [InitialFeatures, ArchitectureFeatures, SummaryFeatures, TemporalFeatures], ids=lambda f: f.name
)
def test_alone_equals_in_batch(family):
    domain = make_domain()
    traj = varied_dataset(n=8, m=2, t=8, seed=3)
    # contrasting scales in the batch would expose any batch statistic
    traj[1:] *= torch.linspace(0.1, 50, 7).view(-1, 1, 1, 1, 1, 1)
    batch = make_batch(domain, traj)
    fam = family()
    full = fam.extract(batch)
    for i in (0, 5):
        theta = {k: v[i : i + 1] for k, v in batch.theta.items()}
        alone = fam.extract(make_batch(domain, traj[i : i + 1], theta=theta))
        torch.testing.assert_close(alone[0], full[i], rtol=2e-5, atol=1e-5, equal_nan=True)


def test_chunking_does_not_change_results():
    domain = make_domain()
    batch = make_batch(domain, varied_dataset(n=3, m=2, t=8, seed=4))
    big = SummaryFeatures().extract(batch)
    small = SummaryFeatures(SummaryFeatures.Config(chunk_states=5)).extract(batch)
    torch.testing.assert_close(small, big, rtol=2e-5, atol=1e-5, equal_nan=True)
    tb = TemporalFeatures().extract(batch)
    ts = TemporalFeatures(TemporalFeatures.Config(chunk_states=7)).extract(batch)
    torch.testing.assert_close(ts, tb, rtol=2e-5, atol=1e-5, equal_nan=True)


def test_architecture_with_derived_alone_equals_in_batch():
    import numpy as np

    domain = make_domain()
    traj = varied_dataset(n=4, m=1, t=2)
    derived = {"param_count": np.arange(4) * 10.0}
    fam = ArchitectureFeatures(ArchitectureConfig(derived=("param_count",)))
    full = fam.extract(make_batch(domain, traj, derived=derived))
    batch = make_batch(domain, traj)
    theta = {k: v[2:3] for k, v in batch.theta.items()}
    alone = fam.extract(make_batch(domain, traj[2:3], theta=theta, derived={"param_count": np.array([20.0])}))
    torch.testing.assert_close(alone[0], full[2])
