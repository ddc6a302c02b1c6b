"""Residual vector quantization with EMA codebooks, k-means init and dead-code restarts.

A :class:`ResidualVQ` holds ``levels`` codebooks for one category latent ``z [B, d]``:
level 0 quantizes ``r_0 = z``, level l quantizes ``r_l = r_{l-1} - q_{l-1}``, and the
quantized latent is ``sum_l q_l``; so level 0 alone is a coarse token and later levels refine it.

Codebooks are *buffers*: they move only through the exponential moving averages of the
per-code assignment count (``cluster_size``) and assigned-vector sum (``embed_sum``), never
through the optimizer. A code that no sample of a training batch picked for
``restart_window`` consecutive steps is re-seeded on a residual drawn from the current batch,
with ``cluster_size = 1`` and ``embed_sum = code`` set together so the EMA state stays
consistent (embedding = embed_sum / cluster_size). Distances are computed in float32 even
under autocast, so bf16 never changes which code wins.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EMACodebook", "ResidualVQ", "kmeans"]


def _sqdist(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(1, keepdim=True) - 2 * x @ c.T + (c * c).sum(1)[None, :]


@torch.no_grad()
def kmeans(x: torch.Tensor, k: int, generator: torch.Generator, iters: int = 20) -> torch.Tensor:
    """``k`` centroids of ``x [n, d]`` by k-means++ seeding and Lloyd iterations.

    Empty clusters are re-seeded on random points; with fewer points than ``k`` the extra
    centroids are jittered copies of data points.
    """
    n = x.shape[0]
    dev = x.device
    first = torch.randint(n, (1,), generator=generator).item()
    cents = [x[first]]
    d2 = _sqdist(x, x[first : first + 1]).squeeze(1).clamp_min(0)
    for _ in range(1, k):
        if float(d2.sum()) <= 0:
            j = torch.randint(n, (1,), generator=generator).item()
        else:
            j = torch.multinomial(d2.cpu().double(), 1, generator=generator).item()
        cents.append(x[j])
        d2 = torch.minimum(d2, _sqdist(x, x[j : j + 1]).squeeze(1).clamp_min(0))
    c = torch.stack(cents).clone()
    spread = x.std(0, unbiased=False).clamp_min(1e-6)
    for _ in range(iters):
        assign = _sqdist(x, c).argmin(1)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        empty = counts == 0
        c = torch.where(empty[:, None], c, sums / counts.clamp_min(1)[:, None])
        if empty.any():
            idx = torch.randint(n, (int(empty.sum()),), generator=generator).to(dev)
            noise = torch.randn(int(empty.sum()), x.shape[1], generator=generator).to(dev)
            c[empty] = x[idx] + 1e-3 * spread * noise
    return c


class EMACodebook(nn.Module):
    """One codebook ``[K, d]`` updated by EMA, with usage tracking for restarts."""

    def __init__(self, num_codes: int, dim: int, decay: float, restart_window: int):
        super().__init__()
        self.num_codes, self.dim, self.decay, self.restart_window = num_codes, dim, decay, restart_window
        self.register_buffer("embedding", torch.zeros(num_codes, dim))
        self.register_buffer("cluster_size", torch.zeros(num_codes))
        self.register_buffer("embed_sum", torch.zeros(num_codes, dim))
        self.register_buffer("idle_steps", torch.zeros(num_codes, dtype=torch.long))
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def assign(self, r: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of ``r [B, d]``."""
        return _sqdist(r.float(), self.embedding).argmin(1)

    @torch.no_grad()
    def init_kmeans(self, r: torch.Tensor, generator: torch.Generator, batch_size: int) -> None:
        """Codes = k-means centroids of ``r``; EMA counts scaled to one batch of ``batch_size``."""
        c = kmeans(r.float(), self.num_codes, generator)
        counts = torch.bincount(_sqdist(r.float(), c).argmin(1), minlength=self.num_codes).float()
        size = (counts * batch_size / r.shape[0]).clamp_min(1.0)
        self._set(torch.ones_like(size, dtype=torch.bool), c, size)
        self.idle_steps.zero_()
        self.initialized.fill_(True)

    def _set(self, mask: torch.Tensor, codes: torch.Tensor, size: torch.Tensor) -> None:
        self.embedding[mask] = codes
        self.cluster_size[mask] = size
        self.embed_sum[mask] = codes * size[:, None]

    @torch.no_grad()
    def ema_update(self, r: torch.Tensor, codes: torch.Tensor) -> None:
        """One EMA step on residuals ``r [B, d]`` with their ``codes [B]`` (no host sync)."""
        r = r.float()
        ones = torch.ones_like(codes, dtype=r.dtype)
        counts = torch.zeros(self.num_codes, device=r.device).index_add_(0, codes, ones)
        sums = torch.zeros_like(self.embed_sum).index_add_(0, codes, r)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        live = (self.cluster_size > 1e-6)[:, None]
        mean = self.embed_sum / self.cluster_size.clamp_min(1e-6)[:, None]
        self.embedding.copy_(torch.where(live, mean, self.embedding))
        self.idle_steps.copy_(torch.where(counts > 0, torch.zeros_like(self.idle_steps), self.idle_steps + 1))

    def dead(self) -> torch.Tensor:
        """Mask of codes unused for ``restart_window`` consecutive training steps."""
        return self.idle_steps >= self.restart_window

    @torch.no_grad()
    def restart(self, r: torch.Tensor, generator: torch.Generator) -> int:
        """Re-seed dead codes on distinct rows of the current residuals ``r``; returns how many."""
        dead = self.dead()
        n_dead = int(dead.sum())
        if n_dead:
            b = r.shape[0]
            if b >= n_dead:
                idx = torch.randperm(b, generator=generator)[:n_dead]
            else:
                idx = torch.randint(b, (n_dead,), generator=generator)
            self._set(dead, r.float()[idx.to(r.device)], torch.ones(n_dead, device=r.device))
            self.idle_steps[dead] = 0
            self.restarts.add_(n_dead)
        return n_dead


class ResidualVQ(nn.Module):
    """``levels`` EMA codebooks quantizing successive residuals of one latent."""

    def __init__(self, dim: int, sizes: list[int], decay: float, restart_window: int):
        super().__init__()
        self.levels = nn.ModuleList(EMACodebook(k, dim, decay, restart_window) for k in sizes)

    @property
    def sizes(self) -> list[int]:
        return [cb.num_codes for cb in self.levels]

    def forward(self, z: torch.Tensor):
        """Quantize ``z [B, d]``.

        Returns ``(zq_st, codes [B, L], commit, residuals)``: ``zq_st`` equals ``sum_l q_l`` in the
        forward pass with the identity gradient to ``z`` (straight-through); ``commit`` is
        ``||z - sg(sum_l q_l)||^2`` (mean), the encoder-side commitment; ``residuals`` are the
        detached inputs of each level, for the EMA update.
        """
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            r = z.detach()
            total = torch.zeros_like(r)
            codes, residuals = [], []
            for cb in self.levels:
                c = cb.assign(r)
                q = cb.embedding[c]
                codes.append(c)
                residuals.append(r)
                total = total + q
                r = r - q
            commit = (z - total).pow(2).mean()
            zq_st = z + (total - z).detach()
        return zq_st, torch.stack(codes, 1), commit, residuals

    def lookup(self, codes: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """``sum_{l < upto} q_l`` for ``codes [B, L]`` (all levels when ``upto`` is None)."""
        n = len(self.levels) if upto is None else upto
        out = self.levels[0].embedding[codes[:, 0]] * 0
        for lvl in range(n):
            out = out + self.levels[lvl].embedding[codes[:, lvl]]
        return out

    @torch.no_grad()
    def init_kmeans(self, z: torch.Tensor, generator: torch.Generator, batch_size: int) -> None:
        """Initialize level by level on the residuals the previous levels leave."""
        r = z.float()
        for cb in self.levels:
            cb.init_kmeans(r, generator, batch_size)
            r = r - cb.embedding[cb.assign(r)]

    @torch.no_grad()
    def ema_update(self, residuals, codes: torch.Tensor, generator: torch.Generator) -> int:
        """EMA step of every level, then restarts (the dead check costs one host sync)."""
        for i, (cb, r) in enumerate(zip(self.levels, residuals, strict=True)):
            cb.ema_update(r, codes[:, i])
        if not bool(torch.stack([cb.dead().any() for cb in self.levels]).any()):
            return 0
        return sum(cb.restart(r, generator) for cb, r in zip(self.levels, residuals, strict=True))
