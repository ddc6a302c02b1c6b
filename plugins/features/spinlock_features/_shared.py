"""Per-state statistics computed once per batch and read by both SUMMARY and TEMPORAL.

SUMMARY computes :func:`~._timestep.state_table` (with the low-pass scale columns) and
:func:`~._stats.cross_channel_stats` of every state; TEMPORAL needs the same statistics without
the scale columns (a prefix of them, see :func:`~._timestep.state_names`) on every ``stride``-th
state. :func:`state_stats` stores SUMMARY's tables in ``FeatureBatch.shared``, keyed by the
options that shape them, and :func:`cached_state_stats` hands them to TEMPORAL when its options
agree.

Sharing keeps both outputs bitwise those of each family alone only where TEMPORAL would have
made the very same calls: ``stride`` 1 (the default) and the same ``chunk_states``. An
element's value is not independent of its position on a CPU (a vectorised ``pow`` or ``log``
rounds differently from the scalar loop that handles a tensor's tail), so the same state in a
chunk of another composition can differ in the last bit; with stride > 1 or other chunks
TEMPORAL therefore computes its own statistics.
"""

from __future__ import annotations

from typing import Any

import torch

from spinlock_core.api import FeatureBatch, Grid

from ._spectral import SpectralOps
from ._stats import cross_channel_stats
from ._timestep import iter_chunks, state_table

__all__ = ["StateStats", "state_stats", "cached_state_stats"]


class StateStats:
    """Statistics of all states ``[B * M * T, ...]`` of one batch's trajectories.

    ``table [N, C, K]`` (columns ``state_names(n_bands, scales=True)``), ``cross [N, 4]``
    (``CROSS_NAMES``), ``bad [B]`` (samples that held a non-finite value and were computed as
    zeros) and ``shape`` (``B, M, T``).
    """

    def __init__(self, source: Any, table: torch.Tensor, cross: torch.Tensor, bad: torch.Tensor, shape):
        self.source = source
        self.version = getattr(source, "_version", None)
        self.table, self.cross, self.bad, self.shape = table, cross, bad, tuple(shape)

    def fresh(self, batch: FeatureBatch) -> bool:
        """Whether these were computed from the batch's trajectories as they are now."""
        traj = batch.trajectories
        return traj is self.source and getattr(traj, "_version", None) == self.version


def _key(band_edges, hist_bins: int, mi_bins: int, chunk_states: int) -> tuple:
    return ("spinlock_features.state_stats", band_edges, int(hist_bins), int(mi_bins), int(chunk_states))


def _cache(batch: FeatureBatch) -> dict | None:
    cache = getattr(batch, "shared", None)  # a FeatureBatch built before the field existed
    return cache if isinstance(cache, dict) else None


def state_stats(
    batch: FeatureBatch,
    u: torch.Tensor,
    bad: torch.Tensor,
    grid: Grid,
    ops: SpectralOps,
    band_edges,
    hist_bins: int,
    mi_bins: int,
    cutoff: float,
    chunk_states: int,
) -> StateStats:
    """Statistics of every state of ``u [B, M, T, C, H, W]`` (the batch's trajectories as float32,
    non-finite samples zeroed: ``bad``), computed in chunks of ``chunk_states`` and stored in
    ``batch.shared`` for :func:`cached_state_stats`."""
    b, m, t_len, c, h, w = u.shape
    states = u.reshape(b * m * t_len, c, h, w)
    chunks = list(iter_chunks(states.shape[0], chunk_states))
    table = torch.cat([state_table(states[s], grid, ops, hist_bins, cutoff) for s in chunks])
    cross = torch.cat([cross_channel_stats(states[s], mi_bins) for s in chunks])
    stats = StateStats(batch.trajectories, table, cross, bad, (b, m, t_len))
    cache = _cache(batch)
    if cache is not None:
        cache[_key(band_edges, hist_bins, mi_bins, chunk_states)] = stats
    return stats


def cached_state_stats(
    batch: FeatureBatch, bad: torch.Tensor, band_edges, hist_bins: int, mi_bins: int, chunk_states: int
) -> StateStats | None:
    """The batch's stored :class:`StateStats` of every state for these options, or ``None``.

    Also ``None`` when the trajectories changed since, or when the stored ones zeroed other
    samples than ``bad [B]`` (the reader's own :func:`~._stats.finite_samples`).
    """
    cache = _cache(batch)
    stats = None if cache is None else cache.get(_key(band_edges, hist_bins, mi_bins, chunk_states))
    if stats is None or not stats.fresh(batch) or not torch.equal(stats.bad, bad):
        return None
    return stats
