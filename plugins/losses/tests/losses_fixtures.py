"""A tiny run directory for the VQ losses: stored trajectories, ``features.h5``, a fit tokenizer."""

from __future__ import annotations

import json
import math

import attrs
import h5py
import numpy as np
import pytest
import torch

from spinlock_core.config._yaml import dump_yaml
from spinlock_core.interfaces import Column, DomainInfo, FeatureBatch, Grid, LossContext, LossSetup

# tiny models: one thread avoids oversubscribing shared CPUs
torch.set_num_threads(1)

N, M, T, SIZE = 24, 2, 9, 16
DOMAIN = DomainInfo(name="toy", channels=("u",), grid=Grid(shape=(SIZE, SIZE)), dt=0.1)
MEAN, STD = np.array([0.2]), np.array([1.5])


def _trajectories() -> np.ndarray:
    """``[N, M, T, 1, H, W]``: decaying travelling waves of varied amplitude, wavenumber, speed."""
    rng = np.random.default_rng(0)
    x = np.arange(SIZE) / SIZE
    xx, yy = np.meshgrid(x, x, indexing="ij")
    out = np.empty((N, M, T, 1, SIZE, SIZE), dtype=np.float32)
    for i in range(N):
        amp, k, omega, decay = rng.uniform(0.5, 2), rng.integers(1, 4), rng.uniform(0, 6), rng.uniform(0, 2)
        for m in range(M):
            phase = rng.uniform(0, 2 * math.pi)
            noise = 0.1 * rng.standard_normal((SIZE, SIZE))
            for t in range(T):
                wave = np.sin(2 * math.pi * k * (xx + 0.5 * yy) + phase - omega * 0.1 * t)
                out[i, m, t, 0] = amp * math.exp(-decay * 0.1 * t) * wave + noise * (1 + 0.2 * t)
    return out


def _features_h5(path, traj: np.ndarray) -> None:
    """``features.h5`` as the features stage writes it: summary (from the trajectories) and a
    θ-only family (``architecture``, two columns), one row per sample."""
    from spinlock_features.summary import SummaryFeatures

    family = SummaryFeatures()
    batch = FeatureBatch(
        domain=DOMAIN,
        theta={},
        u0=torch.as_tensor(traj[:, 0, 0]),
        trajectories=torch.as_tensor(traj),
        time=torch.arange(T) * DOMAIN.dt,
    )
    summary = family.extract(batch).numpy()
    rng = np.random.default_rng(1)
    arch = rng.standard_normal((N, 2)).astype(np.float32)
    tables = {
        "summary": (summary, [attrs.asdict(c) for c in family.columns(DOMAIN)]),
        "architecture": (arch, [attrs.asdict(Column(name=n)) for n in ("a", "b")]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("index", data=np.arange(N))
        for name, (table, columns) in tables.items():
            g = f.create_group(name)
            g.create_dataset("table", data=table.astype(np.float32))
            g.attrs["columns"] = json.dumps(columns)
        f.attrs["config"] = dump_yaml({"features": ["architecture", "summary"], "feature": {}})


@pytest.fixture(scope="session")
def vq_run(tmp_path_factory):
    """``(run_dir, trajectories)`` with ``features/features.h5`` and ``tokenizer/model.pt``."""
    from spinlock_core.stages.tokenizer import feature_table
    from spinlock_vqvae.config import CategoricalVQVAEConfig
    from spinlock_vqvae.tokenizer import CategoricalVQVAE

    run = tmp_path_factory.mktemp("vq_run")
    traj = _trajectories()
    _features_h5(run / "features" / "features.h5", traj)
    table, columns = feature_table(run / "features" / "features.h5")
    config = CategoricalVQVAEConfig(
        epochs=2,
        batch_size=8,
        levels=2,
        codebook_size=4,
        hidden_dim=16,
        warmup_epochs=0,
        val_fraction=0.2,
        kmeans_init_batches=1,
        max_categories=4,
        device="cpu",
    )
    CategoricalVQVAE(config).fit(table, columns).save(run / "tokenizer" / "model.pt")
    return run, traj


def make_setup(run, model=None, tokenizer=True, sample_steps=None, horizon=T - 1) -> LossSetup:
    return LossSetup(
        run_dir=run,
        dataset=None,
        domain=DOMAIN,
        model=model,
        device="cpu",
        horizon=horizon,
        normaliser={"mean": MEAN, "std": STD},
        tokenizer_path=run / "tokenizer" / "model.pt" if tokenizer else None,
        latent_sample_steps=sample_steps,
    )


def normalised(traj: np.ndarray) -> torch.Tensor:
    return torch.as_tensor((traj - MEAN[:, None, None]) / STD[:, None, None], dtype=torch.float32)


def window(traj: np.ndarray, samples, start: int, stop: int, with_states: bool = True):
    """``(target [B, w, 1, H, W], ctx)`` of realization 0 of ``samples``, steps ``start+1..stop``."""
    samples = np.asarray(samples)
    fields = normalised(traj[samples, 0])  # [B, T, 1, H, W]
    ctx = LossContext(
        window=(start, stop),
        horizon=T - 1,
        supervised_steps=T - 1,
        u0=fields[:, 0],
        theta={},
        samples=samples,
        realizations=np.zeros(len(samples), dtype=np.int64),
        state=fields[:, start] if with_states else None,
        target_state=fields[:, start] if with_states else None,
    )
    return fields[:, start + 1 : stop + 1], ctx
