"""Connected components of thresholded fields, on the device, without scipy.

Components are labelled by label propagation: every pixel above the threshold starts with its
own index + 1 and repeatedly takes the largest label among itself and its 4 neighbours
(periodic neighbours on periodic grids), staying 0 outside the mask. When nothing changes,
each component carries one label (its largest pixel index). The loop runs on the whole batch
and checks convergence every few iterations; the result does not depend on the batch.
"""

from __future__ import annotations

import math

import torch

from spinlock_core.api import Grid

__all__ = ["label_components", "morphology"]

_CHECK_EVERY = 8


def _neighbour_max(lab: torch.Tensor, periodic: bool) -> torch.Tensor:
    if periodic:
        shifted = (torch.roll(lab, s, d) for s, d in ((1, -1), (-1, -1), (1, -2), (-1, -2)))
    else:
        p = torch.nn.functional.pad(lab, (1, 1, 1, 1))
        shifted = (p[..., 1:-1, :-2], p[..., 1:-1, 2:], p[..., :-2, 1:-1], p[..., 2:, 1:-1])
    out = lab
    for s in shifted:
        out = torch.maximum(out, s)
    return out


def label_components(mask: torch.Tensor, periodic: bool) -> torch.Tensor:
    """``[N, H, W]`` bool -> int64 labels (0 outside the mask), 4-connectivity."""
    n, h, w = mask.shape
    ids = torch.arange(1, h * w + 1, device=mask.device, dtype=torch.int64).view(1, h, w)
    lab = torch.where(mask, ids, torch.zeros_like(ids))
    zero = torch.zeros_like(lab)
    for it in range(h * w):
        new = torch.where(mask, _neighbour_max(lab, periodic), zero)
        if it % _CHECK_EVERY == _CHECK_EVERY - 1 and torch.equal(new, lab):
            break
        lab = new
    return lab


def morphology(x: torch.Tensor, threshold: float, grid: Grid) -> torch.Tensor:
    """``[N, H, W]`` fields -> ``[N, 3]``: component count, largest-component fraction,
    perimeter per area (1/length) of the region above ``mean + threshold * std``.

    The count of an empty region is 0; its largest fraction and perimeter/area are NaN.
    A constant field has an empty region (nothing is strictly above its mean).
    """
    n, h, w = x.shape
    flat = x.reshape(n, -1)
    mean = flat.mean(-1)
    std = (flat - mean.unsqueeze(-1)).square().mean(-1).sqrt()
    level = (mean + threshold * std).view(n, 1, 1)
    # exclude float noise around a constant field
    mask = x > level + 1e-6 * flat.abs().amax(-1).view(n, 1, 1)
    lab = label_components(mask, grid.periodic)
    roots = (lab == torch.arange(1, h * w + 1, device=x.device).view(1, h, w)) & mask
    count = roots.flatten(1).sum(-1).to(x.dtype)
    sizes = torch.zeros(n, h * w + 1, device=x.device, dtype=x.dtype)
    sizes.scatter_add_(1, lab.reshape(n, -1), torch.ones_like(flat))
    area = mask.flatten(1).sum(-1).to(x.dtype)
    empty = area == 0
    largest = sizes[:, 1:].amax(-1) / torch.where(empty, torch.ones_like(area), area)
    dy, dx = grid.spacing
    m = mask.to(x.dtype)
    if grid.periodic:
        ey = (m - torch.roll(m, 1, -2)).abs().sum((-2, -1))
        ex = (m - torch.roll(m, 1, -1)).abs().sum((-2, -1))
    else:
        pad = torch.nn.functional.pad(m, (1, 1, 1, 1))
        ey = (pad[..., 1:, :] - pad[..., :-1, :]).abs().sum((-2, -1))
        ex = (pad[..., :, 1:] - pad[..., :, :-1]).abs().sum((-2, -1))
    # a boundary edge between rows has length dx; between columns dy
    perimeter = ey * dx + ex * dy
    ratio = perimeter / (torch.where(empty, torch.ones_like(area), area) * dx * dy)
    nan = torch.full_like(area, math.nan)
    return torch.stack([count, torch.where(empty, nan, largest), torch.where(empty, nan, ratio)], -1)
