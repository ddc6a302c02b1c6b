import numpy as np
import pytest
import torch

from spinlock_core.seeding import counter_normal, counter_uniform, generator_for, sample_keys, sample_seed


def test_sample_seed_is_deterministic_and_separates_streams_and_indices():
    assert sample_seed(0, 5, "ic") == sample_seed(0, 5, "ic")
    seeds = {sample_seed(s, i, stream) for s in (0, 1) for i in range(50) for stream in ("ic", "noise")}
    assert len(seeds) == 200


def test_sample_seed_rejects_negative():
    with pytest.raises(ValueError, match="non-negative"):
        sample_seed(-1, 0, "ic")


def test_generator_draws_do_not_depend_on_other_samples():
    alone = torch.randn(4, generator=generator_for(3, 17, "ic"))
    for i in range(17):  # drawing other samples first changes nothing
        torch.randn(4, generator=generator_for(3, i, "ic"))
    assert torch.equal(alone, torch.randn(4, generator=generator_for(3, 17, "ic")))


@pytest.mark.parametrize("batch", [[7], [0, 7, 3], list(range(8))], ids=["alone", "mixed", "full"])
def test_counter_draws_are_independent_of_batch_composition(batch):
    keys = sample_keys(1, batch, "noise")
    draws = counter_normal(keys, 12, (3, 8, 8))
    alone = counter_normal(sample_keys(1, [7], "noise"), 12, (3, 8, 8))
    assert torch.equal(draws[batch.index(7)], alone[0])


def test_counter_normal_is_standard_normal_and_uncorrelated():
    z = counter_normal(sample_keys(0, range(4), "n"), 0, (64, 64), dtype=torch.float64)
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02
    flat = z.flatten(1).numpy()
    assert abs(np.corrcoef(flat[0], flat[1])[0, 1]) < 0.05
    assert abs(np.corrcoef(flat[0, :-1], flat[0, 1:])[0, 1]) < 0.05
    assert not torch.equal(z, counter_normal(sample_keys(0, range(4), "n"), 1, (64, 64), dtype=torch.float64))


def test_counter_uniform_in_open_unit_interval_and_lanes_differ():
    keys = sample_keys(0, range(3), "u")
    u = counter_uniform(keys, 5, (1000,))
    assert u.min() > 0 and u.max() < 1 and abs(u.mean().item() - 0.5) < 0.03
    assert not torch.equal(u, counter_uniform(keys, 5, (1000,), lane=1))


def test_per_sample_counters_match_scalar_counter():
    keys = sample_keys(0, range(3), "u")
    per_sample = counter_uniform(keys, torch.tensor([4, 4, 4]), (10,))
    assert torch.equal(per_sample, counter_uniform(keys, 4, (10,)))


def test_counter_uniform_never_returns_zero_or_one():
    import torch

    keys = torch.tensor([0], dtype=torch.int64)
    # the extreme hash values map strictly inside (0, 1) in both precisions
    for dtype in (torch.float32, torch.float64):
        u = counter_uniform(keys, 0, (200_000,), dtype=dtype)
        assert u.min() > 0 and u.max() < 1
    lo = ((torch.tensor([0]) >> 9).float() + 0.5) * (1.0 / 8388608.0)
    hi = ((torch.tensor([0xFFFFFFFF]) >> 9).float() + 0.5) * (1.0 / 8388608.0)
    assert lo.item() > 0 and hi.item() < 1


def test_counter_uniform_rejects_low_precision():
    import torch

    with pytest.raises(ValueError, match="float32 or float64"):
        counter_uniform(sample_keys(0, [0], "u"), 0, (4,), dtype=torch.bfloat16)


def test_offset_embeds_a_smaller_draw_in_a_padded_one():
    """With ``offset = m * (c - C) * H * W``, a ``[M, C, H, W]`` draw holds the ``[M, c, H, W]``
    draw of each sample in its first ``c`` channels (per-sample real widths ``c``)."""
    keys = sample_keys(3, [0, 1], "s")
    widths = torch.tensor([2, 3]).view(2, 1, 1, 1, 1)
    offset = torch.arange(2).view(1, 2, 1, 1, 1) * (widths - 4) * 6
    for draw in (counter_normal, counter_uniform):
        padded = draw(keys, 7, (2, 4, 2, 3), offset=offset)
        for b, c in enumerate((2, 3)):
            assert torch.equal(padded[b, :, :c], draw(keys[b : b + 1], 7, (2, c, 2, 3))[0])
