"""The presets' budgets: size, FLOPs per sample-step, where the parameters sit, gradient reach."""

from __future__ import annotations

import attrs
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from spinlock_core.params import CategoricalParam, ContinuousParam, ParameterSpace
from spinlock_u_afno import build_u_afno, parameter_report, preset
from spinlock_u_afno.model import fft_flops, forward_flops

NAMES = ("small", "base", "large")


def _size(name, space, **overrides):
    model = build_u_afno(preset(name, **overrides), space, device="meta")
    total = sum(p.numel() for p in model.parameters())
    return total, sum(p.numel() for p in model.bottleneck.parameters()) / total


@pytest.fixture(scope="module")
def flops64():
    space = ParameterSpace(
        [
            ContinuousParam(name="diffusion", low=1e-3, high=1e-1, log=True),
            CategoricalParam(name="kernel", choices=("gauss", "box", "ring")),
        ]
    )
    return {name: forward_flops(preset(name), space, 64).total for name in NAMES}


def test_large_budget(space, flops64):
    params, coarse = _size("large", space)
    assert 130_000_000 <= params <= 180_000_000
    assert coarse > 0.75  # most parameters at the coarsest grid
    assert flops64["large"] <= 1.5e10


def test_small_stays_as_cheap_as_before(flops64):
    # the CPU default run trains `small`; the preset until 2026-12-04 cost 4.67e8 at 64x64
    assert flops64["small"] <= 4.7e8


def test_presets_are_ordered(space, flops64):
    sizes = [_size(name, space)[0] for name in NAMES]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    costs = [flops64[name] for name in NAMES]
    assert costs == sorted(costs) and len(set(costs)) == 3


def test_forward_flops_matches_a_real_forward(space, theta):
    # the fake-tensor count equals FlopCounterMode on a real forward (batch 1 -> per sample)
    config = preset("small")
    model = build_u_afno(config, space)
    one = {k: v[:1] for k, v in theta.items()}
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 1, 32, 32), one, None)
    got = forward_flops(config, space, 32)
    assert got.counted == counter.get_total_flops()
    assert got.fft == fft_flops(config, 32, 32) > 0
    assert got.total == got.counted + got.fft


@pytest.mark.parametrize("grid", [64, 128])
@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient(space, theta, name, grid):
    # gradient reach depends on the layout (levels, blocks, AFNO depth and split, mode keep), not
    # on the widths: base and large run at a narrow width with the same structure (fast on a CPU);
    # benchmarks/mno_presets.py checks the full-width presets
    config = preset(name)
    if name != "small":
        config = attrs.evolve(config, width=2, cond_dim=16, theta_hidden=16)
    torch.manual_seed(0)
    model = build_u_afno(config, space)
    report = parameter_report(model, (torch.randn(3, 1, grid, grid), theta, None))
    assert report.dead == ()
    assert report.effective == report.total
