"""ARCHITECTURE: θ -> columns, generic over the parameter space, plus derived columns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from synthetic_fields import SPACE, make_batch, make_domain

from spinlock_core.errors import ConfigError, PluginError
from spinlock_core.interfaces import DomainInfo, Grid
from spinlock_features import ArchitectureFeatures
from spinlock_features.architecture import ArchitectureConfig

THETA = {
    "diffusion": np.array([1e-3, 1e-2]),
    "rate": np.array([0.5, 1.5]),
    "layers": np.array([1, 6], dtype=np.int64),
    "activation": np.array([2, 0], dtype=np.int64),
    "residual": np.array([True, False]),
}


def test_known_values_and_names():
    domain = make_domain()
    fam = ArchitectureFeatures()
    out = fam.extract(make_batch(domain, u0=torch.zeros(2, 3, 16, 16), theta=THETA))
    names = [c.name for c in fam.columns(domain)]
    assert names == [
        "log10_diffusion",
        "rate",
        "layers",
        "activation==relu",
        "activation==gelu",
        "activation==tanh",
        "residual",
    ]
    expected = [[-3, 0.5, 1, 0, 0, 1, 1], [-2, 1.5, 6, 1, 0, 0, 0]]
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float32))


def test_decoded_sobol_rows_round_trip():
    rng = np.random.default_rng(1)
    theta = SPACE.decode(rng.random((16, SPACE.dim)))
    out = ArchitectureFeatures().extract(make_batch(make_domain(), u0=torch.zeros(16, 3, 4, 4), theta=theta))
    assert torch.all(out[:, 3:6].sum(1) == 1)  # exactly one choice per row
    np.testing.assert_allclose(10 ** out[:, 0].double().numpy(), theta["diffusion"], rtol=1e-5)


def test_derived_columns():
    cfg = ArchitectureConfig(
        derived=("param_count", "flops_per_step"), derived_units={"flops_per_step": "FLOP"}
    )
    fam = ArchitectureFeatures(cfg)
    domain = make_domain()
    cols = fam.columns(domain)
    assert [c.name for c in cols[-2:]] == ["derived__param_count", "derived__flops_per_step"]
    assert cols[-1].unit == "FLOP"
    derived = {"flops_per_step": np.array([7.0, 8.0]), "param_count": np.array([100, 200])}
    out = fam.extract(make_batch(domain, u0=torch.zeros(2, 3, 4, 4), theta=THETA, derived=derived))
    assert out[:, -2:].tolist() == [[100, 7], [200, 8]]


def test_derived_mismatch_is_an_error_not_a_silent_drop():
    domain = make_domain()
    batch = make_batch(
        domain, u0=torch.zeros(2, 3, 4, 4), theta=THETA, derived={"pearson_distance": np.array([0.1, 0.2])}
    )
    with pytest.raises(PluginError, match="pearson_distance"):
        ArchitectureFeatures().extract(batch)
    with pytest.raises(PluginError, match="param_count"):
        ArchitectureFeatures(ArchitectureConfig(derived=("param_count",))).extract(batch)
    lax = ArchitectureFeatures(ArchitectureConfig(strict=False)).extract(batch)
    assert lax.shape == (2, 7)
    with pytest.raises(ConfigError):
        ArchitectureConfig(derived=("a",), derived_units={"b": "s"})


def test_empty_space():
    domain = DomainInfo(name="x", channels=("u",), grid=Grid(shape=(4, 4)))
    fam = ArchitectureFeatures()
    assert fam.columns(domain) == []
    assert fam.extract(make_batch(domain, u0=torch.zeros(3, 1, 4, 4), theta={})).shape == (3, 0)
    assert math.isfinite(0.0)
