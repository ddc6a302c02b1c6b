"""Validation metrics whose numbers mean what their names say.

All on held-out rows, in eval mode, from the *tokens* (decode-from-tokens, not from latents):

* ``quality`` = clamp(1 - MSE, 0, 1) on the scaled features (the prototype's definition, so the
  numbers compare: the preprocessing gives every column unit variance on the training rows);
  ``mse`` unclamped beside it; ``quality_by_level[l]`` decodes only levels <= l. ``r2_overall`` =
  1 - SSE/SST over all columns (SST about the validation means) stands beside it.
* ``r2`` per category: 1 - SSE/SST pooled over the category's columns (SST about validation means);
  ``r2_by_level[c][l]`` the same from the first l+1 levels only.
* ``utilization[c][l]`` = distinct codes used on validation / K; ``perplexity[c][l]`` = exp(entropy)
  of the code histogram; ``dead_codes`` = codes no validation sample uses; ``restarts`` cumulative.
* ``topographic`` = Spearman between pairwise Euclidean distances of the scaled inputs and of the
  token embeddings (concatenated ``sum_l q_l`` per category), upper triangle, on a fixed seeded
  validation subsample; ``topographic_hamming`` uses the Hamming distance between token rows.

The tokenizer calls :func:`evaluate` on validation rows each epoch (early stopping) and once on
the *test* rows for ``metrics["final"]``; "validation" above means whichever rows it is given.
:func:`pca_kmeans_baseline` is the reference the report compares against, on the same rows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from spinlock_core.api import generator_for

__all__ = ["evaluate", "topographic_similarity", "PCAKMeans", "fit_pca_kmeans", "pca_kmeans_baseline"]


def topographic_similarity(x: np.ndarray, emb: np.ndarray, tokens: np.ndarray) -> tuple[float, float]:
    """(Spearman of input vs embedding distances, Spearman of input vs Hamming distances)."""
    if x.shape[0] < 3:
        return float("nan"), float("nan")
    dx = pdist(x)
    rho = spearmanr(dx, pdist(emb)).statistic
    ham = pdist(tokens, metric="hamming")
    rho_h = spearmanr(dx, ham).statistic if np.ptp(ham) > 0 else float("nan")
    return float(rho), float(rho_h)


def _r2(pred: torch.Tensor, target: torch.Tensor, idx: torch.Tensor) -> float:
    """R^2 pooled over the columns ``idx`` (SST about the column means of ``target``)."""
    t = target[:, idx]
    sst = float((t - t.mean(0)).pow(2).sum())
    return 1 - float((pred[:, idx] - t).pow(2).sum()) / sst if sst > 0 else float("nan")


@torch.no_grad()
def evaluate(model, x: torch.Tensor, config, device) -> dict:
    """All validation metrics and per-term losses of ``model`` on scaled features ``x [N, D]``."""
    model.eval()
    codes, recons, commits, indeps, weights = [], [], [], [], []
    for start in range(0, x.shape[0], config.batch_size):
        xb = x[start : start + config.batch_size].to(device)
        out = model(xb)
        codes.append(out["codes"])
        recons.append(out["recon"].float())
        commits.append(float(out["commit"]))
        indeps.append(float(model.independence(out["latents"])))
        weights.append(xb.shape[0])
    codes_t = torch.cat(codes)
    recon = torch.cat(recons)
    xd = x.to(device).float()
    w = np.asarray(weights) / sum(weights)
    mse = float((recon - xd).pow(2).mean())
    bs = config.batch_size
    by_level, r2_by_level = [], [[] for _ in range(model.n_categories)]
    for lvl in range(1, model.levels + 1):
        part = torch.cat(
            [model.decode_codes(codes_t[s : s + bs], upto=lvl) for s in range(0, len(xd), bs)]
        ).float()
        by_level.append(float(1 - (part - xd).pow(2).mean()))
        for i in range(model.n_categories):
            r2_by_level[i].append(_r2(part, xd, model.group(i)))
    r2 = {i: _r2(recon, xd, model.group(i)) for i in range(model.n_categories)}
    util, perp, dead = [], [], 0
    L = model.levels
    for i, vq in enumerate(model.quantizers):
        u_row, p_row = [], []
        for lvl, cb in enumerate(vq.levels):
            hist = torch.bincount(codes_t[:, i * L + lvl], minlength=cb.num_codes).float().cpu()
            used = int((hist > 0).sum())
            p = hist / hist.sum()
            ent = float(-(p[p > 0] * p[p > 0].log()).sum())
            u_row.append(used / cb.num_codes)
            p_row.append(float(np.exp(ent)))
            dead += cb.num_codes - used
        util.append(u_row)
        perp.append(p_row)
    sizes = np.asarray([[cb.num_codes for cb in vq.levels] for vq in model.quantizers], dtype=float)
    n_topo = min(config.topo_samples, x.shape[0])
    rows = torch.randperm(x.shape[0], generator=generator_for(config.seed, 0, "tokenizer/topo"))[:n_topo]
    rows = rows.to(device)
    emb = torch.cat(model.quantized_from_codes(codes_t[rows]), dim=1)
    topo, topo_h = topographic_similarity(
        xd[rows].cpu().double().numpy(), emb.cpu().double().numpy(), codes_t[rows].cpu().numpy()
    )
    util_arr = np.asarray(util)
    return {
        "mse": mse,
        "quality": float(min(1.0, max(0.0, 1 - mse))),
        "r2_overall": _r2(recon, xd, torch.arange(xd.shape[1], device=xd.device)),
        "quality_by_level": by_level,
        "commit": float(np.dot(w, commits)),
        "independence": float(np.dot(w, indeps)),
        "r2": [r2[i] for i in range(model.n_categories)],
        "r2_by_level": r2_by_level,
        "utilization": util,
        "utilization_mean": float(util_arr.mean()),
        "utilization_weighted": float((util_arr * sizes).sum() / sizes.sum()),
        "perplexity": perp,
        "perplexity_mean": float(np.mean(perp)),
        "dead_codes": int(dead),
        "total_codes": int(sizes.sum()),
        "restarts": int(sum(int(cb.restarts) for vq in model.quantizers for cb in vq.levels)),
        "topographic": topo,
        "topographic_hamming": topo_h,
    }


class PCAKMeans(NamedTuple):
    """PCA + k-means fitted on training rows: the baseline code of the tokenizer and its benchmark."""

    mean: np.ndarray
    basis: np.ndarray  # [components, columns]
    centroids: np.ndarray  # [k, components]
    explained_variance: float  # share of the training variance the components hold

    @property
    def components(self) -> int:
        return self.basis.shape[0]

    @property
    def k(self) -> int:
        return self.centroids.shape[0]

    def project(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.basis.T

    def codes(self, x: np.ndarray) -> np.ndarray:
        """Each row's nearest centroid in PCA space."""
        from scipy.cluster.vq import vq

        return vq(self.project(x), self.centroids)[0]

    def reconstruct(self, codes: np.ndarray) -> np.ndarray:
        return self.centroids[codes] @ self.basis + self.mean


def fit_pca_kmeans(x_train: np.ndarray, k: int, seed: int, variance: float = 0.99) -> PCAKMeans:
    """PCA by numpy SVD keeping the fewest components that hold ``variance`` of the training
    variance, then ``scipy.cluster.vq.kmeans2`` (k-means++, seeded) with ``k`` codes, capped at
    the training rows, in PCA space. Empty clusters stay as dead codes."""
    import warnings

    from scipy.cluster.vq import kmeans2

    mean = x_train.mean(0)
    _, s, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    share = np.cumsum(s**2) / max(float(np.sum(s**2)), 1e-300)
    n_comp = min(int(np.searchsorted(share, variance) + 1), vt.shape[0])
    basis = vt[:n_comp]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty clusters stay as dead codes, and are counted so
        cents, _ = kmeans2(
            (x_train - mean) @ basis.T,
            int(min(k, len(x_train))),
            iter=50,
            minit="++",
            seed=np.random.default_rng(seed),
        )
    return PCAKMeans(mean, basis, cents, float(share[n_comp - 1]))


def pca_kmeans_baseline(
    x_train: np.ndarray, x_test: np.ndarray, k: int, seed: int, variance: float = 0.99
) -> dict:
    """:func:`fit_pca_kmeans` fit on ``x_train``, scored on ``x_test``: a test row's
    reconstruction is its nearest centroid mapped back. ``benchmarks/tokenizer_cno.py`` uses the
    same fit, so the numbers compare. ``pca_r2_overall`` is the test R² of the PCA projection
    alone (continuous, no codes): on few training operators it bounds what a linear code can
    reach on new ones.
    """
    x_train, x_test = np.asarray(x_train, dtype=float), np.asarray(x_test, dtype=float)
    fit = fit_pca_kmeans(x_train, k, seed, variance)
    codes = fit.codes(x_test)
    recon = fit.reconstruct(codes)
    linear = fit.project(x_test) @ fit.basis + fit.mean  # the same PCA without the codes
    mse = float(((recon - x_test) ** 2).mean())
    sst = float(((x_test - x_test.mean(0)) ** 2).sum())
    return {
        "r2_overall": 1 - float(((recon - x_test) ** 2).sum()) / sst if sst > 0 else float("nan"),
        "quality": float(min(1.0, max(0.0, 1 - mse))),
        "mse": mse,
        "utilization": len(np.unique(codes)) / fit.k,
        "codes": fit.k,
        "code_budget": int(k),
        "components": fit.components,
        "explained_variance_train": fit.explained_variance,
        "rows": len(x_test),
        "pca_r2_overall": 1 - float(((linear - x_test) ** 2).sum()) / sst if sst > 0 else float("nan"),
    }
