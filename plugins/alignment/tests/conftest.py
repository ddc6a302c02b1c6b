"""Synthetic domains and tiny tokenizers for the alignment tests (trained in seconds on a CPU).

A synthetic *domain* fixes how three latent behaviours (each a mixture of three clusters) load
on twelve SUMMARY columns (which columns, with which weights and cluster centres), plus three ARCHITECTURE columns and one INITIAL column that only
exist on that side; a *sample seed* draws a feature table from it. Two tables of one domain are
"the same physics, different samples"; two domains share column names but not their meaning.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spinlock_alignment.runs import Run
from spinlock_alignment.views import CodebookView
from spinlock_vqvae import CategoricalVQVAE, CategoricalVQVAEConfig

torch.set_num_threads(1)  # tiny models: one thread is several times faster on shared cores

N_ROWS = 320
CONFIG = dict(
    levels=2, codebook_size=8, hidden_dim=32, batch_size=64, warmup_epochs=1, lr=3e-3, restart_window=8,
    correlation_rows=N_ROWS, device="cpu",
)  # fmt: skip


def domain_table(domain_seed: int, sample_seed: int, n: int = N_ROWS):
    """``(table [n, 16], columns)`` of a synthetic domain (see the module doc)."""
    law = np.random.default_rng(domain_seed)
    loadings = law.uniform(0.7, 1.3, (3, 4)) * law.choice([-1, 1], (3, 4))
    centres = law.uniform(-2.5, 2.5, (3, 3))
    rng = np.random.default_rng(1000 + sample_seed)
    blocks = []
    for b in range(3):
        f = centres[b, rng.integers(0, 3, n)] + 0.3 * rng.standard_normal(n)
        blocks.append(f[:, None] * loadings[b] + 0.15 * rng.standard_normal((n, 4)))
    summary = np.concatenate(blocks, axis=1)[:, law.permutation(12)]  # which columns co-vary: the law's
    arch = np.stack([summary[:, 0] + rng.standard_normal(n), rng.standard_normal(n), rng.random(n)], axis=1)
    initial = rng.standard_normal((n, 1))
    columns = [f"summary/s{j}" for j in range(12)] + [f"architecture/p{j}" for j in range(3)] + ["initial/i0"]
    return np.concatenate([summary, arch, initial], axis=1).astype(np.float32), columns


def fit_tokenizer(table, columns, seed: int, epochs: int = 15, lr: float | None = None) -> CategoricalVQVAE:
    cfg = dict(CONFIG, seed=seed, epochs=epochs, patience=epochs)
    if lr is not None:
        cfg.update(lr=lr, warmup_epochs=0)
    return CategoricalVQVAE().fit(table, columns, CategoricalVQVAEConfig(**cfg))


def as_run(tokenizer, table, columns, label: str) -> Run:
    return Run(
        label, Path(label), "synthetic", CodebookView(tokenizer), np.asarray(table, np.float64), columns
    )


def permuted_copy(tokenizer: CategoricalVQVAE, seed: int):
    """A copy with its categories reordered and every codebook's codes permuted.

    Returns ``(copy, category_order, code_perms)``: new category ``n`` is old category
    ``category_order[n]``; new code ``k`` of (new category ``n``, level ``l``) is old code
    ``code_perms[n][l][k]``. Tokens change, meaning does not.
    """
    gen = torch.Generator().manual_seed(seed)
    state = tokenizer.state()
    spec, model = state["spec"], state["model"]
    n_cat, levels = len(spec["groups"]), len(spec["codebook_sizes"][0])
    order = torch.randperm(n_cat, generator=gen).tolist()
    perms = [
        [torch.randperm(spec["codebook_sizes"][old][lvl], generator=gen) for lvl in range(levels)]
        for old in order
    ]
    new_model = {}
    for key, value in model.items():
        part, idx, rest = key.split(".", 2)
        if part not in ("encoders", "decoders", "quantizers"):
            new_model[key] = value
            continue
        new = order.index(int(idx))
        if part == "quantizers":
            lvl = int(rest.split(".")[1])
            if value.ndim >= 1 and value.shape[0] == spec["codebook_sizes"][int(idx)][lvl]:
                value = value[perms[new][lvl]]
        new_model[f"{part}.{new}.{rest}"] = value
    names = list(state["categories"])
    state.update(
        model=new_model,
        spec={
            **spec,
            **{k: [spec[k][o] for o in order] for k in ("groups", "latent_dims", "codebook_sizes")},
        },
        categories={names[o]: state["categories"][names[o]] for o in order},
        training=None,
    )
    copy = CategoricalVQVAE()
    copy._restore(state)
    copy.model.eval()
    return copy, order, [[p.tolist() for p in row] for row in perms]


@pytest.fixture(scope="session")
def same_domain():
    """Two tokenizers of one domain: different samples, different seeds."""
    ta, cols = domain_table(7, 0)
    tb, _ = domain_table(7, 1)
    a = as_run(fit_tokenizer(ta, cols, seed=0), ta, cols, "A")
    return a, as_run(fit_tokenizer(tb, cols, seed=1), tb, cols, "B")
