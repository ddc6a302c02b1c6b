"""The CNO stepper as it was before the launch-count work (commit 93878b2), for the benchmark.

``benchmarks/generate.py`` times it in the same process as the current stepper ("current eager
batched" before the change), so the speed-up is measured, not remembered. Frozen copy: per group
a gather, a transposed copy, ``F.pad(mode="circular")`` (five copies) and four ``zero_`` per
zero-padded run per conv, and the update per group. Its values equal the current exact path's
(the benchmark checks it). Not used by the package.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from spinlock_core.seeding import generator_for, sample_keys
from spinlock_reaction_diffusion._cno_group import ACTIVATIONS_, block_convs, draw_weights, runs
from spinlock_reaction_diffusion._cno_layers import NoiseSource, Normalizer, Plan, plan
from spinlock_reaction_diffusion.cno import _native_cpu_conv

__all__ = ["build_legacy"]


class LegacyGroup:
    """``G`` operators of one coarse group: padded stacked weights, runs and per-sample scalars.

    ``rows`` are batch rows already sorted by ``(padding, activation, normalization)``;
    ``cols`` are the decoded θ columns of the whole batch (see ``CNOOperator._columns``).
    """

    def __init__(self, rows, cols, cfg, keys, seed, sample_index, grid, device, dtype):
        rows = np.asarray(rows)
        self.dtype, self.count = dtype, len(rows)
        self.index = torch.as_tensor(rows, device=device)
        self.channels_last = cfg.channels_last

        def col(name):
            return np.asarray(cols[name])[rows]

        layers, kernel, bucket = int(col("num_layers")[0]), int(col("kernel")[0]), int(col("bucket")[0])
        norms, pads = col("normalization_name"), col("padding_name")
        self.plan = plan(layers, bucket, kernel, bool((norms == "none").any()))
        self.act_runs = [(a, b, ACTIVATIONS_[v]) for a, b, v in runs(col("activation_name"))]
        self.zero_runs = [(a, b) for a, b, v in runs(pads) if v == "zero"]
        self.all_zero = len(self.zero_runs) == 1 and self.zero_runs[0] == (0, self.count)
        real = [
            plan(layers, int(b), kernel, n == "none")
            for b, n in zip(col("base_channels"), norms, strict=True)
        ]
        self.params = self._stack(real, rows, seed, sample_index, device)
        # One normalizer per block width (real widths scale with the bucket's: b·2^i vs B·2^i).
        self.norms = {}
        for j, conv in enumerate(block_convs(self.plan)):
            widths = [block_convs(r)[j].cout for r in real]
            if conv.cout not in self.norms:
                self.norms[conv.cout] = Normalizer(
                    norms, widths, conv.cout, cfg.group_norm_groups, cfg.norm_eps, device
                )

        def vec(values):
            return torch.as_tensor(np.asarray(values, np.float32), device=device).view(-1, 1, 1, 1, 1)

        residual = np.asarray(cfg.update_policies)[col("update_policy")] == "residual"
        alpha = col("alpha")
        self.keep = vec(np.where(residual, 1.0, alpha))  # [G, 1, 1, 1, 1]
        self.gain = vec(np.where(residual, col("dt"), 1.0 - alpha))
        kinds = np.asarray(cfg.noise_types)[col("noise_type")]
        self.sigma = vec(col("noise_scale"))
        self.mult = torch.as_tensor(kinds == "multiplicative", device=device).view(1, -1, 1, 1, 1)
        widths = [r.width for r in real]
        self.noise = NoiseSource(
            keys[self.index], kinds == "laplace", col("spatial_correlation"), grid, widths
        )

    def _stack(self, real: list[Plan], rows, seed, sample_index, device):
        """Bucket-shaped ``[G * C_out, C_in, k, k]`` weights with each sample's draw in its corner."""
        params = []
        for c in self.plan.convs():
            w = torch.zeros(self.count * c.cout, c.cin, c.k, c.k, device=device)
            params.append((w, torch.zeros(self.count * c.cout, device=device) if c.bias else None))
        for g, (p, r) in enumerate(zip(real, rows, strict=True)):
            gen = generator_for(seed, int(sample_index[r]), "cno.weights", device)
            for (w, b), (rw, rb), c in zip(params, draw_weights(p, gen), self.plan.convs(), strict=True):
                w[g * c.cout : g * c.cout + rw.shape[0], : rw.shape[1]] = rw
                if rb is not None:
                    b[g * c.cout : g * c.cout + rb.shape[0]] = rb
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return [
            (w.to(self.dtype).contiguous(memory_format=fmt), None if b is None else b.to(self.dtype))
            for w, b in params
        ]

    def _conv(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """Conv ``i`` with each operator's padding: circular, zero, or circular with zeroed halos."""
        w, b = self.params[i]
        p = w.shape[-1] // 2
        if p == 0 or self.all_zero:
            return F.conv2d(x, w, b, padding=p, groups=self.count)
        x = F.pad(x, (p, p, p, p), mode="circular")
        cin = w.shape[1]
        for a, z in self.zero_runs:  # zero-padded operators: a few contiguous channel ranges
            halo = x[:, a * cin : z * cin]
            for view in (halo[..., :p, :], halo[..., -p:, :], halo[..., :p], halo[..., -p:]):
                view.zero_()
        return F.conv2d(x, w, b, groups=self.count)

    def _block(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """conv -> norm -> activation; activations act in place on their channel runs."""
        y = self._conv(x, i)
        y = self.norms[y.shape[1] // self.count](y)
        width = y.shape[1] // self.count
        if len(self.act_runs) == 1:
            self.act_runs[0][2](y)
        else:
            for a, z, act in self.act_runs:
                act(y[:, a * width : z * width])
        return y.to(self.dtype)

    def forward(self, x: torch.Tensor, t: int) -> torch.Tensor:
        """``O(X)`` of the group: ``[N, G * 3, H, W] -> [N, G * 3, H, W]`` (``N = M`` realizations)."""
        h, i = self._block(x, 0), 1
        for blk in self.plan.hidden:
            if blk.conv2 is None:
                h, i = self._block(h, i), i + 1
                continue
            y = self._block(self._block(h, i), i + 1)
            skip = h if blk.proj is None else self._conv(h, i + 2)
            h, i = y.add_(skip), i + 2 + (blk.proj is not None)
        n, gc, hh, ww = h.shape
        width = gc // self.count
        xi = (self.sigma * self.noise(t, (n, width, hh, ww))).transpose(0, 1).to(h.dtype)  # [N, G, C, H, W]
        hv = h.view(n, self.count, width, hh, ww)
        h = (hv + torch.where(self.mult, hv * xi, xi)).reshape(n, gc, hh, ww)
        return self._conv(h, i)

    def step(self, u: torch.Tensor, t: int) -> torch.Tensor:
        """One update of the group's states ``[G, M, 3, H, W]`` (update math in fp32)."""
        g, m, c, h, w = u.shape
        x = u.to(self.dtype).transpose(0, 1).reshape(m, g * c, h, w)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        o = self.forward(x, t).reshape(m, g, c, h, w).transpose(0, 1).float()
        return (self.keep * u.float() + self.gain * o).to(u.dtype)


class LegacyStepper:
    """The old stepper: per group ``index_select`` in, ``index_copy_`` out."""

    def __init__(self, groups: list[LegacyGroup], batch: int):
        self.groups, self.batch = groups, batch
        self.whole = len(groups) == 1 and bool((groups[0].index.cpu() == torch.arange(batch)).all())

    def step(self, u: torch.Tensor, t: int) -> torch.Tensor:
        with _native_cpu_conv(u.device.type == "cpu"):
            if self.whole:
                return self.groups[0].step(u, t)
            out = torch.empty_like(u)
            for grp in self.groups:
                out.index_copy_(0, grp.index, grp.step(u.index_select(0, grp.index), t))
        return out


def build_legacy(operator, theta, sample_index, seed, grid, device, dtype) -> LegacyStepper:
    """``CNOOperator.build`` as it was, with the legacy group and stepper."""
    device = torch.device(device)
    cols = operator._columns(theta)
    keys = sample_keys(seed, sample_index, "cno.noise", device)
    order = operator.batch_order_key(theta)
    c = operator.config
    n_segments = len(c.paddings) * len(c.activations) * len(c.normalizations)
    rows = np.argsort(order, kind="stable")
    cuts = np.flatnonzero(np.diff(order[rows] // n_segments)) + 1
    groups = [
        LegacyGroup(part, cols, c, keys, seed, sample_index, grid, device, dtype)
        for part in np.split(rows, cuts)
        if len(part)
    ]
    return LegacyStepper(groups, len(cols["num_layers"]))
