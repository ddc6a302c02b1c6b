"""Building blocks of the ``cno`` operator family: architecture plans, norms and noise.

Everything here works on the *grouped* layout that steps many operators at once: ``G``
operators of one architecture share a tensor ``[N, G * C, H, W]`` in which ``N`` folds the
realizations and operator ``g`` owns channels ``g * C : (g + 1) * C``. Every statistic is
taken per row and per operator, never across the batch, so an operator's output does not
depend on which other operators share its tensor.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import torch

__all__ = [
    "ConvSpec",
    "HiddenBlock",
    "NoiseSource",
    "Normalizer",
    "Plan",
    "plan",
    "circular_index",
    "halo_mask",
]

_SQRT_HALF = math.sqrt(0.5)


@attrs.frozen
class ConvSpec:
    """One convolution: ``cin -> cout`` channels, ``k x k`` kernel, optional bias."""

    cin: int
    cout: int
    k: int
    bias: bool

    @property
    def n_params(self) -> int:
        return self.cout * self.cin * self.k * self.k + (self.cout if self.bias else 0)

    @property
    def macs_per_point(self) -> int:
        """Multiply-adds per output grid point (bias additions not counted)."""
        return self.cout * self.cin * self.k * self.k


@attrs.frozen
class HiddenBlock:
    """A hidden block: one conv block, or (residual) two conv blocks plus a skip path.

    ``proj`` is the bias-free 1x1 projection of the skip path when the width changes;
    ``None`` means identity.
    """

    conv1: ConvSpec
    conv2: ConvSpec | None = None
    proj: ConvSpec | None = None


@attrs.frozen
class Plan:
    """The layer plan of one architecture; the single source for building and counting."""

    stem: ConvSpec
    hidden: tuple[HiddenBlock, ...]
    head: ConvSpec

    @property
    def residual(self) -> bool:
        return self.hidden[0].conv2 is not None

    @property
    def width(self) -> int:
        """Channels of the last hidden features (where the noise is injected)."""
        return self.head.cin

    def convs(self) -> list[ConvSpec]:
        """All convolutions in forward order, which is also the order weights are drawn in."""
        out = [self.stem]
        for blk in self.hidden:
            out += [c for c in (blk.conv1, blk.conv2, blk.proj) if c is not None]
        return out + [self.head]

    @property
    def n_params(self) -> int:
        return sum(c.n_params for c in self.convs())

    @property
    def macs_per_point(self) -> int:
        return sum(c.macs_per_point for c in self.convs())

    @property
    def receptive_field(self) -> int:
        """Receptive field of one step in grid points: ``1 + sum(k - 1)`` on the longest path."""
        path = [self.stem, self.head]
        for blk in self.hidden:
            path += [c for c in (blk.conv1, blk.conv2) if c is not None]
        return 1 + sum(c.k - 1 for c in path)


def plan(num_layers: int, base_channels: int, kernel_size: int, bias: bool, channels: int = 3) -> Plan:
    """The architecture of one operator.

    A stem block ``channels -> b``, then ``num_layers`` hidden blocks of widths
    ``b * 2**min(i, 2)`` (``b, 2b, 4b, 4b, ...``), residual when ``num_layers > 3``, then a
    1x1 head with bias back to ``channels``. Hidden convolutions carry a bias only when there
    is no normalization after them (a bias before a norm is cancelled by it).
    """
    b, k = int(base_channels), int(kernel_size)
    residual = num_layers > 3
    stem = ConvSpec(channels, b, k, bias)
    hidden, cur = [], b
    for i in range(int(num_layers)):
        out = b * 2 ** min(i, 2)
        if residual:
            proj = ConvSpec(cur, out, 1, False) if cur != out else None
            hidden.append(HiddenBlock(ConvSpec(cur, out, k, bias), ConvSpec(out, out, k, bias), proj))
        else:
            hidden.append(HiddenBlock(ConvSpec(cur, out, k, bias)))
        cur = out
    return Plan(stem, tuple(hidden), ConvSpec(cur, channels, 1, True))


def _group_sizes(channels: int, n_groups: int) -> list[int]:
    """Contiguous, nearly equal channel groups (sizes differ by at most one)."""
    return [len(s) for s in np.array_split(np.arange(channels), min(n_groups, channels))]


class Normalizer:
    """Instance, group or no normalization of ``G`` channel-padded operators in one pass.

    Operator ``g`` owns channels ``g * C : (g + 1) * C`` of ``[N, G * C, H, W]``, of which the
    first ``widths[g]`` are real and the rest exactly zero. One ``var_mean`` gives every
    channel's statistics; group statistics pool them over each operator's *real* channels
    only; a per-operator choice then picks instance, group or identity ``(shift, scale)``,
    and one ``addcmul`` applies them to all operators (no slices, no per-operator loop).
    Padded channels have mean and variance 0, so they normalize to exactly 0. Statistics are
    fp32 and never mix rows (realizations) or operators.
    """

    def __init__(self, kinds, widths, padded: int, n_groups: int, eps: float, device):
        kinds, widths = np.asarray(kinds), np.asarray(widths)
        self.eps, self.count, self.skip = eps, len(kinds), bool((kinds == "none").all())
        self.padded, self.n_groups = padded, n_groups

        def flag(values):
            return torch.as_tensor(values, device=device).view(1, -1, 1) if values.any() else None

        self.none, self.group = flag(kinds == "none"), flag(kinds == "group")
        if self.group is not None:
            # One-hot channel -> group assignment [G, C, K] over real channels (padding rows 0).
            assign = np.zeros((len(widths), padded, n_groups), np.float32)
            for g, width in enumerate(widths):
                ids = np.repeat(np.arange(min(n_groups, width)), _group_sizes(int(width), n_groups))
                assign[g, np.arange(width), ids] = 1.0
            self.assign = torch.as_tensor(assign, device=device)
            self.counts = self.assign.sum(1).clamp(min=1.0)  # [G, K]; empty groups unused

    def tensors(self, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(assign [G, C, K], counts [G, K], group [1, G, 1], none [1, G, 1])`` for the fused
        path (:mod:`._cno_fused`), which takes every flag as a tensor (absent kinds all False)."""
        g = self.count
        false = torch.zeros(1, g, 1, dtype=torch.bool, device=device)
        none = false if self.none is None else self.none
        if self.group is None:  # all-zero assignment of the usual shape: the same compiled graph
            assign = torch.zeros(g, self.padded, self.n_groups, device=device)
            return assign, torch.ones(g, self.n_groups, device=device), false, none
        return self.assign, self.counts, self.group, none

    def _pool(self, per_channel: torch.Tensor) -> torch.Tensor:
        """Group means of ``[N, G, C]`` channel values, broadcast back to ``[N, G, C]``."""
        per_group = (per_channel.unsqueeze(-1) * self.assign).sum(-2) / self.counts
        return (per_group.unsqueeze(-2) * self.assign).sum(-1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized ``x [N, G * C, H, W]`` in fp32; may overwrite ``x`` (a fresh conv output)."""
        x32 = x.float()
        if self.skip:
            return x32
        n, gc = x.shape[:2]
        var, mean = torch.var_mean(x32, dim=(-2, -1), correction=0)  # [N, G * C]
        var, mean = var.view(n, self.count, -1), mean.view(n, self.count, -1)
        if self.group is not None:
            pooled = self._pool(mean)
            # Law of total variance over the group's equally sized channels.
            var = torch.where(self.group, self._pool(var + (mean - pooled).square()), var)
            mean = torch.where(self.group, pooled, mean)
        scale = torch.rsqrt(var + self.eps)
        if self.none is not None:
            scale, mean = scale.masked_fill(self.none, 1.0), mean.masked_fill(self.none, 0.0)
        shift = (-mean * scale).view(n, gc, 1, 1)
        return torch.addcmul(shift, x32, scale.view(n, gc, 1, 1), out=x32)


def circular_index(h: int, w: int, p: int, device) -> torch.Tensor:
    """Flat source indices ``[(h + 2p) * (w + 2p)]`` of a circular padding by ``p``.

    ``x.flatten(-2).index_select(-1, idx)`` pads ``x [.., h, w]`` periodically in one gather
    (one kernel, where ``F.pad(mode="circular")`` issues five copies); values are copies, so
    the result equals ``F.pad`` exactly.
    """
    rows = torch.arange(-p, h + p) % h
    cols = torch.arange(-p, w + p) % w
    return (rows.view(-1, 1) * w + cols.view(1, -1)).reshape(-1).to(device)


def halo_mask(h: int, w: int, p: int, device) -> torch.Tensor:
    """``[(h + 2p), (w + 2p)]`` bool, True on the padding halo (outside the interior)."""
    mask = torch.ones(h + 2 * p, w + 2 * p, dtype=torch.bool)
    mask[p : p + h, p : p + w] = False
    return mask.to(device)


def correlation_filter(lengths, grid, device) -> torch.Tensor:
    """Gaussian smoothing filters ``[S, 1, 1, H, W//2+1]`` (rfft2 layout), one per length.

    ``exp(-|k|^2 l^2 / 2)`` with ``k`` in rad per domain unit, so ``l`` is the standard
    deviation of the smoothing kernel in domain units. Each filter is scaled so that white
    unit-variance noise stays unit variance per point (Parseval: variance after filtering is
    the mean of ``|F|^2`` over the full spectrum), independently of the other samples.
    """
    (ly, lx), (h, w) = grid.lengths, grid.shape
    ky = torch.fft.fftfreq(h, d=ly / h, dtype=torch.float64) * 2 * math.pi
    kx_full = torch.fft.fftfreq(w, d=lx / w, dtype=torch.float64) * 2 * math.pi
    kx = torch.fft.rfftfreq(w, d=lx / w, dtype=torch.float64) * 2 * math.pi
    filters = []
    for ell in np.asarray(lengths, dtype=np.float64):
        fy, fxf, fx = (torch.exp(-0.5 * (k * ell) ** 2) for k in (ky, kx_full, kx))
        full_power = fy.square().sum() * fxf.square().sum()  # separable sum of |F|^2
        filters.append(fy.view(-1, 1) * fx.view(1, -1) * torch.sqrt(h * w / full_power))
    return torch.stack(filters).view(len(filters), 1, 1, h, w // 2 + 1).to(device, torch.float32)


def _counter_draws(device: torch.device):
    """``(counter_normal, counter_uniform)``; the core fuses them into one kernel on CUDA."""
    from spinlock_core.api import counter_normal, counter_uniform

    return counter_normal, counter_uniform


class NoiseSource:
    """Unit-variance noise fields for ``G`` operators, drawn per step from counter RNGs.

    Gaussian noise is ``counter_normal(keys, t, shape, lane=0)``; Laplace noise is the
    inverse CDF of ``counter_uniform(keys, t, shape, lane=2)`` scaled to unit variance. A
    field of sample ``g`` depends only on its key, ``t`` and its *real* shape
    ``[M, widths[g], H, W]``, so realizations differ and the draw is the same in any batch and
    for any channel padding: the padded draw ``[M, C, H, W]`` shifts element indices by
    ``m * (widths[g] - C) * H * W`` (the padded channels get finite values that meet zero head
    weights). Samples with a positive correlation length are smoothed in Fourier space (fp32)
    and renormalised.

    ``t`` may be an int or a 0-d int64 tensor on the keys' device (what a CUDA graph replays).
    Everything that depends only on the shape (offsets, per-kind key subsets) is built on the
    first call for that shape, so later calls make no host-to-device copy and can be captured.
    """

    def __init__(self, keys: torch.Tensor, laplace: np.ndarray, lengths: np.ndarray, grid, widths=None):
        device = keys.device
        self.keys = keys
        self.count = len(keys)
        self.widths = None if widths is None else np.asarray(widths, dtype=np.int64)
        laplace = np.asarray(laplace, bool)
        self.laplace = torch.as_tensor(np.flatnonzero(laplace), device=device)
        self.normal = torch.as_tensor(np.flatnonzero(~laplace), device=device)
        self.keys_laplace, self.keys_normal = keys[self.laplace], keys[self.normal]
        smooth = np.flatnonzero(np.asarray(lengths) > 0)
        self.all_smooth = len(smooth) == self.count
        self.smooth = torch.as_tensor(smooth, device=device)
        self.filters = correlation_filter(np.asarray(lengths)[smooth], grid, device) if len(smooth) else None
        self._offset: dict[tuple, tuple] = {}

    def _offsets(self, shape) -> tuple:
        """``(all, normal, laplace)`` element-index shifts ``[G', M, 1, 1, 1]`` (or None) that
        make a padded draw equal the real one; built once per shape (no copy per step)."""
        if shape not in self._offset:
            m, c, h, w = shape
            shift = None
            if self.widths is not None and (self.widths != c).any():
                widths = torch.as_tensor(self.widths - c, device=self.keys.device).view(-1, 1, 1, 1, 1)
                shift = torch.arange(m, device=self.keys.device).view(1, m, 1, 1, 1) * widths * (h * w)
            parts = (None, None) if shift is None else (shift[self.normal], shift[self.laplace])
            self._offset[shape] = (shift, *parts)
        return self._offset[shape]

    def __call__(self, t, shape: tuple[int, int, int, int]) -> torch.Tensor:
        """Noise ``[G, M, C, H, W]`` (fp32) for step ``t``; ``shape = (M, C, H, W)``."""
        counter_normal, counter_uniform = _counter_draws(self.keys.device)
        offset, off_normal, off_laplace = self._offsets(tuple(shape))
        if len(self.normal) == self.count:
            xi = counter_normal(self.keys, t, shape, lane=0, offset=offset)
        else:
            xi = torch.empty((self.count, *shape), device=self.keys.device, dtype=torch.float32)
            if len(self.normal):
                xi[self.normal] = counter_normal(self.keys_normal, t, shape, lane=0, offset=off_normal)
            # fp64 uniforms: in fp32 a draw can round to exactly 1, where the inverse CDF is infinite.
            u = counter_uniform(self.keys_laplace, t, shape, lane=2, dtype=torch.float64, offset=off_laplace)
            u = u - 0.5
            xi[self.laplace] = (-torch.sign(u) * torch.log1p(-2 * u.abs()) * _SQRT_HALF).float()
        if self.filters is not None:
            h, w = shape[-2:]
            if self.all_smooth:
                xi = torch.fft.irfft2(torch.fft.rfft2(xi) * self.filters, s=(h, w))
            else:
                spec = torch.fft.rfft2(xi[self.smooth]) * self.filters
                xi[self.smooth] = torch.fft.irfft2(spec, s=(h, w))
        return xi
