"""Distances between what the MNO makes and what the operator makes (numpy/scipy, no torch).

* :func:`jensen_shannon` – divergence of two histograms, in **bits** (log base 2), so it lies in
  ``[0, 1]``: 0 for identical distributions, 1 for disjoint supports.
* :func:`codebook_usage` – per codebook (token position), the JSD between the token histograms
  of the two tables, and the paired agreement (same (θ, u0) -> same token).
* :func:`feature_distances` – per feature column, the two-sample Kolmogorov-Smirnov statistic
  (scipy's ``ks_2samp``) and the 1-D Wasserstein-1 distance (scipy's ``wasserstein_distance``),
  raw and divided by the ground truth's standard deviation so columns of different units rank
  together. NaNs are dropped per side and counted.
* :func:`reconstruction` – mean squared error of a tokenizer's reconstruction in its scaled space.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["jensen_shannon", "codebook_usage", "feature_distances", "reconstruction", "finite_or_none"]


def jensen_shannon(p, q) -> float:
    """Jensen-Shannon divergence in bits between two histograms (counts or probabilities).

    ``JS(P, Q) = KL(P || M) / 2 + KL(Q || M) / 2`` with ``M = (P + Q) / 2`` and ``0 log 0 = 0``;
    symmetric, in ``[0, 1]``: the square of scipy's ``jensenshannon`` (a distance) in base 2.
    """
    from scipy.spatial.distance import jensenshannon

    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise ValueError(f"histograms must be 1-D of one length, got {p.shape} and {q.shape}")
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("histograms must be non-negative with a positive total")
    return min(1.0, max(0.0, float(jensenshannon(p, q, base=2)) ** 2))


def codebook_usage(truth: np.ndarray, model: np.ndarray, sizes=None, names=None) -> list[dict]:
    """Per token position of ``[N, K]`` token tables: histogram JSD (bits) and paired agreement.

    ``sizes[k]`` is codebook ``k``'s number of codes (default: the largest id seen + 1);
    ``names[k]`` its name. Rows must be paired (row ``i`` of both from the same θ and u0).
    """
    truth, model = np.asarray(truth, dtype=np.int64), np.asarray(model, dtype=np.int64)
    if truth.shape != model.shape or truth.ndim != 2:
        raise ValueError(f"token tables must be [N, K] of one shape, got {truth.shape} and {model.shape}")
    out = []
    for k in range(truth.shape[1]):
        size = int(sizes[k]) if sizes is not None else int(max(truth[:, k].max(), model[:, k].max())) + 1
        h_t = np.bincount(truth[:, k], minlength=size)
        h_m = np.bincount(model[:, k], minlength=size)
        out.append(
            {
                "name": names[k] if names is not None else f"t{k}",
                "size": size,
                "jsd_bits": jensen_shannon(h_t, h_m),
                "agreement": float(np.mean(truth[:, k] == model[:, k])),
                "codes_used_truth": int((h_t > 0).sum()),
                "codes_used_model": int((h_m > 0).sum()),
            }
        )
    return out


def _column_distance(x: np.ndarray, y: np.ndarray) -> dict:
    from scipy.stats import ks_2samp, wasserstein_distance

    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    row = {"n_truth": int(x.size), "n_model": int(y.size)}
    if not x.size or not y.size:
        return row | {"ks": None, "ks_pvalue": None, "wasserstein": None, "wasserstein_scaled": None}
    ks = ks_2samp(x, y)
    w1 = float(wasserstein_distance(x, y))
    spread = float(np.std(x))
    if spread > 0:
        scaled = w1 / spread
    else:  # a constant ground truth: scale by its magnitude instead (0 stays 0)
        scaled = w1 / max(abs(float(x[0])), 1e-12) if w1 > 0 else 0.0
    return row | {
        "ks": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "wasserstein": w1,
        "wasserstein_scaled": float(scaled),
    }


def feature_distances(truth: np.ndarray, model: np.ndarray, columns: list[str]) -> list[dict]:
    """Per column of ``[N, D]`` (or ``[N, T, D]``, pooled over time) tables: KS and Wasserstein-1."""
    truth, model = np.asarray(truth, dtype=np.float64), np.asarray(model, dtype=np.float64)
    if truth.shape[-1] != len(columns) or model.shape[-1] != len(columns):
        raise ValueError(f"tables have {truth.shape[-1]} / {model.shape[-1]} columns, names {len(columns)}")
    t, m = truth.reshape(-1, len(columns)), model.reshape(-1, len(columns))
    return [{"name": name} | _column_distance(t[:, j], m[:, j]) for j, name in enumerate(columns)]


def reconstruction(scaled: np.ndarray, reconstructed: np.ndarray) -> dict:
    """MSE of ``reconstructed`` against ``scaled`` (finite entries), and the explained variance."""
    a, b = np.asarray(scaled, dtype=np.float64), np.asarray(reconstructed, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return {"mse": None, "explained_variance": None}
    mse = float(np.mean((a[ok] - b[ok]) ** 2))
    var = float(np.var(a[ok]))
    return {"mse": mse, "explained_variance": 1.0 - mse / var if var > 0 else None}


def finite_or_none(value):
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN or Infinity)."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
