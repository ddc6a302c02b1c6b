"""Known answers for the rollout errors that the mno stage's evaluation and validate share."""

import pytest
import torch

from spinlock_core.mno.rollout_errors import mean_field, rel_l2, rollout_errors, vrmse


def _truth():
    g = torch.Generator().manual_seed(0)
    return torch.randn(3, 4, 2, 8, 8, generator=g, dtype=torch.float64)  # [B, T, C, H, W]


def test_rel_l2_of_twice_the_truth_is_one_and_of_the_truth_zero():
    true = _truth()
    assert torch.allclose(rel_l2(2 * true, true), torch.ones(3, 4, dtype=true.dtype))
    assert torch.equal(rel_l2(true, true), torch.zeros(3, 4, dtype=true.dtype))


def test_vrmse_of_an_offset_is_the_offset_over_each_channels_spatial_std():
    true = _truth()
    std = true.std(dim=(-2, -1), unbiased=False)  # [B, T, C]
    want = (0.5 / torch.sqrt(std**2 + 1e-7)).mean(dim=2)
    assert torch.allclose(vrmse(true + 0.5, true), want)


def test_baselines_are_persistence_zero_and_the_spatial_mean_of_u0():
    true = _truth()
    u0 = true[:, :1] + 1.0
    errors = rollout_errors(true, true, u0)
    assert set(errors) == {
        f"{who}_{metric}" for who in ("persistence", "zero", "mean_field") for metric in ("rel_l2", "vrmse")
    } | {"rel_l2", "vrmse"}
    assert torch.equal(errors["rel_l2"], torch.zeros(3, 4, dtype=true.dtype))
    assert torch.allclose(errors["zero_rel_l2"], torch.ones(3, 4, dtype=true.dtype))
    assert torch.allclose(errors["persistence_rel_l2"], rel_l2(u0.expand_as(true), true))
    flat = mean_field(u0)
    assert flat.shape == u0.shape and torch.allclose(flat[..., 3, 5], u0.mean(dim=(-2, -1)))
    assert errors["mean_field_vrmse"].mean() == pytest.approx(vrmse(flat.expand_as(true), true).mean().item())
