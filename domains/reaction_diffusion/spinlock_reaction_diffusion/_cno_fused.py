"""The work between two convolutions of a ``cno`` group as one function, for ``torch.compile``.

Between convolutions the exact path issues about eight kernels per conv (statistics, shift and
scale, activation runs, cast, padding gather). :func:`glue` does norm, activation (picked per
operator by a code, so one graph serves any mix), residual add, noise and the next conv's
padding as one function of tensors. Compiled with dynamic shapes it becomes a reduction and a
pointwise kernel or two, and one compiled graph serves every group of the same structure
(a handful of graphs per run, whatever the architectures).

Values agree with the exact path to float rounding, not bitwise (the compiler fuses and
reorders arithmetic; noise and residual are added in fp32 before the cast). The compiled
kernels are deterministic (Inductor's ``deterministic`` mode where the installed torch has it:
no timing-based choice of reduction kernels), so a dataset made with ``operator.compile=true``
replays with it; the resolved config records the choice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["glue", "glue_fn"]


def _pool(per_channel: torch.Tensor, assign: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Group means of ``[N, G, C]`` channel values (``assign [G, C, K]`` one-hot), back to ``[N, G, C]``."""
    per_group = (per_channel.unsqueeze(-1) * assign).sum(-2) / counts
    return (per_group.unsqueeze(-2) * assign).sum(-1)


def glue(y, act, norm, pad, residual, noise, *, eps, out_dtype, channels_last):
    """Norm -> activation [-> pad] [+ residual] [-> noise] of a conv output ``y [N, G * C, H, W]``.

    ``act [1, G, 1, 1, 1]``: 0 gelu, 1 silu, 2 tanh. ``norm = (assign, counts, group, none)``
    as :meth:`~._cno_layers.Normalizer.tensors` (instance norm where neither flag is set; the
    statistics are taken even for a group without norms, so that one graph serves all).
    ``pad = (index [Hp, Wp], halo [1, G, 1, Hp, Wp])`` pads the result for the next conv
    (circular gather of flat source indices, then the halo zeroed), or None. ``residual`` has the result's shape.
    ``noise = (xi [G, N, C, H, W], sigma [G, 1, 1, 1, 1], mult [1, G, 1, 1, 1])``: ``h + σξ``
    or ``h (1 + σξ)``; only on unpadded results. Statistics in fp32.
    """
    n, gc, h, w = y.shape
    g = act.shape[1]
    x = y.float().view(n, g, gc // g, h, w)
    assign, counts, group, none = norm
    var, mean = torch.var_mean(x, dim=(-2, -1), correction=0)  # [N, G, C]
    pooled = _pool(mean, assign, counts)
    var = torch.where(group, _pool(var + (mean - pooled).square(), assign, counts), var)
    mean = torch.where(group, pooled, mean)
    scale = torch.rsqrt(var + eps).masked_fill(none, 1.0)
    mean = mean.masked_fill(none, 0.0)
    x = (x - mean[..., None, None]) * scale[..., None, None]
    z = torch.where(act == 0, F.gelu(x), torch.where(act == 1, F.silu(x), torch.tanh(x)))
    z = z.reshape(n, gc, h, w)
    if pad is not None:
        index, halo = pad
        hp, wp = index.shape
        z = z.flatten(-2).index_select(-1, index.flatten()).view(n, gc, hp, wp)
        if halo is not None:
            z = z.view(n, g, gc // g, hp, wp).masked_fill(halo, 0.0).view(n, gc, hp, wp)
    if residual is not None:
        z = z + residual.float()
    if noise is not None:
        xi, sigma, mult = noise
        zv = z.view(n, g, gc // g, h, w)
        s = (sigma * xi).transpose(0, 1)
        z = (zv + torch.where(mult, zv * s, s)).view(n, gc, h, w)
    z = z.to(out_dtype)
    return z.contiguous(memory_format=torch.channels_last) if channels_last else z


_COMPILED: dict[str, object] = {}


def glue_fn(compiled: bool):
    """:func:`glue`, compiled once per process (``dynamic=True``, ``fullgraph=True``) when asked.

    Raises Dynamo's recompile limit to 64 for the process: each structure (padded or not,
    residual, noise, dtype, size-1 dimensions such as a group of one) is one graph, about a
    dozen per dtype, and the default limit of 8 would silently send the rest back to eager.
    """
    if not compiled:
        return glue
    if "glue" not in _COMPILED:
        import torch._dynamo.config as dynamo
        import torch._inductor.config as inductor

        name = "recompile_limit" if hasattr(dynamo, "recompile_limit") else "cache_size_limit"
        setattr(dynamo, name, max(getattr(dynamo, name), 64))
        options = {"deterministic": True} if hasattr(inductor, "deterministic") else None
        _COMPILED["glue"] = torch.compile(glue, dynamic=True, fullgraph=True, options=options)
    return _COMPILED["glue"]
