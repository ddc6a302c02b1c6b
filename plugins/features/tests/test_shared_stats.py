"""SUMMARY and TEMPORAL share per-state statistics through ``FeatureBatch.shared`` without
changing a bit of their output (issue #17 point 6)."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
import torch
from synthetic_fields import make_batch, make_domain, varied_dataset

from spinlock_features import SummaryFeatures, TemporalFeatures
from spinlock_features import temporal as temporal_module
from spinlock_features._shared import cached_state_stats


def _bits(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous().view(torch.int32)


def assert_bitwise(a: torch.Tensor, b: torch.Tensor):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert torch.equal(_bits(a), _bits(b))


def _alone(family, batch):
    """The family's output on a batch of its own (a cache nobody else wrote)."""
    return family.extract(attrs.evolve(batch, shared={}))


def _shared(summary, temporal, batch):
    """Both families on one batch, SUMMARY first (the default order), as the stages call them."""
    batch = attrs.evolve(batch, shared={})
    return summary.extract(batch), temporal.extract(batch), batch


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("chunks", [(4096, 4096), (5, 5), (5, 7)], ids=lambda c: f"chunks{c[0]}-{c[1]}")
def test_random_trajectories_bitwise(stride, chunks, monkeypatch):
    batch = make_batch(make_domain(), varied_dataset(n=3, m=2, t=11, seed=7))
    summary = SummaryFeatures(SummaryFeatures.Config(chunk_states=chunks[0]))
    temporal = TemporalFeatures(TemporalFeatures.Config(stride=stride, chunk_states=chunks[1]))
    s_alone, t_alone = _alone(summary, batch), _alone(temporal, batch)
    if stride == 1 and chunks[0] == chunks[1]:  # shared only where bitwise by construction

        def no_recompute(*args, **kwargs):
            raise AssertionError("TEMPORAL recomputed statistics SUMMARY had shared")

        monkeypatch.setattr(temporal_module, "state_table", no_recompute)
        monkeypatch.setattr(temporal_module, "cross_channel_stats", no_recompute)
    s_shared, t_shared, _ = _shared(summary, temporal, batch)
    assert_bitwise(s_shared, s_alone)
    assert_bitwise(t_shared, t_alone)


def test_other_options_are_not_shared():
    batch = make_batch(make_domain(), varied_dataset(n=2, m=2, t=6, seed=2))
    summary = SummaryFeatures()
    for config in ({"hist_bins": 16}, {"mi_bins": 8}, {"band_edges": [0.0, 10.0, float("inf")]}):
        temporal = TemporalFeatures(TemporalFeatures.Config(**config))
        _, t_shared, shared_batch = _shared(summary, temporal, batch)
        c = temporal.config
        bad = torch.zeros(2, dtype=torch.bool)
        assert (
            cached_state_stats(shared_batch, bad, c.band_edges, c.hist_bins, c.mi_bins, c.chunk_states)
            is None
        )
        assert_bitwise(t_shared, _alone(temporal, batch))


def test_temporal_first_and_changed_trajectories():
    traj = varied_dataset(n=2, m=2, t=6, seed=5)
    batch = make_batch(make_domain(), traj)
    summary, temporal = SummaryFeatures(), TemporalFeatures()
    s_alone, t_alone = _alone(summary, batch), _alone(temporal, batch)
    batch = attrs.evolve(batch, shared={})
    assert_bitwise(temporal.extract(batch), t_alone)  # nothing shared yet
    assert_bitwise(summary.extract(batch), s_alone)
    traj.mul_(2.0)  # in place: the stored statistics are stale
    assert_bitwise(temporal.extract(batch), _alone(temporal, batch))


def test_nonfinite_between_kept_states():
    """Non-finite values: SUMMARY zeroes a sample TEMPORAL computes when they lie between its kept
    states (stride 2), and the sharing (stride 1) keeps the diverged samples' rows NaN."""
    traj = varied_dataset(n=3, m=2, t=9, seed=9)
    traj[1, 0, 3] = float("nan")  # state 3: not kept at stride 2
    traj[2, 1, 4] = float("inf")  # state 4: kept
    batch = make_batch(make_domain(), traj)
    summary, temporal = SummaryFeatures(), TemporalFeatures(TemporalFeatures.Config(stride=2))
    s_alone, t_alone = _alone(summary, batch), _alone(temporal, batch)
    assert torch.isfinite(t_alone[1]).any() and torch.isnan(t_alone[2]).all()
    s_shared, t_shared, _ = _shared(summary, temporal, batch)
    assert_bitwise(s_shared, s_alone)
    assert_bitwise(t_shared, t_alone)
    temporal = TemporalFeatures()
    t_alone = _alone(temporal, batch)
    assert torch.isnan(t_alone[1:]).all() and torch.isfinite(t_alone[0]).all()
    assert_bitwise(_shared(summary, temporal, batch)[1], t_alone)


@pytest.fixture(scope="module")
def real_batch():
    """Trajectories of the real CNO family (small scale, a short horizon) and its setup."""
    from spinlock_core.config import compose
    from spinlock_core.interfaces import FeatureBatch
    from spinlock_core.stages.build import GenerationSetup, simulate_states

    overrides = ["stage=generate", "generate.n_samples=4", "generate.batch_size=4", "generate.steps=12"]
    setup = GenerationSetup.from_config(compose([*overrides, "device=cpu"]), torch.device("cpu"))
    rows = np.arange(3)
    theta = {k: v[rows] for k, v in setup.theta.items()}
    _, u0, result = simulate_states(setup, rows, theta)
    states = result.states.float()
    batch = FeatureBatch(
        domain=setup.info,
        theta=theta,
        u0=u0,
        trajectories=states,
        time=torch.arange(states.shape[2]) * setup.info.dt,
        derived=setup.operator.derived_columns(theta, setup.grid),
    )
    return setup, batch


@pytest.mark.parametrize("stride", [1, 4])
def test_real_trajectories_bitwise(real_batch, stride):
    _, batch = real_batch
    summary = SummaryFeatures()
    temporal = TemporalFeatures(TemporalFeatures.Config(stride=stride))
    s_shared, t_shared, shared_batch = _shared(summary, temporal, batch)
    assert shared_batch.shared  # SUMMARY left its statistics there
    assert_bitwise(s_shared, _alone(summary, batch))
    assert_bitwise(t_shared, _alone(temporal, batch))


def test_extract_guarded_shares_and_matches(real_batch):
    """The stages' call: one batch for all families; diverged samples get a fresh cache."""
    from spinlock_core.stages.features import extract_guarded

    setup, batch = real_batch
    families = setup.families
    assert list(families)[-2:] == ["summary", "temporal"]
    for diverged in (None, np.array([False, True, False])):
        together = extract_guarded(families, batch, diverged=diverged)
        for name, family in families.items():
            alone = extract_guarded({name: family}, attrs.evolve(batch, shared={}), diverged=diverged)
            assert np.array_equal(together[name].view(np.int32), alone[name].view(np.int32)), name
