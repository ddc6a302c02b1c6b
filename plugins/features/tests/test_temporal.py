"""TEMPORAL known answers: per-timestep curves, stride, realization spread."""

from __future__ import annotations

import math

import pytest
import torch
from synthetic_fields import make_batch, make_domain, smooth_field, varied_dataset

from spinlock_features import TemporalFeatures


def run(traj, **cfg):
    channels = tuple(f"c{i}" for i in range(traj.shape[3]))
    domain = make_domain(channels=channels, shape=tuple(traj.shape[-2:]))
    fam = TemporalFeatures(TemporalFeatures.Config(**cfg))
    out = fam.extract(make_batch(domain, traj))
    return out, {c.name: out[..., i] for i, c in enumerate(fam.columns(domain))}


def test_growing_plane_wave_curves():
    n = 6
    x = torch.arange(16) / 16
    wave = torch.cos(2 * math.pi * 2 * x).view(1, -1).expand(16, 16)
    amp = (1 + torch.arange(n)).float()
    traj = (amp.view(-1, 1, 1, 1) * wave).expand(1, 2, n, 1, 16, 16).clone()
    _, f = run(traj)
    assert f["std__mean"][0] == pytest.approx(amp / math.sqrt(2), rel=1e-5)
    assert f["l2_raw__mean"][0] == pytest.approx(amp / math.sqrt(2), rel=1e-5)
    assert f["spectral_centroid__mean"][0] == pytest.approx(torch.full((n,), 4 * math.pi), rel=1e-5)
    assert f["band_1__mean"][0] == pytest.approx(torch.ones(n), abs=1e-6)
    assert f["std__std"][0] == pytest.approx(torch.zeros(n), abs=1e-6)  # identical realizations
    assert f["ensemble_spread"][0] == pytest.approx(torch.zeros(n), abs=1e-6)
    assert torch.isnan(f["xc_abs_corr_mean__mean"]).all()  # one channel: undefined
    assert (f["xc_eig_top_fraction__mean"] == 1).all()


def test_ensemble_spread_and_realization_std():
    phi = smooth_field(torch.Generator().manual_seed(0), (16, 16), 0.2)
    eps = torch.tensor([-1.0, 1.0]).view(2, 1, 1, 1, 1)
    growth = torch.arange(5).float().view(1, -1, 1, 1, 1)
    traj = (phi + eps * growth * phi)[None]  # realizations (1 -+ t) phi
    _, f = run(traj)
    assert f["ensemble_spread"][0] == pytest.approx(torch.arange(5.0), rel=1e-4, abs=1e-5)
    t = growth.flatten()
    assert f["std__mean"][0] == pytest.approx(torch.maximum(torch.ones(5), t), rel=1e-4)  # |1-t|, 1+t
    expected_std = ((1 + t) - (1 - t).abs()) / math.sqrt(2)
    assert f["std__std"][0] == pytest.approx(expected_std, rel=1e-4, abs=1e-5)
    assert f["l2_raw__std"][0, 0] == pytest.approx(0, abs=1e-6)


def test_stride_keeps_every_kth_state():
    traj = varied_dataset(n=2, m=2, t=7, channels=2)
    full, _ = run(traj)
    strided, _ = run(traj, stride=3)
    assert strided.shape[1] == 3  # states 0, 3, 6
    torch.testing.assert_close(strided, full[:, ::3], equal_nan=True)
    assert list(TemporalFeatures(TemporalFeatures.Config(stride=3)).kept_states(7)) == [0, 3, 6]


def test_single_realization_spread_is_nan():
    _, f = run(varied_dataset(n=1, m=1, t=4, channels=2))
    assert torch.isnan(f["ensemble_spread"]).all() and torch.isnan(f["mean__std"]).all()
    assert not torch.isnan(f["mean__mean"]).any()
