"""The ``cno`` family: stochastic random-CNN ("neural reaction-diffusion") operators.

Each sample is an untrained CNN ``O`` with random weights, iterated on a 3-channel field::

    residual:  X' = X + dt * O(X)
    convex:    X' = alpha * X + (1 - alpha) * O(X)

with fresh noise injected into ``O``'s last hidden features at every step. θ fixes the
architecture, the noise and the update; weights come from the sample's own generator.

Many operators are stepped at once. Samples are grouped coarsely by ``(num_layers,
kernel_size, channel bucket)``: each is padded with exactly-zero channels to its bucket's
widths (a function of its own θ), so a group's weights stack and each layer is ONE grouped
convolution (``groups = G``) with the realizations folded into the batch dimension.
Activation, normalization and padding may differ inside a group (contiguous runs after
sorting); per-sample scalars (dt, alpha, noise scale and type, policy) are tensors broadcast
over the group. :meth:`CNOOperator.batch_order_key` lets the generate stage form batches of
few, large groups. See ``docs/operators-cno.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import torch

from spinlock_core.api import (
    CategoricalParam,
    ConfigError,
    ContinuousParam,
    Grid,
    IntegerParam,
    Operator,
    ParameterSpace,
    Stepper,
    sample_keys,
)

from ._cno_group import CNOGroup
from ._cno_layers import plan
from ._cuda_graph import GraphedStep
from .cno_config import CNOConfig

__all__ = ["CNOConfig", "CNOOperator", "CNOStepper"]


@contextmanager
def _native_cpu_conv(active: bool):
    """Use PyTorch's native CPU convolution instead of oneDNN while stepping.

    oneDNN picks different kernels for different group counts, so a sample's result would
    depend on its batch; the native kernel computes each group alone, which makes CPU
    trajectories bitwise batch-independent (at most ~1.5x slower; CPU is the test path).
    Only the ``enabled`` flag is touched (``torch.backends.mkldnn.flags`` would also reset
    the TF32 and precision settings).
    """
    if not active:
        yield
        return
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


class CNOStepper(Stepper):
    """A batch of ``cno`` operators in coarse groups (see :class:`~._cno_group.CNOGroup`).

    The batch is stepped in sorted order (``order``: batch rows sorted by the batch key, None
    when the batch already is, as the generate stage makes it), so each group owns a
    contiguous range: its input is a channel slice of one shared tensor, the group outputs are
    joined by one ``cat``, and the update ``keep X + gain O`` runs once for the whole batch.
    ``step`` runs one Python iteration per *group* (a handful), never per sample. On CUDA the
    step can be replayed from a CUDA graph (``cuda_graph``: ``auto``, ``on`` or ``off``).
    """

    def __init__(self, groups: list[CNOGroup], batch: int, order=None, dtype=None, cuda_graph="off"):
        self.groups, self.batch = groups, batch
        self.dtype = dtype or groups[0].dtype
        device = groups[0].index.device
        self.order = self.inverse = None
        if order is not None and not np.array_equal(order, np.arange(batch)):
            self.order = torch.as_tensor(order, device=device)
            self.inverse = torch.as_tensor(np.argsort(order), device=device)
        self.keep = torch.cat([g.keep for g in groups])  # [B, 1, 1, 1, 1], sorted order
        self.gain = torch.cat([g.gain for g in groups])
        self.graphed = None
        if cuda_graph != "off" and device.type == "cuda":
            self.graphed = GraphedStep(self._step, strict=cuda_graph == "on", name="cno step")

    def step(self, u: torch.Tensor, t: int) -> torch.Tensor:
        """``u [B, M, 3, H, W]`` -> the state after step ``t``, same shape and dtype."""
        if u.shape[0] != self.batch:
            raise ValueError(f"cno stepper built for {self.batch} samples, got state {list(u.shape)}")
        if self.graphed is not None:
            return self.graphed(u, t)
        with _native_cpu_conv(u.device.type == "cpu"):
            return self._step(u, t)

    def _step(self, u: torch.Tensor, t) -> torch.Tensor:
        """The eager step; ``t`` an int or a 0-d int64 device tensor (capture-safe)."""
        b, m, c, h, w = u.shape
        us = u if self.order is None else u.index_select(0, self.order)
        x = us.to(self.dtype).transpose(0, 1).reshape(m, b * c, h, w)
        outs = [grp.forward(x[:, grp.start * c : grp.stop * c], t) for grp in self.groups]
        o = outs[0] if len(outs) == 1 else torch.cat(outs, 1)
        o = o.view(m, b, c, h, w).transpose(0, 1).float()
        out = (self.keep * us.float() + self.gain * o).to(u.dtype)
        return out if self.inverse is None else out.index_select(0, self.inverse)


class CNOOperator(Operator):
    """Stochastic random-CNN operators; θ as in :class:`CNOConfig`."""

    name = "cno"
    stochastic = True
    derived_names = ("parameter_count", "flops_per_step", "receptive_field")

    def __init__(self, config: CNOConfig | None = None):
        self.config = config or CNOConfig()

    @property
    def channels(self) -> tuple[str, ...]:
        return ("u0", "u1", "u2")

    @property
    def parameter_space(self) -> ParameterSpace:
        c = self.config
        return ParameterSpace(
            [
                IntegerParam(
                    name="num_layers",
                    low=c.num_layers[0],
                    high=c.num_layers[1],
                    doc="hidden blocks; residual blocks when > 3",
                ),
                IntegerParam(
                    name="base_channels",
                    low=c.base_channels[0],
                    high=c.base_channels[1],
                    doc="base width b (widths b, 2b, 4b, 4b, ...)",
                ),
                CategoricalParam(
                    name="kernel_size", choices=[str(k) for k in c.kernel_sizes], doc="conv kernel size"
                ),
                CategoricalParam(name="activation", choices=c.activations, doc="activation after each norm"),
                CategoricalParam(
                    name="normalization",
                    choices=c.normalizations,
                    doc="per-sample, per-realization normalization",
                ),
                CategoricalParam(
                    name="noise_type", choices=c.noise_types, doc="noise on the last hidden features"
                ),
                ContinuousParam(
                    name="noise_scale",
                    low=c.noise_scale[0],
                    high=c.noise_scale[1],
                    log=True,
                    doc="noise standard deviation",
                ),
                ContinuousParam(
                    name="spatial_correlation",
                    low=c.spatial_correlation[0],
                    high=c.spatial_correlation[1],
                    doc="noise correlation length, domain units",
                ),
                CategoricalParam(
                    name="update_policy",
                    choices=c.update_policies,
                    weights=c.update_policy_weights,
                    doc="residual or convex update",
                ),
                ContinuousParam(name="dt", low=c.dt[0], high=c.dt[1], log=True, doc="residual time step"),
                ContinuousParam(name="alpha", low=c.alpha[0], high=c.alpha[1], doc="convex retention"),
                CategoricalParam(
                    name="padding", choices=c.paddings, weights=c.padding_weights, doc="conv padding"
                ),
            ]
        )

    def _columns(self, theta: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """θ columns, validated, plus decoded names, kernel sizes and channel buckets."""
        c = self.config
        cols = {k: np.asarray(v) for k, v in theta.items()}
        for name, choices in (
            ("kernel_size", c.kernel_sizes),
            ("activation", c.activations),
            ("normalization", c.normalizations),
            ("noise_type", c.noise_types),
            ("update_policy", c.update_policies),
            ("padding", c.paddings),
        ):
            idx = cols[name]
            if idx.size and (idx.min() < 0 or idx.max() >= len(choices)):
                raise ConfigError(f"cno: θ {name} index out of range for choices {list(choices)}")
            cols[f"{name}_name"] = np.asarray(choices)[idx]
        if cols["num_layers"].min(initial=1) < 1 or cols["base_channels"].min(initial=1) < 1:
            raise ConfigError("cno: θ num_layers and base_channels must be >= 1")
        cols["kernel"] = np.asarray(c.kernel_sizes, dtype=np.int64)[cols["kernel_size"]]
        cols["bucket"] = -(-cols["base_channels"] // c.channel_bucket) * c.channel_bucket
        return cols

    def batch_order_key(self, theta: Mapping[str, np.ndarray]) -> np.ndarray:
        """Per-sample sort key: coarse group ``(num_layers, kernel, bucket)``, then the segment
        ``(padding, activation, normalization)`` inside the group.

        Sorting a chunk of samples by it and cutting batches gives batches of few, large
        groups; :meth:`build` orders each group the same way, so activations and paddings
        act on a few contiguous channel runs. Depends on each sample's own θ only.
        """
        c, cols = self.config, self._columns(theta)
        buckets = (
            -(-max(c.base_channels[1], int(cols["base_channels"].max(initial=1))) // c.channel_bucket) + 1
        )
        coarse = (cols["num_layers"] * len(c.kernel_sizes) + cols["kernel_size"]) * buckets
        coarse = coarse + cols["bucket"] // c.channel_bucket
        segment = (cols["padding"] * len(c.activations) + cols["activation"]) * len(c.normalizations)
        segment = segment + cols["normalization"]
        n_segments = len(c.paddings) * len(c.activations) * len(c.normalizations)
        return (coarse * n_segments + segment).astype(np.int64)

    def _plans(self, theta: Mapping[str, np.ndarray], padded: bool = False) -> list:
        cols = self._columns(theta)
        widths = cols["bucket"] if padded else cols["base_channels"]
        return [
            plan(int(n), int(b), int(k), norm == "none")
            for n, b, k, norm in zip(
                cols["num_layers"], widths, cols["kernel"], cols["normalization_name"], strict=True
            )
        ]

    def build(
        self,
        theta: Mapping[str, np.ndarray],
        sample_index: Sequence[int],
        seed: int,
        grid: Grid,
        device: torch.device,
        dtype: torch.dtype,
    ) -> CNOStepper:
        """Build ``B`` operators; weights from ``generator_for(seed, index, "cno.weights")``.

        Weights are drawn on ``device`` (so they, like the trajectories, are reproducible per
        device type) and noise keys are ``sample_keys(seed, index, "cno.noise")``. Groups are
        the coarse groups of :meth:`batch_order_key`, each sorted by its segment.
        """
        device = torch.device(device)
        cols = self._columns(theta)
        n = len(cols["num_layers"])
        if n != len(sample_index):
            raise ValueError(f"cno: θ has {n} rows but {len(sample_index)} sample indices")
        keys = sample_keys(seed, sample_index, "cno.noise", device)
        order = self.batch_order_key(theta)
        n_segments = (
            len(self.config.paddings) * len(self.config.activations) * len(self.config.normalizations)
        )
        rows = np.argsort(order, kind="stable")
        coarse = order[rows] // n_segments
        cuts = np.flatnonzero(np.diff(coarse)) + 1
        c = self.config
        if c.cuda_graph == "on" and device.type != "cuda":
            raise ConfigError(
                f"cno: operator.cuda_graph=on needs a CUDA device, got {device}; use auto or off"
            )
        fused = "compiled" if c.compile else None
        groups = [
            CNOGroup(part, cols, c, keys, seed, sample_index, grid, device, dtype, start, fused)
            for part, start in zip(np.split(rows, cuts), [0, *cuts], strict=True)
            if len(part)
        ]
        return CNOStepper(groups, n, rows, dtype, c.cuda_graph)

    def derived_columns(self, theta: Mapping[str, np.ndarray], grid: Grid) -> dict[str, np.ndarray]:
        """Per-sample ``parameter_count``, ``flops_per_step`` and ``receptive_field`` of the real
        (unpadded) network.

        FLOPs count 2 per conv multiply-add for one realization over the whole grid (norms,
        activations and noise are not counted); the receptive field is that of one step, in
        grid points.
        """
        plans = self._plans(theta)
        points = int(np.prod(grid.shape))
        return {
            "parameter_count": np.array([p.n_params for p in plans], dtype=np.int64),
            "flops_per_step": np.array([2 * p.macs_per_point * points for p in plans], dtype=np.int64),
            "receptive_field": np.array([p.receptive_field for p in plans], dtype=np.int64),
        }

    def executed_flops(self, theta: Mapping[str, np.ndarray], grid: Grid) -> np.ndarray:
        """Conv FLOPs per step and realization actually run, channel padding included.

        Same convention as ``flops_per_step``; ``executed / flops_per_step`` is the bucket
        overhead (1.35 in total for the default family, see ``docs/operators-cno.md``).
        """
        points = int(np.prod(grid.shape))
        return np.array([2 * p.macs_per_point * points for p in self._plans(theta, padded=True)], np.int64)
