"""Residual quantization, EMA-only codebooks and dead-code restarts."""

from __future__ import annotations

import torch

from spinlock_vqvae.quantizer import EMACodebook, ResidualVQ, kmeans

CENTERS = torch.tensor([[5.0, 5.0], [-5.0, 5.0], [5.0, -5.0], [-5.0, -5.0]])


def blobs(n: int, which, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.tensor(which)[torch.randint(len(which), (n,), generator=g)]
    return CENTERS[idx] + 0.1 * torch.randn(n, 2, generator=g)


def test_each_level_reduces_the_residual():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(1024, 6, generator=g) * torch.tensor([3.0, 2.0, 1.0, 1.0, 0.5, 0.5])
    vq = ResidualVQ(6, [16, 16, 16], decay=0.99, restart_window=100)
    vq.init_kmeans(z, g, batch_size=256)
    zq, codes, commit, residuals = vq(z)
    norms = [r.norm(dim=1).mean().item() for r in residuals] + [(z - zq).norm(dim=1).mean().item()]
    assert codes.shape == (1024, 3)
    assert all(a > b for a, b in zip(norms, norms[1:], strict=False)), norms
    assert torch.allclose(zq, vq.lookup(codes), atol=1e-5)
    assert torch.allclose(commit, (z - zq).pow(2).mean())


def test_straight_through_gradient_and_commitment_reach_the_encoder():
    g = torch.Generator().manual_seed(1)
    vq = ResidualVQ(3, [8, 8], decay=0.99, restart_window=10)
    z0 = torch.randn(64, 3, generator=g)
    vq.init_kmeans(z0, g, 64)
    z = z0.clone().requires_grad_(True)
    zq, _, commit, _ = vq(z)
    zq.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))
    z.grad = None
    commit.backward()
    assert z.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in vq.parameters())
    assert list(vq.parameters()) == []


def test_kmeans_finds_the_clusters():
    x = blobs(400, [0, 1, 2, 3])
    c = kmeans(x, 4, torch.Generator().manual_seed(0))
    dist = torch.cdist(CENTERS, c).min(dim=1).values
    assert dist.max() < 0.2


def _step(cb: EMACodebook, x: torch.Tensor, g: torch.Generator) -> None:
    cb.ema_update(x, cb.assign(x))
    cb.restart(x, g)


def _codebook(window: int) -> EMACodebook:
    cb = EMACodebook(4, 2, decay=0.9, restart_window=window)
    cb._set(torch.ones(4, dtype=torch.bool), CENTERS.clone(), torch.full((4,), 16.0))
    cb.initialized.fill_(True)
    return cb


def test_unused_code_is_restarted_near_encoder_outputs_after_the_window():
    cb = _codebook(window=3)
    cb.embedding[3] = cb.embed_sum[3] = torch.tensor([1000.0, 1000.0])
    cb.cluster_size[3] = 1.0
    g = torch.Generator().manual_seed(0)
    for step in range(3):
        x = blobs(64, [0, 1, 2], seed=step)
        _step(cb, x, g)
        if step < 2:
            assert int(cb.restarts) == 0 and cb.embedding[3, 0] > 100
    assert int(cb.restarts) == 1
    assert torch.cdist(cb.embedding[3:4], x).min() < 1e-5  # seeded on a current output
    assert torch.allclose(cb.embed_sum[3], cb.embedding[3] * cb.cluster_size[3])
    assert cb.cluster_size[3] == 1.0 and int(cb.idle_steps[3]) == 0


def test_no_restart_when_every_code_is_used():
    cb = _codebook(window=2)
    g = torch.Generator().manual_seed(0)
    for step in range(50):
        x = blobs(64, [0, 1, 2, 3], seed=step)
        _step(cb, x, g)
    assert int(cb.restarts) == 0
    assert torch.cdist(CENTERS, cb.embedding).diagonal().max() < 0.1


def test_ema_state_stays_consistent():
    cb = _codebook(window=100)
    g = torch.Generator().manual_seed(0)
    for step in range(5):
        x = blobs(32, [0, 1, 2, 3], seed=step)
        _step(cb, x, g)
    live = cb.cluster_size > 1e-6
    assert torch.allclose(cb.embedding[live] * cb.cluster_size[live, None], cb.embed_sum[live], atol=1e-4)
