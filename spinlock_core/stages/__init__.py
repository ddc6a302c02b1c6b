"""The core's own stages, registered through ``spinlock.stages`` entry points like any plugin's.

This module is light (specs and config classes only); implementations import on use.
"""

from __future__ import annotations

from ..specs import PluginSections, StageSpec
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
    # not features/feature: inline extraction is an optimisation, not the dataset's identity
    # (the features stage reuses an inline table only where its recorded options match)
    config_keys=("seed", "domain", "operator", "generate"),
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
    # adding families keeps the tables there and extracts the new ones: an update, not a re-make
    updates_when="spinlock_core.stages:features_added",
    config_section="extract",
    config_class=ExtractConfig,
    plugin_sections=(
        PluginSections(
            kind="features",
            enabled_by="features",
            prefix="feature",
            label="feature family",
            enable_hint="features=[...,{name}]",
        ),
    ),
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
    implementation="spinlock_core.mno.train:run",
    requires=("generate",),
    requires_when="spinlock_core.stages:mno_reads",
    outputs=("mno/model.pt",),
    config_keys=("seed", "mno", "backbone", "loss"),
    config_section="mno",
    config_class=MNOConfig,
    plugin_sections=(
        PluginSections(
            kind="losses",
            enabled_by="mno.loss",
            prefix="loss",
            label="loss",
            enable_hint="mno.loss.{name}=WEIGHT",
        ),
    ),
)

VALIDATE = StageSpec(
    name="validate",
    summary="The trained MNO vs the operator on fresh θ: rollout error, feature distributions, token usage.",
    implementation="spinlock_core.mno.validate:run",
    requires=("mno", "tokenizer"),
    outputs=("validate/report.json",),
    config_keys=("seed", "validate", "features", "feature"),
    config_section="validate",
    config_class=ValidateConfig,
)


def mno_reads(config) -> tuple[str, ...]:
    """The stages the ``mno`` stage also reads under ``config``: ``tokenizer`` when a loss of
    non-zero weight declares ``extras={"reads": ("tokenizer",)}`` (the VQ losses), so the
    tokenizer runs first and its fingerprint is part of the MNO's."""
    from .. import registry

    reads: list[str] = []
    for name, weight in (config.get("mno.loss") or {}).items():
        if not weight or name not in registry.available("losses"):
            continue  # an unknown loss is reported when the stage builds its losses
        for stage in registry.load("losses", name).extras.get("reads", ()):
            if stage not in reads:
                reads.append(stage)
    return tuple(reads)


def features_added(old: dict, new: dict) -> bool:
    """Whether the ``features`` stage's config changed from ``old`` to ``new`` (each ``{"features":
    [...], "feature": {...}}``) only by adding families: every old family is still enabled with
    the same options, so its table is kept and only the added families are extracted."""
    before, after = old.get("features") or [], new.get("features") or []
    if not set(before) <= set(after):
        return False  # a family removed: its table would go, a re-make
    options_before, options_after = old.get("feature") or {}, new.get("feature") or {}
    if any(options_before.get(name) != options_after.get(name) for name in before):
        return False  # an old family's options changed: its table would change
    others = {k for k in old.keys() | new.keys() if k not in ("features", "feature")}
    return all(old.get(k) == new.get(k) for k in others)
