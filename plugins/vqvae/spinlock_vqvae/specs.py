"""Entry-point targets of the categorical VQ-VAE tokenizer (light: no torch import)."""

from __future__ import annotations

from spinlock_core.api import ComponentSpec

from .config import CategoricalVQVAEConfig

__all__ = ["CATEGORICAL_VQVAE"]

CATEGORICAL_VQVAE = ComponentSpec(
    name="categorical_vqvae",
    summary="Categories discovered from feature correlations, each quantized coarse -> fine (residual VQ).",
    implementation="spinlock_vqvae.tokenizer:CategoricalVQVAE",
    config_class=CategoricalVQVAEConfig,
    extras={"dashboards": "spinlock_vqvae.dashboards:write_dashboards"},
)
