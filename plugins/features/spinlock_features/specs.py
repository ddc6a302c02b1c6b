"""Entry-point targets of the shipped feature families (light: no torch import)."""

from __future__ import annotations

from spinlock_core.api import ComponentSpec

from .config import ArchitectureConfig, InitialConfig, SummaryConfig, TemporalConfig

__all__ = ["INITIAL", "ARCHITECTURE", "SUMMARY", "TEMPORAL"]

INITIAL = ComponentSpec(
    name="initial",
    summary="From the IC: amplitude, spectrum, entropy, correlation length, morphology, symmetry.",
    implementation="spinlock_features.initial:InitialFeatures",
    config_class=InitialConfig,
)
ARCHITECTURE = ComponentSpec(
    name="architecture",
    summary="From θ: numeric values (log where sampled log), one-hot choices, operator-derived columns.",
    implementation="spinlock_features.architecture:ArchitectureFeatures",
    config_class=ArchitectureConfig,
)
SUMMARY = ComponentSpec(
    name="summary",
    summary="Per trajectory, aggregated over realizations: spatial, spectral, temporal, drift, ensemble.",
    implementation="spinlock_features.summary:SummaryFeatures",
    config_class=SummaryConfig,
)
TEMPORAL = ComponentSpec(
    name="temporal",
    summary="Per-timestep curves [N, T', D]: spatial, spectral, cross-channel; mean and spread.",
    implementation="spinlock_features.temporal:TemporalFeatures",
    config_class=TemporalConfig,
)
