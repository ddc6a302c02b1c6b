"""One grouped convolution of a CNO group, run as one or several cuDNN calls.

cuDNN's heuristic (deterministic mode, no autotuning) picks ``precomputed_convolve_sgemm``, a
kernel without tensor cores, for grouped 7x7 convolutions with 256 output channels per group:
35 TFLOP/s on an H200 in bf16, against 320-380 TFLOP/s for the same layer with 128 or 192 output
channels per group (``benchmarks/results/2026-12-04-h200-convprof.json``). Those layers were two
thirds of a production step. Splitting the output channels of every group into chunks of at most
``split_cout`` keeps each output channel's whole sum inside one kernel (same math, a different
kernel's rounding) and interleaves the chunks back with one copy. The other way round cuDNN,
``gemm_cout``, runs those convolutions as im2col (``F.unfold``) and one batched matrix product
per chunk of operators (cuBLAS, tensor cores), at the cost of a 49x larger column buffer, capped
by ``max_cols`` elements per chunk. Both are off by default until measured on a GPU:
``benchmarks/cno_convs.py --sweep`` and ``benchmarks/generate.py --variants graph graph_split
graph_gemm``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["GroupedConv"]


class GroupedConv:
    """``F.conv2d(x, w, b, groups=G)`` for ``w [G * C_out, C_in, k, k]``, split by output channels.

    ``split_cout`` and ``gemm_cout`` (0: never) apply to kernels of at least ``min_kernel`` with
    more output channels per group than they name, the shapes where the heuristic was measured
    to fail; ``gemm_cout`` wins where both apply.
    """

    def __init__(
        self,
        w,
        b,
        groups: int,
        split_cout: int = 0,
        gemm_cout: int = 0,
        min_kernel: int = 7,
        max_cols: int = 2**29,
    ):
        self.groups, self.k = groups, w.shape[-1]
        self.cout = w.shape[0] // groups
        self.chunks = 1
        self.gemm = bool(gemm_cout) and self.k >= min_kernel and self.cout > gemm_cout
        if self.gemm:
            self.wmat = w.reshape(groups, self.cout, -1).contiguous()  # [G, C_out, C_in k k]
            self.bias = None if b is None else b.view(1, groups, self.cout, 1)
            self.max_cols = max_cols
            return
        if split_cout and self.k >= min_kernel and self.cout > split_cout:
            self.chunks = -(-self.cout // split_cout)
        if self.chunks == 1 or self.cout % self.chunks:
            self.chunks = 1
            self.parts = [(w, b)]
            return
        c = self.cout // self.chunks
        wv = w.view(groups, self.chunks, c, *w.shape[1:])
        bv = None if b is None else b.view(groups, self.chunks, c)
        nhwc = w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
        fmt = torch.channels_last if nhwc else torch.contiguous_format
        self.parts = [
            (
                wv[:, j].reshape(groups * c, *w.shape[1:]).contiguous(memory_format=fmt),
                None if bv is None else bv[:, j].reshape(-1).contiguous(),
            )
            for j in range(self.chunks)
        ]

    def __call__(self, x: torch.Tensor, padding: int = 0) -> torch.Tensor:
        if self.gemm:
            return self._gemm(x, padding)
        if self.chunks == 1:
            w, b = self.parts[0]
            return F.conv2d(x, w, b, padding=padding, groups=self.groups)
        ys = [F.conv2d(x, w, b, padding=padding, groups=self.groups) for w, b in self.parts]
        n, _, h, wd = ys[0].shape
        c = self.cout // self.chunks
        out = torch.stack([y.reshape(n, self.groups, c, h, wd) for y in ys], 2)
        return out.view(n, self.groups * self.cout, h, wd)

    def _gemm(self, x: torch.Tensor, padding: int) -> torch.Tensor:
        """im2col and ``[C_out, C_in k k] @ [C_in k k, H W]`` per operator, operators in chunks."""
        n, cin, h, wd = x.shape
        cin_g, k = cin // self.groups, self.k
        ho, wo = h + 2 * padding - k + 1, wd + 2 * padding - k + 1
        per_group = n * cin_g * k * k * ho * wo
        step = max(1, min(self.groups, self.max_cols // max(per_group, 1)))
        ys = []
        for g0 in range(0, self.groups, step):
            g1 = min(self.groups, g0 + step)
            cols = F.unfold(x[:, g0 * cin_g : g1 * cin_g], k, padding=padding)
            y = torch.matmul(self.wmat[g0:g1], cols.view(n, g1 - g0, cin_g * k * k, ho * wo))
            ys.append(y if self.bias is None else y + self.bias[:, g0:g1])
        y = ys[0] if len(ys) == 1 else torch.cat(ys, 1)
        return y.reshape(n, self.groups * self.cout, ho, wo)
