"""Manifest checks and the NaN policy shared by every family.

A family declares its columns before running; :func:`check_output` holds the produced tensor
to that declaration, so a column can never be silently dropped, added or reordered.
Undefined values are NaN (never zero); :func:`nan_counts` counts them per column for the
table's metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spinlock_core.api import Column, DomainInfo, FeatureFamily, PluginError

__all__ = ["check_output", "nan_counts", "check_unique"]


def check_unique(family_name: str, columns: Sequence[Column]) -> list[Column]:
    """Raise if two declared columns share a name (they are addressed by name)."""
    names = [c.name for c in columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PluginError(f"feature family {family_name!r} declares duplicate columns: {dupes}")
    return list(columns)


def check_output(
    family: FeatureFamily,
    domain: DomainInfo,
    tensor: torch.Tensor,
    batch_size: int | None = None,
    columns: Sequence[Column] | None = None,
) -> list[Column]:
    """Check ``tensor`` against the manifest ``family.columns(domain)``; return the columns.

    ``sample`` scope needs ``[B, D]``, ``timestep`` scope ``[B, T', D]``, with ``D`` the number
    of declared columns and dtype float32. Pass ``columns`` to skip re-declaring them.
    """
    cols = list(family.columns(domain) if columns is None else columns)
    where = f"feature family {family.name!r} on domain {domain.name!r}"
    if not isinstance(tensor, torch.Tensor):
        raise PluginError(f"{where}: extract returned {type(tensor).__name__}, expected a torch.Tensor")
    ndim = 3 if family.scope == "timestep" else 2
    if tensor.ndim != ndim:
        layout = "[B, T', D]" if ndim == 3 else "[B, D]"
        raise PluginError(f"{where}: scope {family.scope!r} needs {layout}, got shape {list(tensor.shape)}")
    if tensor.shape[-1] != len(cols):
        raise PluginError(
            f"{where}: output has {tensor.shape[-1]} columns, the manifest declares {len(cols)} "
            f"({[c.name for c in cols[:5]]}...); extract and columns() disagree"
        )
    if batch_size is not None and tensor.shape[0] != batch_size:
        raise PluginError(f"{where}: output has {tensor.shape[0]} rows for a batch of {batch_size}")
    if tensor.dtype != torch.float32:
        raise PluginError(f"{where}: output dtype {tensor.dtype}, expected torch.float32")
    return cols


def nan_counts(tensor: torch.Tensor, columns: Sequence[Column] | None = None):
    """NaN count per column (last dim) as int64 ``[D]``; a ``{name: count}`` dict if ``columns``."""
    counts = torch.isnan(tensor).reshape(-1, tensor.shape[-1]).sum(0).cpu()
    if columns is None:
        return counts
    if len(columns) != counts.numel():
        raise ValueError(f"{len(columns)} columns for a tensor with {counts.numel()}")
    return {c.name: int(n) for c, n in zip(columns, counts, strict=True)}
