"""Config classes of the core's stages (light: attrs only)."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

__all__ = ["GenerateConfig", "ExtractConfig", "MNOConfig", "TBPTTConfig", "ValidateConfig"]


@attrs.frozen(kw_only=True)
class GenerateConfig:
    """The ``generate`` stage: how many samples, how big, how long, how stored."""

    n_samples: int = attrs.field(default=32, validator=v.ge(1))
    """Number of θ samples (operators); a power of two keeps the Sobol points balanced."""
    grid: int = attrs.field(default=32, validator=v.ge(4))
    """Grid points per side (square grids)."""
    steps: int = attrs.field(default=31, validator=v.ge(1))
    """Time steps after the IC; a trajectory holds ``steps + 1`` states."""
    realizations: int = attrs.field(default=2, validator=v.ge(1))
    """Independent noise realizations per sample (1 for deterministic operators)."""
    batch_size: int = attrs.field(default=16, validator=v.ge(1))
    """Samples stepped together on the device."""
    chunk_size: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))
    """Samples per resumable chunk (one part file); each chunk is sorted by the operator's
    batch key (e.g. CNO architecture) before it is cut into batches, so batches share work.
    ``null``: about an eighth of each rank's samples, a multiple of ``batch_size``, at most 256,
    so an interrupted run keeps most of its work (see ``generate.auto_chunk_size``)."""
    store_trajectories: bool = True
    """Store the trajectories (else only θ, ICs, status and inline features)."""
    trajectory_stride: int = attrs.field(default=1, validator=v.ge(1))
    """Store every k-th state (the IC always)."""
    stored_realizations: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))
    """Realizations whose trajectories are stored (the first k); ``null``: all of them. Features
    are computed inline on every realization either way; the MNO trains on the stored ones.
    ``scale=production`` stores 1 of 5: 6.3 GB per 1,000 operators instead of 31.5 GB."""
    trajectory_dtype: Literal["float32", "float16"] = "float32"
    """Precision of stored trajectories."""
    dtype: Literal["float32", "bfloat16"] = "float32"
    """Precision the operators run in."""
    divergence_bound: float = attrs.field(default=1e4, validator=v.gt(0))
    """A sample whose |u| exceeds this (or turns non-finite) is marked diverged."""
    compression: Literal["gzip", "lzf", "none"] = "none"
    """HDF5 compression of trajectories and ICs. ``none`` by default: on float16 CNO fields gzip
    saved a third of the bytes at 0.06 GB/s and lzf a quarter at 0.13 GB/s, against 0.36 GB/s
    uncompressed (one CPU core, ``benchmarks/storage.py``), and production makes 0.25 GB/s at 8
    operators/s."""
    inline_features: bool = True
    """Compute the enabled feature families on the device while generating."""
    ic_weights: dict[str, float] | None = None
    """IC type weights; ``null`` uses the domain's defaults for the operator."""
    deterministic: bool = True
    """Ask cuDNN for deterministic kernels so replay is bitwise exact on the same GPU."""


@attrs.frozen(kw_only=True)
class ExtractConfig:
    """The ``features`` stage (offline extraction from stored trajectories)."""

    batch_size: int = attrs.field(default=32, validator=v.ge(1))
    """Samples per batch on the device; does not change any value (families are per-sample pure)."""
    reuse_inline: bool = True
    """Copy tables computed inline by ``generate`` instead of recomputing them."""


@attrs.frozen(kw_only=True)
class TBPTTConfig:
    """Truncated backpropagation through time over the rollout horizon."""

    window: int = attrs.field(default=32, validator=v.ge(1))
    """Steps per window with gradient; the state is detached between windows."""
    mode: Literal["windowed", "full", "last"] = "windowed"
    """``windowed``: every window supervised; ``full``: one graph; ``last``: only the last window (the prototype)."""


@attrs.frozen(kw_only=True)
class MNOConfig:
    """The ``mno`` stage: train the selected backbone to imitate the family from (θ, u0).

    The network's size is the backbone's own option (``backbone.preset`` for ``u_afno`` and
    ``fno``); ``mno.preset`` is read as ``backbone.preset`` with a deprecation warning."""

    epochs: int = attrs.field(default=2, validator=v.ge(1))
    """Passes over the training pairs (sample, realization)."""
    batch_size: int = attrs.field(default=4, validator=v.ge(1))
    """Trajectories per optimizer step."""
    steps: int | None = attrs.field(default=None, validator=v.optional(v.ge(1)))
    """Rollout horizon in stored steps (``null``: every stored step)."""
    lr: float = attrs.field(default=3e-4, validator=v.gt(0))
    """Peak learning rate of AdamW."""
    weight_decay: float = attrs.field(default=0.01, validator=v.ge(0))
    """AdamW weight decay."""
    warmup_steps: int = attrs.field(default=10, validator=v.ge(0))
    """Linear warm-up steps before the cosine decay."""
    history: int = attrs.field(default=1, validator=v.ge(1))
    """Past states the model reads."""
    grad_clip: float | None = attrs.field(default=1.0, validator=v.optional(v.gt(0)))
    """Clip the global gradient norm (``null``: no clipping)."""
    tbptt: TBPTTConfig = attrs.Factory(TBPTTConfig)
    """Windowing of the rollout."""
    val_fraction: float = attrs.field(default=0.125, validator=[v.gt(0), v.lt(1)])
    """Fraction of samples (not realizations) held out for validation."""
    save_every: int = attrs.field(default=0, validator=v.ge(0))
    """Also checkpoint every N optimizer steps (0: at the end of each epoch only)."""
    checkpoint_minutes: float = attrs.field(default=5.0, validator=v.ge(0))
    """Also checkpoint (resumably) after an optimizer step once this much wall time has passed
    since the last checkpoint, so an interrupted run loses at most that much (0: off)."""
    keep: int = attrs.field(default=3, validator=v.ge(1))
    """Step checkpoints kept (the newest); epoch, best and final checkpoints are always kept."""
    data: Literal["stored", "online"] = "stored"
    """``stored``: targets read from the dataset; ``online``: re-simulated on the device from the samples' seeds."""
    loss: dict[str, float] = attrs.Factory(lambda: {"traj": 1.0})
    """Loss name (``spinlock.losses``) -> weight; each loss's options live in ``loss.<name>``."""
    latent_sample_steps: int | None = attrs.field(default=None, validator=v.optional(v.ge(2)))
    """Steps of each window the VQ losses (``commit``, ``latent``) compute features from (``null``: all)."""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """``bf16``: autocast on CUDA (FFTs stay fp32); ``auto``: bf16 on CUDA, fp32 elsewhere."""
    compile: bool = False
    """``torch.compile`` the backbone's step (pays off on long runs on a GPU)."""
    noise_std: float = attrs.field(default=0.0, validator=v.ge(0))
    """Gaussian noise added to the state at each window start in training (rollout stability)."""
    max_nonfinite_fraction: float = attrs.field(default=0.05, validator=[v.ge(0), v.le(1)])
    """Optimizer steps with a NaN/Inf loss or gradient are skipped; above this fraction the run aborts."""
    eval_figures: int = attrs.field(default=3, validator=v.ge(0))
    """Validation trajectories drawn as predicted-vs-true PNGs at the end of training."""


@attrs.frozen(kw_only=True)
class ValidateConfig:
    """The ``validate`` stage: the trained MNO against the operator on θ it never saw."""

    n_samples: int = attrs.field(default=8, validator=v.ge(1))
    """Fresh θ drawn (scrambled Sobol; a power of two keeps the points balanced)."""
    batch_size: int = attrs.field(default=8, validator=v.ge(1))
    """Samples simulated and rolled out together on the device."""
    seed_offset: int = attrs.field(default=0, validator=v.ge(0))
    """Selects another independent draw: the seed is ``sample_seed(seed, seed_offset, "validate")``,
    a stream of its own, so no offset repeats the dataset's θ, ICs or operators."""
    checkpoint: Literal["model", "best_model"] = "model"
    """Which ``mno/<checkpoint>.pt`` to validate: the final weights or the best validation epoch's."""
    worst_features: int = attrs.field(default=6, validator=v.ge(0))
    """Feature columns drawn as distribution overlays (the largest KS statistics)."""
    figure_samples: int = attrs.field(default=3, validator=v.ge(0))
    """Samples drawn as predicted-vs-true frames."""
