"""One coarse group of ``cno`` operators, stepped with one grouped convolution per layer.

A group holds ``G`` operators of equal ``(num_layers, kernel_size, channel bucket)``. Each is
embedded in the bucket's architecture (base width ``B >= b``): its real weights sit in the
top-left corner of the bucket's weight tensors and everything else is exactly zero, so the
padded channels stay exactly 0 (conv: zero weights and bias; norm: (0 - 0) * rsqrt(0 + eps);
gelu, silu, tanh of 0 are 0) and feed nothing into the real ones. A sample's math is the
unpadded one, and its padded shapes depend on its own θ only, never on its batch.

Activation, normalization and padding may differ inside a group. The operators arrive
sorted by ``(padding, activation, normalization)``, so each activation and each padding mode
covers a few contiguous channel ranges ("runs"), and :class:`~._cno_layers.Normalizer`
handles mixed norms without slicing.

Two forwards compute the same network. :meth:`CNOGroup.forward` is the exact path (the
default; on CPU bitwise batch-independent): every padding is one gather, every halo of the
zero-padded operators one masked fill, and its norm and activation arithmetic is fixed, so
stored trajectories replay. :meth:`CNOGroup.forward_fused` (``operator.compile``) hands the
work between convolutions to :func:`._cno_fused.glue` for ``torch.compile``. The update
``X' = keep X + gain O`` is applied to the whole batch by the stepper, not per group.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from spinlock_core.api import generator_for

from . import _cno_fused
from ._cno_conv import GroupedConv
from ._cno_layers import NoiseSource, Normalizer, Plan, circular_index, halo_mask, plan


def _gelu_(x: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.gelu_(x)


#: In-place activations (applied to channel slices of a fresh fp32/compute-dtype buffer).
ACTIVATIONS_ = {"gelu": _gelu_, "silu": lambda x: F.silu(x, inplace=True), "tanh": torch.tanh_}
#: Activation codes of the fused path (:func:`._cno_fused.glue`).
ACTIVATION_CODES = {"gelu": 0, "silu": 1, "tanh": 2}


def runs(values) -> list[tuple[int, int, object]]:
    """Maximal runs ``(start, stop, value)`` of equal consecutive values."""
    values = list(values)
    cuts = [0] + [i for i in range(1, len(values)) if values[i] != values[i - 1]] + [len(values)]
    return [(a, b, values[a]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def block_convs(p: Plan) -> list:
    """The convolutions followed by norm and activation: stem, then each block's conv1, conv2."""
    return [p.stem] + [c for blk in p.hidden for c in (blk.conv1, blk.conv2) if c is not None]


def draw_weights(p: Plan, gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """Per-conv ``(weight, bias)`` of one sample in :meth:`Plan.convs` order.

    PyTorch's default init ``U(±1/sqrt(fan_in))``, drawn in fp32, weight before bias.
    """
    out = []
    for c in p.convs():
        bound = (c.cin * c.k * c.k) ** -0.5

        def uniform(*shape, bound=bound):
            u = torch.rand(shape, generator=gen, device=gen.device, dtype=torch.float32)
            return (2 * u - 1) * bound

        w = uniform(c.cout, c.cin, c.k, c.k)
        out.append((w, uniform(c.cout) if c.bias else None))
    return out


class CNOGroup:
    """``G`` operators of one coarse group: padded stacked weights, runs and per-sample scalars.

    ``rows`` are batch rows already sorted by ``(padding, activation, normalization)``;
    ``cols`` are the decoded θ columns of the whole batch (see ``CNOOperator._columns``).
    ``start:stop`` is the group's range in the stepper's sorted batch. ``fused`` is None (the
    exact path), ``"compiled"`` (``operator.compile``) or ``"eager"`` (the fused math without
    compiling it, which is how CPU tests check it).
    """

    def __init__(self, rows, cols, cfg, keys, seed, sample_index, grid, device, dtype, start=0, fused=None):
        rows = np.asarray(rows)
        self.dtype, self.count = dtype, len(rows)
        self.start, self.stop = start, start + len(rows)
        self.index = torch.as_tensor(rows, device=device)
        self.channels_last = cfg.channels_last
        self.fused = fused

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
        cuda = torch.device(device).type == "cuda"
        self.use_split(cfg.split_cout if cuda else 0, cfg.gemm_cout if cuda else 0)
        # One normalizer per block width (real widths scale with the bucket's: b·2^i vs B·2^i).
        self.norms = {}
        for j, conv in enumerate(block_convs(self.plan)):
            widths = [block_convs(r)[j].cout for r in real]
            if conv.cout not in self.norms:
                self.norms[conv.cout] = Normalizer(
                    norms, widths, conv.cout, cfg.group_norm_groups, cfg.norm_eps, device
                )
        # Padding: one gather per conv (circular), then the zero-padded operators' halos zeroed.
        (h, w), p = grid.shape, kernel // 2
        self.pad, self.padded_hw = p, (h + 2 * p, w + 2 * p)
        self.gathers = p > 0 and not self.all_zero
        self.pad_index = circular_index(h, w, p, device) if self.gathers else None
        self.halo = None
        if self.gathers and self.zero_runs:
            zero_ops = torch.as_tensor(pads == "zero", device=device).view(1, -1, 1, 1, 1)
            self.halo = zero_ops & halo_mask(h, w, p, device).view(1, 1, 1, *self.padded_hw)

        def vec(values):
            return torch.as_tensor(np.asarray(values, np.float32), device=device).view(-1, 1, 1, 1, 1)

        residual = np.asarray(cfg.update_policies)[col("update_policy")] == "residual"
        alpha = col("alpha")
        self.keep = vec(np.where(residual, 1.0, alpha))  # [G, 1, 1, 1, 1]
        self.gain = vec(np.where(residual, col("dt"), 1.0 - alpha))
        kinds = np.asarray(cfg.noise_types)[col("noise_type")]
        self.sigma = vec(col("noise_scale"))
        is_mult = kinds == "multiplicative"
        self.mult_mode = "all" if is_mult.all() else "some" if is_mult.any() else "none"
        self.mult = torch.as_tensor(is_mult, device=device).view(1, -1, 1, 1, 1)
        widths = [r.width for r in real]
        self.noise = NoiseSource(
            keys[self.index], kinds == "laplace", col("spatial_correlation"), grid, widths
        )
        if fused:  # every flag as a tensor, so one compiled glue graph serves any mix
            self.halo_all = self.halo
            if self.gathers and self.halo is None:
                self.halo_all = torch.zeros(
                    1, self.count, 1, *self.padded_hw, dtype=torch.bool, device=device
                )
            codes = [ACTIVATION_CODES[a] for a in col("activation_name")]
            self.act_code = torch.as_tensor(codes, device=device).view(1, -1, 1, 1, 1)
            self.norm_tensors = {c: n.tensors(device) for c, n in self.norms.items()}

    def use_split(self, split_cout: int, gemm_cout: int = 0) -> None:
        """Run each conv as :class:`~._cno_conv.GroupedConv` with this output split or im2col
        matrix product (0: none).

        CUDA only: both work around a cuDNN heuristic, and on the CPU the native
        (batch-independent) convolution gains nothing from them. Tests call it to check the math.
        """
        self.convs = [GroupedConv(w, b, self.count, split_cout, gemm_cout) for w, b in self.params]

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

    # ------------------------------------------------------------------ exact path

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, G * C, H, W]`` padded by the group's ``p``: circular by one gather, then the
        halo of the zero-padded operators set to 0 (one masked fill). Copies only: exact."""
        n, gc, h, w = x.shape
        hp, wp = self.padded_hw
        if self.channels_last:  # gather along H*W of an NHWC view: the result stays NHWC
            flat = x.permute(0, 2, 3, 1).reshape(n, h * w, gc)
            out = flat.index_select(1, self.pad_index).view(n, hp, wp, gc).permute(0, 3, 1, 2)
        else:
            out = x.flatten(-2).index_select(-1, self.pad_index).view(n, gc, hp, wp)
        if self.halo is not None:
            out.view(n, self.count, gc // self.count, hp, wp).masked_fill_(self.halo, 0)
        return out

    def _conv(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """Conv ``i`` with each operator's padding: circular, zero, or circular with zeroed halos."""
        conv = self.convs[i]
        p = conv.k // 2
        if p == 0 or self.all_zero:
            return conv(x, padding=p)
        return conv(self._pad(x))

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

    def _inject(self, h: torch.Tensor, t) -> torch.Tensor:
        """The noise on the last hidden features ``h [N, G * C, H, W]``: ``h + σξ`` or ``h(1 + σξ)``."""
        n, gc, hh, ww = h.shape
        width = gc // self.count
        xi = (self.sigma * self.noise(t, (n, width, hh, ww))).transpose(0, 1).to(h.dtype)  # [N, G, C, H, W]
        hv = h.view(n, self.count, width, hh, ww)
        if self.mult_mode == "none":
            out = hv + xi
        elif self.mult_mode == "all":
            out = hv + hv * xi
        else:
            out = hv + torch.where(self.mult, hv * xi, xi)
        return out.reshape(n, gc, hh, ww)

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        """``O(X)`` of the group: ``[N, G * 3, H, W] -> [N, G * 3, H, W]`` (``N = M`` realizations).

        ``t`` is the step (an int, or a 0-d int64 tensor on the device under a CUDA graph).
        """
        if self.fused:
            return self.forward_fused(x, t)
        h, i = self._block(x, 0), 1
        for blk in self.plan.hidden:
            if blk.conv2 is None:
                h, i = self._block(h, i), i + 1
                continue
            y = self._block(self._block(h, i), i + 1)
            skip = h if blk.proj is None else self._conv(h, i + 2)
            h, i = y.add_(skip), i + 2 + (blk.proj is not None)
        return self._conv(self._inject(h, t), i)

    # ------------------------------------------------------------------ fused path

    def forward_fused(self, x: torch.Tensor, t) -> torch.Tensor:
        """``O(X)`` with the work between convolutions in :func:`._cno_fused.glue`.

        Hidden features are kept *padded* for the next ``k x k`` conv (the glue writes the
        halo), so each hidden conv runs with ``padding=0``; the bias-free 1x1 projections
        run on the padded features too (their halo is again a valid halo), and a residual
        sum of two padded tensors is padded. Zero-padded-only groups keep unpadded features
        and let the convolution pad.
        """
        glue = _cno_fused.glue_fn(compiled=self.fused == "compiled")
        n, _, hh, ww = x.shape
        g, p = self.count, self.pad
        pad = (self.pad_index.view(self.padded_hw), self.halo_all) if self.gathers else None

        def conv(z, i):
            same = self.convs[i].k // 2 if not self.gathers else 0
            return self.convs[i](z, padding=same)

        def block(z, i, last=False, residual=None, noise=None):
            y = conv(z, i)
            return glue(
                y,
                self.act_code,
                self.norm_tensors[y.shape[1] // g],
                None if last else pad,
                residual,
                noise,
                eps=self.norms[y.shape[1] // g].eps,
                out_dtype=self.dtype,
                channels_last=self.channels_last,
            )

        def noise_for(width):
            return (self.noise(t, (n, width, hh, ww)), self.sigma, self.mult)

        h = block(self._pad(x) if self.gathers else x, 0)
        hidden, i = self.plan.hidden, 1
        for j, blk in enumerate(hidden):
            last = j == len(hidden) - 1
            noise = noise_for(blk.conv1.cout) if last else None
            if blk.conv2 is None:
                h, i = block(h, i, last=last, noise=noise), i + 1
                continue
            y = block(h, i)
            skip = h if blk.proj is None else conv(h, i + 2)
            if last and self.gathers:  # the last features are unpadded (the head is 1x1)
                skip = skip[..., p : p + hh, p : p + ww]
            h = block(y, i + 1, last=last, residual=skip, noise=noise)
            i += 2 + (blk.proj is not None)
        return conv(h, i)
