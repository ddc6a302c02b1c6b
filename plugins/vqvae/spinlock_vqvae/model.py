"""The network: per-category encoder -> residual VQ -> per-category decoder.

Each category ``c`` owns its columns ``x[:, idx_c]``: an MLP encodes them to ``z_c [B, d_c]``,
a :class:`~spinlock_vqvae.quantizer.ResidualVQ` turns ``z_c`` into ``levels`` tokens, and a
decoder MLP maps the quantized ``sum_l q_l`` back to the same columns. Decoders are per
category (not shared) so that category ``c``'s tokens explain exactly category ``c``'s columns:
per-category R^2 is attributable, a category's tokens can be decoded or swapped alone, and the
map feature -> tokens is local (see ``docs/tokenizer.md``).

The model is rebuilt from a plain ``spec`` dict stored in the checkpoint, and its weights are
initialized from a seeded ``torch.Generator`` (no global RNG).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .quantizer import ResidualVQ

__all__ = ["CategoricalRVQ", "default_codebook_sizes", "default_latent_dim", "build_spec"]


def default_codebook_sizes(n_columns: int, config, n_train: int | None = None) -> list[int]:
    """Codes per level: the config's, or the power of two nearest 4 x category size, in [8, 64],
    and at most the largest power of two leaving 8 training rows per code (never below 8)."""
    if isinstance(config.codebook_size, tuple):
        return list(config.codebook_size)
    if isinstance(config.codebook_size, int):
        return [config.codebook_size] * config.levels
    k = 2 ** round(math.log2(4 * n_columns))
    if n_train is not None:
        k = min(k, 2 ** math.floor(math.log2(max(1, n_train / 8))))
    return [int(min(64, max(8, k)))] * config.levels


def default_latent_dim(n_columns: int, config) -> int:
    """Latent width: the config's, or clamp(category size, 4, 32)."""
    return config.latent_dim or int(min(32, max(4, n_columns)))


def build_spec(groups: list[list[int]], input_dim: int, config, n_train: int | None = None) -> dict:
    """The plain dict that fully rebuilds a :class:`CategoricalRVQ` (``n_train`` caps default codebooks)."""
    return {
        "input_dim": input_dim,
        "groups": [list(map(int, g)) for g in groups],
        "latent_dims": [default_latent_dim(len(g), config) for g in groups],
        "codebook_sizes": [default_codebook_sizes(len(g), config, n_train) for g in groups],
        "hidden_dim": config.hidden_dim,
        "ema_decay": config.ema_decay,
        "restart_window": config.restart_window,
    }


def _linear(n_in: int, n_out: int, gen: torch.Generator) -> nn.Linear:
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=gen)
    bound = 1 / math.sqrt(n_in)
    nn.init.uniform_(layer.bias, -bound, bound, generator=gen)
    return layer


def _mlp(n_in: int, hidden: int, n_out: int, gen: torch.Generator) -> nn.Sequential:
    return nn.Sequential(
        _linear(n_in, hidden, gen),
        nn.GELU(),
        _linear(hidden, hidden, gen),
        nn.GELU(),
        _linear(hidden, n_out, gen),
    )


class CategoricalRVQ(nn.Module):
    """Categories x residual levels of tokens for a scaled feature vector ``x [B, D]``."""

    def __init__(self, spec: dict, generator: torch.Generator):
        super().__init__()
        self.spec = spec
        groups, dims, h = spec["groups"], spec["latent_dims"], spec["hidden_dim"]
        self.levels = len(spec["codebook_sizes"][0])
        self.encoders = nn.ModuleList(
            _mlp(len(g), h, d, generator) for g, d in zip(groups, dims, strict=True)
        )
        self.decoders = nn.ModuleList(
            _mlp(d, h, len(g), generator) for g, d in zip(groups, dims, strict=True)
        )
        self.quantizers = nn.ModuleList(
            ResidualVQ(d, k, spec["ema_decay"], spec["restart_window"])
            for d, k in zip(dims, spec["codebook_sizes"], strict=True)
        )
        for i, g in enumerate(groups):
            self.register_buffer(f"idx{i}", torch.tensor(g, dtype=torch.long), persistent=False)
        order = torch.tensor([j for g in groups for j in g], dtype=torch.long)
        self.register_buffer("inverse", torch.argsort(order), persistent=False)

    @property
    def n_categories(self) -> int:
        return len(self.encoders)

    def group(self, i: int) -> torch.Tensor:
        return getattr(self, f"idx{i}")

    def encode_latents(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Continuous category latents ``[z_c [B, d_c]]`` before quantization."""
        return [enc(x[:, self.group(i)]) for i, enc in enumerate(self.encoders)]

    def _assemble(self, parts: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(parts, dim=1)[:, self.inverse]

    def forward(self, x: torch.Tensor) -> dict:
        """``x [B, D]`` -> recon ``[B, D]``, codes ``[B, C*L]`` (category-major), commitment, latents."""
        zs = self.encode_latents(x)
        outs, codes, commits, residuals, zqs = [], [], [], [], []
        for z, vq, dec in zip(zs, self.quantizers, self.decoders, strict=True):
            zq, c, commit, res = vq(z)
            outs.append(dec(zq.to(z.dtype)))
            codes.append(c)
            commits.append(commit)
            residuals.append(res)
            zqs.append(zq)
        return {
            "recon": self._assemble(outs),
            "codes": torch.cat(codes, dim=1),
            "commit": torch.stack(commits).mean(),
            "residuals": residuals,
            "latents": zs,
            "quantized": zqs,
        }

    def quantized_from_codes(self, codes: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
        """Per-category ``sum_{l<upto} q_l`` from tokens ``[B, C*L]``."""
        L = self.levels
        return [vq.lookup(codes[:, i * L : (i + 1) * L], upto) for i, vq in enumerate(self.quantizers)]

    def decode_codes(self, codes: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """Scaled features ``[B, D]`` from tokens; ``upto`` uses only the first levels (coarse prefix)."""
        zqs = self.quantized_from_codes(codes, upto)
        return self._assemble([dec(zq) for dec, zq in zip(self.decoders, zqs, strict=True)])

    @torch.no_grad()
    def init_codebooks(self, x: torch.Tensor, generator: torch.Generator, batch_size: int) -> None:
        """k-means initialization of every codebook from the encoder outputs of ``x``."""
        for z, vq in zip(self.encode_latents(x), self.quantizers, strict=True):
            vq.init_kmeans(z, generator, batch_size)

    @torch.no_grad()
    def ema_update(self, out: dict, generator: torch.Generator) -> int:
        """EMA step of every codebook from a training forward, then dead-code restarts.

        One host sync per step decides whether any code anywhere is due for a restart.
        """
        L = self.levels
        for i, (vq, res) in enumerate(zip(self.quantizers, out["residuals"], strict=True)):
            codes = out["codes"][:, i * L : (i + 1) * L]
            for lvl, cb in enumerate(vq.levels):
                cb.ema_update(res[lvl], codes[:, lvl])
        if not bool(torch.stack([cb.dead().any() for vq in self.quantizers for cb in vq.levels]).any()):
            return 0
        return sum(
            cb.restart(r, generator)
            for vq, res in zip(self.quantizers, out["residuals"], strict=True)
            for cb, r in zip(vq.levels, res, strict=True)
        )

    @staticmethod
    def independence(latents: list[torch.Tensor]) -> torch.Tensor:
        """Mean squared cross-correlation between different categories' latents (0 = decorrelated).

        Each latent dimension is standardized over the batch; only entries between two
        different categories count, so within-category structure is free.
        """
        if len(latents) < 2:
            return latents[0].new_zeros(())
        zs = torch.cat([(z - z.mean(0)) / (z.std(0, unbiased=False) + 1e-5) for z in latents], dim=1).float()
        corr = zs.T @ zs / zs.shape[0]
        cat = torch.cat([torch.full((z.shape[1],), i, device=zs.device) for i, z in enumerate(latents)])
        off = cat[:, None] != cat[None, :]
        return corr[off].pow(2).mean()
