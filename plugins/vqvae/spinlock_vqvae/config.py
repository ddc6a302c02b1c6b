"""The configuration of the ``categorical_vqvae`` tokenizer.

One frozen, keyword-only attrs class with simple YAML-able field types. Every bad value raises
:class:`spinlock_core.errors.ConfigError` naming the field, the value and what is valid, so a
typo in ``tokenizer.levels=0`` fails before any data is read.
"""

from __future__ import annotations

from typing import Any

import attrs

from spinlock_core.api import ConfigError

__all__ = ["CategoricalVQVAEConfig"]


def _positive_int(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"tokenizer.{attribute.name} must be an integer >= 1, got {value!r}")


def _nonneg_int(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"tokenizer.{attribute.name} must be an integer >= 0, got {value!r}")


def _nonneg_float(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"tokenizer.{attribute.name} must be a number >= 0, got {value!r}")


def _positive_float(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"tokenizer.{attribute.name} must be a number > 0, got {value!r}")


def _open_unit(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"tokenizer.{attribute.name} must lie strictly between 0 and 1, got {value!r}")


def _opt_str_tuple(value):
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _codebook_size(instance, attribute, value):
    if value is None:
        return
    sizes = value if isinstance(value, tuple) else (value,)
    for k in sizes:
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ConfigError(
                f"tokenizer.codebook_size must be null, an integer >= 2 or a list of them (one per level), "
                f"got {value!r}"
            )


def _codebook_converter(value):
    return tuple(value) if isinstance(value, list) else value


def _categories_converter(value):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"tokenizer.categories must be a mapping name -> list of columns, got {value!r}")
    return {str(k): tuple(v) if not isinstance(v, str) else (v,) for k, v in value.items()}


@attrs.frozen(kw_only=True)
class CategoricalVQVAEConfig:
    """Everything that shapes preprocessing, category discovery, the model and its training."""

    epochs: int = attrs.field(default=200, validator=_positive_int)
    """Maximum number of training epochs (early stopping may end sooner)."""
    batch_size: int = attrs.field(default=256, validator=_positive_int)
    """Samples per optimizer step; validation uses the same size."""
    levels: int = attrs.field(default=3, validator=_positive_int)
    """Residual quantization levels per category: level l quantizes what levels < l left (coarse -> fine)."""
    codebook_size: int | tuple[int, ...] | None = attrs.field(
        default=None, converter=_codebook_converter, validator=_codebook_size
    )
    """Codes per level: null scales with category size (8 to 64) capped at training rows / 8, an int, or one per level."""
    latent_dim: int | None = attrs.field(default=None)
    """Width of each category latent; null = clamp(category size, 4, 32)."""
    hidden_dim: int = attrs.field(default=128, validator=_positive_int)
    """Width of the hidden layers of each category's encoder and decoder MLP."""
    commitment: float = attrs.field(default=0.25, validator=_nonneg_float)
    """β of the encoder-side commitment loss ||r_l - sg(q_l)||^2 (the codebooks move by EMA only)."""
    lr: float = attrs.field(default=1e-3, validator=_positive_float)
    """Peak AdamW learning rate (after warmup)."""
    weight_decay: float = attrs.field(default=1e-4, validator=_nonneg_float)
    """AdamW decoupled weight decay of encoder/decoder weights."""
    warmup_epochs: int = attrs.field(default=5, validator=_nonneg_int)
    """Epochs of linear learning-rate warmup before the cosine decay."""
    min_lr_ratio: float = attrs.field(default=0.01, validator=_nonneg_float)
    """Final learning rate of the cosine schedule, as a fraction of ``lr``."""
    grad_clip: float = attrs.field(default=1.0, validator=_nonneg_float)
    """Gradient-norm clip (0 = off)."""
    patience: int = attrs.field(default=30, validator=_positive_int)
    """Early stopping: epochs without a validation-MSE improvement of ``min_delta`` before stopping."""
    min_delta: float = attrs.field(default=1e-5, validator=_nonneg_float)
    """Smallest decrease of validation reconstruction MSE that counts as an improvement."""
    val_fraction: float = attrs.field(default=0.15, validator=_open_unit)
    """Fraction of operators held out (seeded) for validation: early stopping and best-epoch choice only."""
    test_fraction: float = attrs.field(default=0.15, validator=_open_unit)
    """Fraction of operators held out (seeded) for testing: only the reported final metrics see them."""
    families: tuple[str, ...] | None = attrs.field(default=None, converter=_opt_str_tuple)
    """Column families to use (prefix before '/', e.g. summary, initial); null = all."""
    include_columns: tuple[str, ...] | None = attrs.field(default=None, converter=_opt_str_tuple)
    """Glob patterns of column names to keep (after ``families``); null = all."""
    exclude_columns: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    """Glob patterns of column names to drop."""
    categories: dict[str, tuple[str, ...]] | None = attrs.field(default=None, converter=_categories_converter)
    """Pinned category map name -> columns; kept columns left out join their best-correlated category."""
    max_categories: int | None = attrs.field(default=None)
    """Largest number of discovered categories tried by the silhouette search; null = min(32, D // min size)."""
    min_category_size: int = attrs.field(default=2, validator=_positive_int)
    """Categories smaller than this are dissolved and their columns reassigned (orphan reassignment)."""
    duplicate_threshold: float = attrs.field(default=0.99, validator=_open_unit)
    """Columns with |Spearman r| above this to an earlier kept column are dropped as near-duplicates."""
    constant_tolerance: float = attrs.field(default=1e-8, validator=_nonneg_float)
    """A column whose training std is at most this times max(1, |median|) is dropped as near-constant."""
    clip: float = attrs.field(default=10.0, validator=_positive_float)
    """Robust-scaled values are clipped to [-clip, clip] so rare outliers cannot dominate the MSE."""
    correlation_rows: int = attrs.field(default=4096, validator=_positive_int)
    """Training rows (seeded subsample) used for the duplicate check and category discovery."""
    ema_decay: float = attrs.field(default=0.99, validator=_open_unit)
    """Decay of the EMA codebook statistics (cluster size and embedding sum)."""
    restart_window: int = attrs.field(default=100, validator=_positive_int)
    """A code unused for this many consecutive training steps is restarted from current encoder outputs."""
    kmeans_init_batches: int = attrs.field(default=4, validator=_positive_int)
    """Batches of the first epoch whose encoder outputs initialize the codebooks by k-means."""
    independence_weight: float = attrs.field(default=0.0, validator=_nonneg_float)
    """Weight of the squared cross-correlation penalty between category latents (0 = off)."""
    topo_samples: int = attrs.field(default=512, validator=_positive_int)
    """Validation rows used for topographic similarity."""
    seed: int = attrs.field(default=0, validator=_nonneg_int)
    """Seed of every random draw (split, init, shuffling, k-means, restarts)."""
    device: str = attrs.field(default="auto")
    """"auto" (CUDA when available), "cpu" or "cuda"; bf16 autocast is used on CUDA only."""

    def __attrs_post_init__(self):
        for name in ("latent_dim", "max_categories"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"tokenizer.{name} must be null or an integer >= 1, got {value!r}")
        if isinstance(self.codebook_size, tuple) and len(self.codebook_size) != self.levels:
            raise ConfigError(
                f"tokenizer.codebook_size lists {len(self.codebook_size)} sizes but tokenizer.levels is "
                f"{self.levels}; give one size per level or a single integer"
            )
        for name in ("val_fraction", "test_fraction"):
            if getattr(self, name) > 0.5:
                raise ConfigError(f"tokenizer.{name} must be <= 0.5, got {getattr(self, name)}")
        if self.val_fraction + self.test_fraction > 0.8:
            raise ConfigError(
                f"tokenizer.val_fraction + tokenizer.test_fraction must leave at least 20% of the rows for "
                f"training, got {self.val_fraction} + {self.test_fraction}"
            )
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"tokenizer.device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if self.categories is not None:
            seen: dict[str, str] = {}
            for cat, cols in self.categories.items():
                if not cols:
                    raise ConfigError(f"tokenizer.categories.{cat} is empty; list at least one column")
                for col in cols:
                    if col in seen:
                        raise ConfigError(
                            f"tokenizer.categories: column {col!r} is pinned to both {seen[col]!r} and {cat!r}"
                        )
                    seen[col] = cat

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists, not tuples) for YAML, JSON and checkpoints."""

        def plain(v):
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v

        return {f.name: plain(getattr(self, f.name)) for f in attrs.fields(type(self))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalVQVAEConfig:
        """Build from a plain dict; unknown keys are an error naming the valid ones."""
        names = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"tokenizer: unknown key(s) {unknown}; valid keys: {sorted(names)}")
        return cls(**data)
