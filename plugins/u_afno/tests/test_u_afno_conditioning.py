import pytest
import torch

from spinlock_core.errors import ConfigError
from spinlock_core.params import ParameterSpace
from spinlock_u_afno import ThetaEmbedding, ThetaEncoder


def test_numeric_encoding_follows_the_spec(space, theta):
    numeric, categorical = ThetaEncoder(space)(theta)
    # columns: diffusion (log), rate, order, forced; categorical: kernel
    expect = torch.tensor(
        [
            [-1.0, -1.0, -1.0, 1.0],
            [0.0, -0.25, -1 / 3, 0.0],
            [1.0, 1.0, 1.0, 1.0],
        ]
    )
    torch.testing.assert_close(numeric, expect)
    assert categorical.tolist() == [[0], [1], [2]]


def test_missing_and_invalid_theta_raise(space, theta):
    enc = ThetaEncoder(space)
    with pytest.raises(ConfigError, match="missing parameter 'rate'"):
        enc({k: v for k, v in theta.items() if k != "rate"})
    with pytest.raises(ConfigError, match="choice index"):
        enc(theta | {"kernel": torch.tensor([0, 3, 1])})
    # extra keys (e.g. derived columns) are ignored
    enc(theta | {"n_params": torch.tensor([1, 2, 3])})


def test_embedding_shapes_and_empty_space(space, theta):
    emb = ThetaEmbedding(space, dim=16, hidden=32, categorical_dim=4)
    assert emb(theta).shape == (3, 16)
    empty = ThetaEmbedding(ParameterSpace(()), dim=16, hidden=32)
    assert empty(None, batch_size=5).shape == (5, 16)


def test_reads_decoded_numpy_theta_directly(space):
    import numpy as np

    decoded = space.decode(np.random.default_rng(0).random((6, space.dim)))
    numeric, categorical = ThetaEncoder(space)(decoded)
    assert numeric.shape == (6, 4) and categorical.shape == (6, 1)
    assert numeric.abs().max() <= 1.0 + 1e-6
