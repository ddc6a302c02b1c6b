"""ARCHITECTURE: the operator's parameters θ as features, generic over any ParameterSpace.

Column order follows the parameter space: a continuous parameter gives ``{name}`` (or
``log10_{name}`` when it is sampled log-uniform), an integer ``{name}``, a boolean ``{name}``
as 0/1, a categorical one column ``{name}=={choice}`` per choice (one-hot). The domain-derived
columns (``Operator.derived_columns``: parameter count, FLOPs, distance to a regime...) follow,
as ``derived__{name}`` in the order listed in :attr:`ArchitectureConfig.derived`.

Why a config list for the derived columns: the manifest must be declared from the domain
description before running, and ``DomainInfo`` does not carry the names an operator will
derive. The domain's default config lists them; an undeclared derived key in a batch is an
error (``strict``), never silently dropped.
"""

from __future__ import annotations

import numpy as np
import torch

from spinlock_core.api import Column, DomainInfo, FeatureBatch, FeatureFamily, PluginError

from ._manifest import check_unique
from .config import ArchitectureConfig

__all__ = ["ArchitectureConfig", "ArchitectureFeatures"]


class ArchitectureFeatures(FeatureFamily):
    """Decoded θ as numeric columns, plus the operator's derived columns."""

    name = "architecture"
    scope = "sample"
    needs_trajectories = False
    Config = ArchitectureConfig

    def __init__(self, config: ArchitectureConfig | None = None):
        self.config = config or ArchitectureConfig()

    def _derived(self, domain: DomainInfo) -> tuple[str, ...]:
        """The derived columns: ``config.derived`` if set, else those the operator declares."""
        return tuple(self.config.derived) or tuple(getattr(domain, "derived", ()))

    def columns(self, domain: DomainInfo) -> list[Column]:
        cols = []
        for p in domain.parameter_space.params if domain.parameter_space is not None else ():
            doc = p.doc or p.name
            if p.kind == "continuous":
                if p.log:
                    cols.append(Column(name=f"log10_{p.name}", unit="log10", doc=f"log10 of {doc}"))
                else:
                    cols.append(Column(name=p.name, doc=doc))
            elif p.kind == "integer":
                cols.append(Column(name=p.name, unit="count", doc=doc))
            elif p.kind == "boolean":
                cols.append(Column(name=p.name, unit="0/1", doc=f"{doc} (1 = true)"))
            elif p.kind == "categorical":
                for choice in p.choices:
                    cols.append(Column(name=f"{p.name}=={choice}", unit="0/1", doc=f"{doc} is {choice!r}"))
            else:  # pragma: no cover - a new parameter kind must be handled here
                raise PluginError(f"architecture features: unsupported parameter kind {p.kind!r}")
        for d in self._derived(domain):
            cols.append(
                Column(
                    name=f"derived__{d}",
                    unit=self.config.derived_units.get(d, ""),
                    doc=f"domain-derived value {d!r} (Operator.derived_columns)",
                )
            )
        return check_unique(self.name, cols)

    def extract(self, batch: FeatureBatch) -> torch.Tensor:
        space = batch.domain.parameter_space
        parts = []
        for p in space.params if space is not None else ():
            if p.name not in batch.theta:
                raise PluginError(f"architecture features: θ of the batch lacks parameter {p.name!r}")
            v = np.asarray(batch.theta[p.name])
            if p.kind == "continuous":
                v = v.astype(np.float64)
                parts.append((np.log10(v) if p.log else v)[:, None])
            elif p.kind in ("integer", "boolean"):
                parts.append(v.astype(np.float64)[:, None])
            else:
                idx = v.astype(np.int64)
                if idx.size and (idx.min() < 0 or idx.max() >= len(p.choices)):
                    raise PluginError(f"architecture features: choice index out of range for {p.name!r}")
                parts.append(np.eye(len(p.choices))[idx])
        derived = dict(batch.derived or {})
        names = self._derived(batch.domain)
        missing = [d for d in names if d not in derived]
        if missing:
            raise PluginError(
                f"architecture features: derived columns {missing} are declared in architecture.derived "
                f"but the operator gave only {sorted(derived)}"
            )
        extra = sorted(set(derived) - set(names))
        if extra and self.config.strict:
            raise PluginError(
                f"architecture features: the operator derives {extra}, not declared in "
                f"architecture.derived={list(self.config.derived)}; list them there (or set strict=false)"
            )
        for d in names:
            parts.append(np.asarray(derived[d], dtype=np.float64).reshape(-1, 1))
        device = torch.as_tensor(batch.u0).device if batch.u0 is not None else torch.device("cpu")
        n = len(np.asarray(next(iter(batch.theta.values())))) if batch.theta else 0
        if batch.u0 is not None:
            n = torch.as_tensor(batch.u0).shape[0]
        table = np.concatenate(parts, 1) if parts else np.zeros((n, 0))
        return torch.as_tensor(table, dtype=torch.float32, device=device)
