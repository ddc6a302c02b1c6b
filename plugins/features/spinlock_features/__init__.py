"""spinlock's shipped feature families: INITIAL, ARCHITECTURE, SUMMARY and TEMPORAL.

Each family lives in its own module with its config class; importing this package stays light
(the families import torch on first use). :func:`check_output` and :func:`nan_counts` are the
manifest and NaN-policy helpers the feature stage uses for every family.
"""

from __future__ import annotations

import importlib

__all__ = [
    "ArchitectureConfig",
    "ArchitectureFeatures",
    "InitialConfig",
    "InitialFeatures",
    "SummaryConfig",
    "SummaryFeatures",
    "TemporalConfig",
    "TemporalFeatures",
    "FAMILIES",
    "check_output",
    "nan_counts",
]

_WHERE = {
    "ArchitectureConfig": "architecture",
    "ArchitectureFeatures": "architecture",
    "InitialConfig": "initial",
    "InitialFeatures": "initial",
    "SummaryConfig": "summary",
    "SummaryFeatures": "summary",
    "TemporalConfig": "temporal",
    "TemporalFeatures": "temporal",
    "check_output": "_manifest",
    "nan_counts": "_manifest",
}

#: Entry-point name -> ``module:Class`` of each family (for ``spinlock.features``).
FAMILIES = {
    "initial": "spinlock_features.initial:InitialFeatures",
    "architecture": "spinlock_features.architecture:ArchitectureFeatures",
    "summary": "spinlock_features.summary:SummaryFeatures",
    "temporal": "spinlock_features.temporal:TemporalFeatures",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
