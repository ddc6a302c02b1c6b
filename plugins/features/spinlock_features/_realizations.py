"""Reductions over realizations and time shared by SUMMARY and TEMPORAL."""

from __future__ import annotations

import math

import torch

__all__ = ["AGGREGATES", "check_aggregates", "aggregate", "time_axis", "masked_slope"]

#: Statistics over the M realizations of a sample that a config may list.
from .config import AGGREGATES, check_aggregates


def aggregate(x: torch.Tensor, names: tuple[str, ...], dim: int = 1) -> torch.Tensor:
    """Stack the statistics ``names`` over axis ``dim`` on a new last axis.

    ``std`` is the sample standard deviation (NaN for a single realization: the spread is
    unknown, not zero). NaNs propagate: a statistic of an undefined value is undefined.
    """
    m = x.shape[dim]
    out = []
    for name in names:
        if name == "mean":
            out.append(x.mean(dim))
        elif name == "std":
            if m < 2:
                out.append(torch.full_like(x.select(dim, 0), math.nan))
            else:
                out.append(x.std(dim, correction=1))
        elif name == "min":
            out.append(x.amin(dim))
        elif name == "max":
            out.append(x.amax(dim))
        elif name == "median":
            # torch.median ignores NaN ordering rules; keep NaN if any realization is NaN
            med = x.median(dim).values
            out.append(torch.where(torch.isnan(x).any(dim), torch.full_like(med, math.nan), med))
    return torch.stack(out, -1)


def time_axis(time, n: int, dt: float, device) -> torch.Tensor:
    """Physical times ``[T]`` (float64 on ``device``); ``arange(T) * dt`` when not given."""
    if time is None:
        return torch.arange(n, device=device, dtype=torch.float64) * dt
    t = torch.as_tensor(time, dtype=torch.float64).to(device).reshape(-1)
    if t.numel() != n:
        raise ValueError(f"time has {t.numel()} entries for {n} states")
    return t


def masked_slope(y: torch.Tensor, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Least-squares slope of ``y [..., T]`` vs ``t [T]`` over the points where ``mask``;
    NaN with fewer than two points."""
    w = mask.to(y.dtype)
    y = torch.where(mask, y, torch.zeros_like(y))
    n = w.sum(-1)
    safe_n = n.clamp_min(1)
    tm = (w * t).sum(-1) / safe_n
    ym = (w * y).sum(-1) / safe_n
    tt = t - tm.unsqueeze(-1)
    den = (w * tt.square()).sum(-1)
    slope = (w * tt * (y - ym.unsqueeze(-1))).sum(-1) / torch.where(den > 0, den, torch.ones_like(den))
    return torch.where((n >= 2) & (den > 0), slope, torch.full_like(slope, math.nan))
