"""Shared fixtures: small synthetic feature tables with planted blocks of correlated columns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

# tiny models run several times faster on one thread than on a shared pair of cores
torch.set_num_threads(1)


def planted_table(n: int = 600, seed: int = 0):
    """``(table [n, D], columns, blocks)``: three planted blocks, a constant, a duplicate, NaNs."""
    rng = np.random.default_rng(seed)
    cols, data, blocks = [], [], {}
    spec = [("summary", "a", 6, 2), ("summary", "b", 5, 2), ("initial", "c", 4, 1)]
    for fam, name, width, rank in spec:
        f = rng.standard_normal((n, rank))
        w = rng.uniform(0.6, 1.2, (rank, width)) * rng.choice([-1, 1], width)
        x = f @ w + 0.35 * rng.standard_normal((n, width))
        if name == "c":
            x = np.tanh(x) + 0.05 * x**3
        names = [f"{fam}/{name}{i}" for i in range(width)]
        blocks[name] = names
        cols += names
        data.append(x)
    table = np.concatenate(data, axis=1)
    table[rng.random(n) < 0.1, cols.index("initial/c1")] = np.nan
    extra = np.stack([np.full(n, 3.0), 2 * table[:, 0] + 1], axis=1)
    table = np.concatenate([table, extra], axis=1)
    cols += ["architecture/const", "summary/a_dup"]
    return table.astype(np.float32), cols, blocks


@pytest.fixture(scope="session")
def planted():
    return planted_table()
