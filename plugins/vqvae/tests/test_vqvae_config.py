"""Bad config values fail early with a message naming the field."""

from __future__ import annotations

import pytest

from spinlock_core.errors import ConfigError
from spinlock_vqvae.config import CategoricalVQVAEConfig


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"levels": 0}, "levels", id="levels-zero"),
        pytest.param({"epochs": 2.5}, "epochs", id="epochs-float"),
        pytest.param({"batch_size": True}, "batch_size", id="batch-bool"),
        pytest.param({"codebook_size": 1}, "codebook_size", id="codebook-one"),
        pytest.param({"codebook_size": [8, 8]}, "one size per level", id="codebook-list-length"),
        pytest.param({"commitment": -0.1}, "commitment", id="commitment-negative"),
        pytest.param({"lr": 0}, "lr", id="lr-zero"),
        pytest.param({"val_fraction": 0.0}, "val_fraction", id="val-zero"),
        pytest.param({"val_fraction": 0.7}, "val_fraction", id="val-large"),
        pytest.param({"ema_decay": 1.0}, "ema_decay", id="decay-one"),
        pytest.param({"restart_window": 0}, "restart_window", id="window-zero"),
        pytest.param({"device": "tpu"}, "device", id="device"),
        pytest.param({"latent_dim": 0}, "latent_dim", id="latent-zero"),
        pytest.param({"categories": {"a": []}}, "empty", id="category-empty"),
        pytest.param({"categories": {"a": ["x"], "b": ["x"]}}, "pinned to both", id="category-twice"),
        pytest.param({"categories": ["x"]}, "mapping", id="category-not-mapping"),
    ],
)
def test_bad_values_raise(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        CategoricalVQVAEConfig(**kwargs)


def test_unknown_key_and_round_trip():
    cfg = CategoricalVQVAEConfig(codebook_size=[8, 16, 32], families=["summary"], categories={"a": ["s/x"]})
    data = cfg.to_dict()
    assert data["codebook_size"] == [8, 16, 32] and data["categories"] == {"a": ["s/x"]}
    assert CategoricalVQVAEConfig.from_dict(data) == cfg
    with pytest.raises(ConfigError, match="unknown key"):
        CategoricalVQVAEConfig.from_dict({"epoch": 3})


def test_every_field_has_a_docstring():
    import ast
    import inspect

    import spinlock_vqvae.config as mod

    tree = ast.parse(inspect.getsource(mod.CategoricalVQVAEConfig))
    body = tree.body[0].body
    fields = [n.target.id for n in body if isinstance(n, ast.AnnAssign)]
    documented = {
        n.target.id
        for n, nxt in zip(body, body[1:], strict=False)
        if isinstance(n, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
    }
    assert set(fields) == documented
