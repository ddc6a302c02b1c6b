"""Tests of the ``cno`` step's launch structure, its fused (compile) path and the CUDA-graph guard.

The CUDA graph itself needs a GPU (``benchmarks/generate.py`` exercises it); here: its eager
fallback and error, and that the step accepts the device-tensor counter a graph replays.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_cno import COARSE, COARSE_INDICES, GRID16, MIXED, MIXED_INDICES, OP, SEED, initial, theta_of
from torch.utils._python_dispatch import TorchDispatchMode

from spinlock_core.errors import ConfigError
from spinlock_reaction_diffusion import _cno_fused
from spinlock_reaction_diffusion._cno_layers import NoiseSource, circular_index
from spinlock_reaction_diffusion._cuda_graph import CUDAGraphError, GraphedStep
from spinlock_reaction_diffusion.cno import CNOConfig, CNOOperator


def _steps(stepper, u, steps=3):
    out = [u]
    for t in range(steps):
        out.append(stepper.step(out[-1], t))
    return torch.stack(out, 2)


@pytest.fixture
def uncompiled_glue(monkeypatch):
    """``operator.compile=true`` with the glue run eagerly (compiling on a CPU takes minutes)."""
    monkeypatch.setattr(_cno_fused, "glue_fn", lambda compiled: _cno_fused.glue)


ALL_ZERO = [dict(padding="zero", num_layers=4), dict(padding="zero", num_layers=4, normalization="none")]


@pytest.mark.parametrize(
    ("rows", "indices", "dtype", "tol", "channels_last"),
    [
        pytest.param(MIXED, MIXED_INDICES, torch.float32, 2e-5, False, id="mixed-fp32"),
        pytest.param(COARSE, COARSE_INDICES, torch.float32, 2e-5, False, id="coarse-fp32"),
        pytest.param(COARSE, COARSE_INDICES, torch.float32, 2e-5, True, id="coarse-fp32-channels-last"),
        pytest.param(ALL_ZERO, [60, 61], torch.float32, 2e-5, False, id="all-zero-fp32"),
        pytest.param(MIXED[:4], MIXED_INDICES[:4], torch.bfloat16, 0.05, False, id="mixed-bf16"),
    ],
)
def test_fused_path_matches_the_exact_path(uncompiled_glue, rows, indices, dtype, tol, channels_last):
    """The fused forward (padded features, glue per conv) computes the exact path's network."""
    exact = OP.build(theta_of(rows), indices, SEED, GRID16, "cpu", dtype)
    cfg = CNOConfig(compile=True, channels_last=channels_last)
    fused = CNOOperator(cfg).build(theta_of(rows), indices, SEED, GRID16, "cpu", dtype)
    assert all(g.fused == "compiled" for g in fused.groups)
    u = initial(indices)
    a, b = _steps(exact, u), _steps(fused, u)
    assert torch.isfinite(b).all()
    scale = a.abs().amax(dim=(1, 2, 3, 4, 5), keepdim=True)
    assert ((a - b).abs() / scale).max() < tol


def test_padding_gather_equals_f_pad_with_zeroed_halos():
    """One gather (+ one masked fill) pads like F.pad(circular) with zero-padded halos, exactly,
    in both memory layouts."""
    rows = [dict(num_layers=2, kernel_size="5"), dict(num_layers=2, kernel_size="5", padding="zero")]
    for channels_last in (False, True):
        op = CNOOperator(CNOConfig(channels_last=channels_last))
        (grp,) = op.build(theta_of(rows), [0, 1], SEED, GRID16, "cpu", torch.float32).groups
        x = torch.randn(2, 2 * 16, 16, 16)
        want = F.pad(x, (2, 2, 2, 2), mode="circular")
        want[:, 16:, :2], want[:, 16:, -2:], want[:, 16:, :, :2], want[:, 16:, :, -2:] = 0, 0, 0, 0
        got = grp._pad(x.contiguous(memory_format=torch.channels_last) if channels_last else x)
        assert torch.equal(got, want)
        assert got.is_contiguous(memory_format=torch.channels_last) == channels_last
    assert circular_index(3, 4, 1, "cpu").view(5, 6)[0].tolist() == [11, 8, 9, 10, 11, 8]


def test_channels_last_agrees_with_the_default_layout():
    a = _steps(
        OP.build(theta_of(COARSE), COARSE_INDICES, SEED, GRID16, "cpu", torch.float32),
        initial(COARSE_INDICES),
    )
    op = CNOOperator(CNOConfig(channels_last=True))
    b = _steps(
        op.build(theta_of(COARSE), COARSE_INDICES, SEED, GRID16, "cpu", torch.float32),
        initial(COARSE_INDICES),
    )
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


class _Ops(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def test_sorted_batch_step_has_no_per_group_copies():
    """A sorted batch of two groups: no gather/scatter of samples, one cat, one update for the
    batch, one gather per padded conv, no pad copies or halo zeroing."""
    rows = [dict(num_layers=2), dict(num_layers=2, padding="zero"), dict(num_layers=3, kernel_size="5")]
    theta = theta_of(rows)
    order = np.argsort(OP.batch_order_key(theta), kind="stable")
    theta = {k: v[order] for k, v in theta.items()}
    stepper = OP.build(theta, [0, 1, 2], SEED, GRID16, "cpu", torch.float32)
    assert stepper.order is None and len(stepper.groups) == 2
    u = initial([0, 1, 2])
    stepper.step(u, 0)
    with _Ops() as mode:
        stepper.step(u, 1)
    padded_convs = sum(1 + len(g.plan.hidden) for g in stepper.groups)  # stem + hidden k x k convs
    assert mode.ops["aten.index_select"] == padded_convs
    assert mode.ops["aten.cat"] == 1 and mode.ops["aten.masked_fill_"] == 3  # halos of the mixed group
    assert mode.ops["aten.index_copy_"] == mode.ops["aten.copy_"] == mode.ops["aten.zero_"] == 0
    assert mode.ops["aten.addcmul"] == padded_convs  # one normalisation per conv block, no more


def test_step_accepts_the_device_counter_a_graph_replays():
    """``t`` as a 0-d int64 tensor (what a CUDA graph reads) gives the int-``t`` step bitwise."""
    stepper = OP.build(theta_of(MIXED), MIXED_INDICES, SEED, GRID16, "cpu", torch.float32)
    u = initial(MIXED_INDICES)
    for t in (0, 7):  # ``_step`` is what the graph captures (``step`` adds the CPU conv setting)
        assert torch.equal(stepper._step(u, torch.tensor(t)), stepper._step(u, t))
    keys = torch.tensor([5, 6, 7])
    noise = NoiseSource(keys, np.array([False, True, False]), np.array([0.0, 0.1, 0.0]), GRID16, [4, 8, 8])
    assert torch.equal(noise(3, (2, 8, 16, 16)), noise(torch.tensor(3), (2, 8, 16, 16)))


def test_graphed_step_falls_back_or_explains():
    """Capture needs CUDA: on a CPU tensor ``auto`` falls back to the eager step and ``on`` raises."""
    calls = []

    def step(u, t):
        calls.append(int(t))
        return u + 1

    lenient = GraphedStep(step, strict=False, name="toy step")
    u = torch.zeros(3)
    assert torch.equal(lenient(u, 4), u + 1) and lenient.graph is None and lenient.error is not None
    assert torch.equal(lenient(u, 5), u + 1) and calls[-2:] == [4, 5]
    strict = GraphedStep(step, strict=True, name="toy step")
    with pytest.raises(CUDAGraphError, match="operator.cuda_graph=off"):
        strict(u, 0)


def test_cuda_graph_and_compile_options():
    assert CNOConfig().cuda_graph == "auto" and CNOConfig().compile is False
    with pytest.raises(ConfigError, match="cuda_graph"):
        CNOConfig(cuda_graph="yes")
    op = CNOOperator(CNOConfig(cuda_graph="on"))
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        op.build(theta_of([{}]), [0], SEED, GRID16, "cpu", torch.float32)
    auto = CNOOperator(CNOConfig(cuda_graph="auto")).build(
        theta_of([{}]), [0], SEED, GRID16, "cpu", torch.float32
    )
    assert auto.graphed is None  # on a CPU, auto steps eagerly
