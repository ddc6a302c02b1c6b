"""Shared fixtures: a parameter space with every kind of parameter, and matching θ batches."""

from __future__ import annotations

import pytest
import torch

from spinlock_core.params import (
    BooleanParam,
    CategoricalParam,
    ContinuousParam,
    IntegerParam,
    ParameterSpace,
)

# tiny models: one thread avoids oversubscribing shared CPUs, and keeps timings stable
torch.set_num_threads(1)


@pytest.fixture
def space() -> ParameterSpace:
    return ParameterSpace(
        [
            ContinuousParam(name="diffusion", low=1e-3, high=1e-1, log=True),
            ContinuousParam(name="rate", low=-1.0, high=3.0),
            IntegerParam(name="order", low=1, high=4),
            CategoricalParam(name="kernel", choices=("gauss", "box", "ring")),
            BooleanParam(name="forced"),
        ]
    )


@pytest.fixture
def theta() -> dict[str, torch.Tensor]:
    """A batch of 3 decoded θ covering every categorical choice (float, int64, bool as decoded)."""
    return {
        "diffusion": torch.tensor([1e-3, 1e-2, 1e-1], dtype=torch.float64),
        "rate": torch.tensor([-1.0, 0.5, 3.0]),
        "order": torch.tensor([1, 2, 4]),
        "kernel": torch.tensor([0, 1, 2]),
        "forced": torch.tensor([True, False, True]),
    }
