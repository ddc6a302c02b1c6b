"""The public tokenizer: fit, tokens, decode, save/load, resume, EMA-only codebooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spinlock_core.checkpoint import load_checkpoint
from spinlock_vqvae import CategoricalVQVAE, CategoricalVQVAEConfig
from spinlock_vqvae.model import CategoricalRVQ, build_spec
from spinlock_vqvae.train import Trainer

CFG = CategoricalVQVAEConfig(
    epochs=30, batch_size=64, warmup_epochs=1, restart_window=8, hidden_dim=64, lr=3e-3, seed=3, device="cpu"
)


@pytest.fixture(scope="module")
def fitted(planted):
    table, cols, _ = planted
    return CategoricalVQVAE().fit(table, cols, CFG)


def test_tokens_decode_and_metrics(fitted, planted):
    table, cols, _ = planted
    tok = fitted
    tokens = tok.encode(table, cols)
    n_cat = len(tok.category_map)
    assert tokens.shape == (len(table), n_cat * CFG.levels) and tokens.dtype == torch.long
    sizes = [k for row in tok.codebook_sizes for k in row]
    assert (tokens >= 0).all() and (tokens < torch.tensor(sizes)).all()
    gids = tok.global_ids(tokens)
    assert gids.max() < tok.vocabulary_size
    starts = np.cumsum([0] + sizes)
    for j in range(tokens.shape[1]):  # each position owns its own id range
        assert ((gids[:, j] >= starts[j]) & (gids[:, j] < starts[j + 1])).all()
    dec = tok.decode(tokens)
    assert dec.shape == (len(table), len(tok.feature_names))
    assert torch.allclose(tok.reconstruct(table, cols), dec)
    final = tok.metrics["final"]
    assert final["quality"] > 0.8
    assert all(
        a <= b + 1e-6 for a, b in zip(final["quality_by_level"], final["quality_by_level"][1:], strict=False)
    )
    assert len(final["r2"]) == n_cat and np.shape(final["utilization"]) == (n_cat, CFG.levels)
    assert -1 <= final["topographic"] <= 1
    assert len(tok.metrics["history"]) == tok.metrics["epochs_run"]
    assert "cat" in tok.describe()


def test_save_load_round_trip_gives_identical_tokens(fitted, planted, tmp_path):
    table, cols, _ = planted
    path = fitted.save(tmp_path / "tok.pt")
    state, meta = load_checkpoint(path)  # weights_only=True inside
    assert meta["name"] == "categorical_vqvae" and isinstance(state["preprocessing"]["center"], list)
    loaded = CategoricalVQVAE.load(path)
    assert torch.equal(loaded.encode(table, cols), fitted.encode(table, cols))
    assert torch.equal(loaded.decode(fitted.encode(table, cols)), fitted.decode(fitted.encode(table, cols)))
    assert loaded.category_map == fitted.category_map
    assert loaded.config == fitted.config


def test_codebooks_move_only_by_ema(planted):
    table, cols, _ = planted
    tok = CategoricalVQVAE()
    tok.fit(table, cols, CategoricalVQVAEConfig(epochs=1, batch_size=64, hidden_dim=16, device="cpu"))
    model = tok.model
    xs = tok.scale(table, cols)
    trainer = Trainer(model, xs[:500], xs[500:], tok.config, torch.device("cpu"))
    in_optimizer = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    codebooks = [cb.embedding for vq in model.quantizers for cb in vq.levels]
    assert not in_optimizer & {id(c) for c in codebooks}
    assert not any("embedding" in name for name, _ in model.named_parameters())
    before = [c.clone() for c in codebooks]
    model.ema_update = lambda out, gen: 0  # gradient steps alone must leave codebooks untouched
    trainer.train_epoch()
    assert all(
        torch.equal(a, b.embedding)
        for a, b in zip(before, [cb for vq in model.quantizers for cb in vq.levels], strict=True)
    )
    del model.ema_update
    trainer.train_epoch()
    assert not all(torch.equal(a, c) for a, c in zip(before, codebooks, strict=True))


def test_resume_continues_exactly(planted, tmp_path):
    table, cols, _ = planted
    cfg = CategoricalVQVAEConfig(
        epochs=4, batch_size=64, warmup_epochs=1, restart_window=4, hidden_dim=16, seed=5, device="cpu"
    )
    full = CategoricalVQVAE().fit(table, cols, cfg)
    ckpt = tmp_path / "run.pt"
    CategoricalVQVAE().fit(table, cols, cfg, checkpoint=ckpt, stop_after=2)
    assert load_checkpoint(ckpt)[0]["training"]["epoch"] == 2
    resumed = CategoricalVQVAE().fit(table, cols, cfg, checkpoint=ckpt, resume=True)
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert full.metrics["history"] == resumed.metrics["history"]
    assert full.metrics["final"] == resumed.metrics["final"]


def test_model_init_uses_its_generator_only():
    spec = build_spec([[0, 1], [2, 3, 4]], 5, CFG)
    torch.manual_seed(0)
    a = CategoricalRVQ(spec, torch.Generator().manual_seed(1)).state_dict()
    torch.manual_seed(123)
    b = CategoricalRVQ(spec, torch.Generator().manual_seed(1)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_independence_term_has_a_gradient():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(64, 3, generator=g, requires_grad=True)
    z2 = (z1.detach() @ torch.randn(3, 4, generator=g)).requires_grad_(True)
    loss = CategoricalRVQ.independence([z1, z2])
    loss.backward()
    assert loss > 0.05 and z1.grad.abs().sum() > 0 and z2.grad.abs().sum() > 0
