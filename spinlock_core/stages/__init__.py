"""The core's own stages, registered through ``spinlock.stages`` entry points like any plugin's.

This module is light (specs and config classes only); implementations import on use.
"""

from __future__ import annotations

from ..specs import StageSpec
from .config import ExtractConfig, GenerateConfig, MNOConfig, ValidateConfig

__all__ = [
    "GENERATE",
    "FEATURES",
    "TOKENIZER",
    "MNO",
    "VALIDATE",
    "GenerateConfig",
    "ExtractConfig",
    "MNOConfig",
    "ValidateConfig",
]

GENERATE = StageSpec(
    name="generate",
    summary="Sample θ (scrambled Sobol), draw ICs, roll the operator family out, store an HDF5 dataset.",
    implementation="spinlock_core.stages.generate:run",
    outputs=("dataset/manifest.json",),
    config_keys=("seed", "domain", "operator", "generate", "features", "feature"),
    config_section="generate",
    config_class=GenerateConfig,
)

FEATURES = StageSpec(
    name="features",
    summary="Named feature tables (one per enabled family) from the dataset, with their column manifests.",
    implementation="spinlock_core.stages.features:run",
    requires=("generate",),
    outputs=("features/features.h5",),
    config_keys=("features", "feature"),
    config_section="extract",
    config_class=ExtractConfig,
)

TOKENIZER = StageSpec(
    name="tokenizer",
    summary="Fit the selected tokenizer (tokenizer=NAME) on the run's per-sample feature tables.",
    implementation="spinlock_core.stages.tokenizer:run",
    requires=("features",),
    outputs=("tokenizer/model.pt",),
    config_keys=("tokenizer", "features", "feature"),
)

MNO = StageSpec(
    name="mno",
    summary="Train the selected backbone (backbone=NAME) on the stored trajectories with truncated BPTT.",
    implementation="spinlock_core.stages.mno:run",
    requires=("generate",),
    outputs=("mno/model.pt",),
    config_keys=("seed", "mno", "backbone"),
    config_section="mno",
    config_class=MNOConfig,
)

VALIDATE = StageSpec(
    name="validate",
    summary="The trained MNO vs the operator on fresh θ: rollout error, feature distributions, token usage.",
    implementation="spinlock_core.stages.validate:run",
    requires=("mno", "tokenizer"),
    outputs=("validate/report.json",),
    config_keys=("seed", "validate", "features", "feature"),
    config_section="validate",
    config_class=ValidateConfig,
)
