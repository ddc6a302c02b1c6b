"""Gray-Scott at scale: production grid, ICs rendered in batches, CPU threads of the stepper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spinlock_core.config.compose import compose
from spinlock_core.interfaces import Grid
from spinlock_core.seeding import generator_for
from spinlock_reaction_diffusion._ic_well import _minmax
from spinlock_reaction_diffusion.gray_scott import SMALL_CPU_WORK, GrayScottOperator
from spinlock_reaction_diffusion.ics import (
    GENERIC_WEIGHTS,
    GRAY_SCOTT_WEIGHTS,
    ICLibrary,
    WellGaussian,
    sample_batch,
)

GS_GRID = Grid(shape=(32, 32), extent=((-1.0, 1.0), (-1.0, 1.0)))


@pytest.mark.parametrize(
    ("args", "grid"),
    [
        pytest.param(["operator=gray_scott", "scale=production"], 128, id="gray-scott-production"),
        pytest.param(["scale=production", "operator=gray_scott"], 128, id="order-free"),
        pytest.param(["scale=production"], 64, id="cno-production"),
        pytest.param(["operator=gray_scott"], 32, id="gray-scott-small"),
        pytest.param(["operator=gray_scott", "scale=production", "generate.grid=64"], 64, id="override-wins"),
    ],
)
def test_production_grid_is_128_for_gray_scott_only(args, grid):
    config = compose(args)
    assert config.section("generate").grid == grid
    assert config.section("generate").batch_size == (64 if "scale=production" in args else 16)


def _theta(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"F": rng.uniform(0.01, 0.1, n), "k": rng.uniform(0.045, 0.07, n)}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "weights",
    [
        pytest.param(GRAY_SCOTT_WEIGHTS, id="gray-scott"),
        pytest.param({**GENERIC_WEIGHTS, **GRAY_SCOTT_WEIGHTS}, id="mixed"),
    ],
)
def test_batched_ics_are_bitwise_batch_independent(weights, dtype):
    lib = ICLibrary(weights)
    indices = [4, 0, 9, 2, 7, 11, 5, 3]
    theta = _theta(len(indices))
    types, u = sample_batch(lib, 5, indices, 2, GS_GRID, "cpu", dtype, theta=theta)
    assert u.dtype == dtype and u.shape == (len(indices), 2, 32, 32)
    for b, i in enumerate(indices):
        alone = {n: v[b : b + 1] for n, v in theta.items()}
        t1, u1 = sample_batch(lib, 5, [i], 2, GS_GRID, "cpu", dtype, theta=alone)
        assert t1[0] == types[b] and torch.equal(u1[0], u[b]), f"sample {i}"
    sub = [1, 3, 5]
    t2, u2 = sample_batch(
        lib, 5, [indices[b] for b in sub], 2, GS_GRID, "cpu", dtype, {n: v[sub] for n, v in theta.items()}
    )
    assert np.array_equal(t2, types[sub]) and torch.equal(u2, u[sub])


def test_library_draws_on_host_only_when_every_drawable_type_is_batched():
    assert ICLibrary(GRAY_SCOTT_WEIGHTS).draws_on_host
    assert not ICLibrary(GENERIC_WEIGHTS).draws_on_host
    assert not ICLibrary({**GRAY_SCOTT_WEIGHTS, "grf": 1.0}).draws_on_host
    assert ICLibrary({**GRAY_SCOTT_WEIGHTS, "grf": 0.0}).draws_on_host


def test_library_sample_equals_its_batch_row():
    lib = ICLibrary(GRAY_SCOTT_WEIGHTS)
    gens = [generator_for(1, i, "ic") for i in range(4)]
    types, u = lib.sample_many(gens, 2, GS_GRID, "cpu", torch.float64)
    for i in range(4):
        t, field = lib.sample(generator_for(1, i, "ic"), 2, GS_GRID, "cpu", torch.float64)
        assert t == types[i] and torch.equal(field, u[i])


def test_well_gaussian_render_matches_the_blob_sum():
    """The padded, scattered product equals Σ_j a_j exp(-s_j |x - c_j|²) over the 3x3 tiling."""
    ic = WellGaussian({"count": [1, 12]})
    params = [ic.draw(generator_for(2, i, "ic"), 2, GS_GRID, None) for i in range(5)]
    out = ic.render(params, 2, GS_GRID, "cpu")
    y = x = -1 + 2 * torch.arange(32, dtype=torch.float64) / 32
    for b, (pa, pb) in enumerate(params):
        direct = []
        for p in (pa, pb):
            a, s, cx, cy = (v[:, None, None] for v in p)
            g = sum(
                a * (-s * ((y[:, None] - cy + dy) ** 2 + (x[None, :] - cx + dx) ** 2)).exp()
                for dy in (-2.0, 0.0, 2.0)
                for dx in (-2.0, 0.0, 2.0)
            ).sum(0)
            direct.append(g)
        expected = torch.stack((_minmax(1 - direct[0]), _minmax(direct[1])))
        torch.testing.assert_close(out[b], expected, rtol=0, atol=1e-12)


def test_minmax_is_per_field_and_flat_fields_are_zero():
    x = torch.stack((torch.full((4, 4), 3.0), torch.arange(16.0).view(4, 4)))
    out = _minmax(x)
    assert torch.equal(out[0], torch.zeros(4, 4))
    assert out[1].min() == 0 and out[1].max() == 1


@pytest.mark.parametrize(("batch", "size", "one_thread"), [(2, 32, True), (64, 128, False)])
def test_stepper_runs_small_work_on_one_cpu_thread(batch, size, one_thread, monkeypatch):
    op = GrayScottOperator()
    grid = op.grid_for((size, size))
    theta = {"F": np.full(batch, 0.04), "k": np.full(batch, 0.06)}
    stepper = op.build(theta, list(range(batch)), 0, grid, torch.device("cpu"), torch.float32)
    stepper.substeps = 1
    seen = []
    inner = stepper._nonlinear

    def spy(*args):
        seen.append(torch.get_num_threads())
        return inner(*args)

    monkeypatch.setattr(stepper, "_nonlinear", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        u = torch.ones(batch, 1, 2, size, size)
        out = stepper.step(u, 0)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert out.shape == u.shape
    assert (batch * size * size < SMALL_CPU_WORK) == one_thread
    assert set(seen) == ({1} if one_thread else {2})
