"""The θ-conditioned U-AFNO one-step model and parameter accounting."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from spinlock_core.api import ParameterSpace

from .conditioning import ThetaEmbedding
from .config import UAFNOConfig
from .layers import AFNOBlock, CondNorm, ConvResBlock, Downsample, Upsample

__all__ = [
    "UAFNO",
    "build_u_afno",
    "effective_parameter_count",
    "forward_flops",
    "FlopCount",
    "parameter_report",
    "ParameterReport",
    "real_numel",
]


class UAFNO(nn.Module):
    """θ-conditioned U-Net with an AFNO bottleneck: one step ``u_t -> u_{t+1}`` of a family.

    Layout (``L = levels``, ``c_l = width * min(2**l, channel_mult_cap)``)::

        [state, noise] -conv-> c_0 @ HxW
        encoder  l = 0..L-1: blocks_per_level ConvResBlocks (c_l), skip_l, Downsample -> c_{l+1}
        bottleneck @ H/2^L x W/2^L: afno_blocks AFNOBlocks (c_L)
        decoder  l = L-1..0: Upsample -> c_l, concat skip_l, blocks_per_level ConvResBlocks (c_l)
        head: norm, GELU, 1x1 conv -> out_channels
        next = state_newest + scale * head   (residual=True; scale is a learned [C] vector)

    Every block is conditioned on ``c = ThetaEmbedding(θ)``.

    Args:
        config: the architecture.
        parameter_space: the domain's parameter space (defines the θ encoding).
    """

    def __init__(self, config: UAFNOConfig, parameter_space: ParameterSpace | None):
        super().__init__()
        self.config = cfg = config
        self.parameter_space = parameter_space
        d, pad, groups = cfg.cond_dim, cfg.padding, cfg.norm_groups
        self.theta_embedding = ThetaEmbedding(parameter_space, d, cfg.theta_hidden, cfg.categorical_dim)

        def res(cin: int, cout: int) -> ConvResBlock:
            return ConvResBlock(cin, cout, d, cfg.conditioning, pad, groups)

        self.stem = nn.Conv2d(
            cfg.in_channels * cfg.history + cfg.noise_channels,
            cfg.channels(0),
            3,
            padding=1,
            padding_mode=pad,
        )
        self.encoder = nn.ModuleList()
        self.down = nn.ModuleList()
        for lvl in range(cfg.levels):
            c = cfg.channels(lvl)
            self.encoder.append(nn.ModuleList(res(c, c) for _ in range(cfg.blocks_per_level)))
            self.down.append(Downsample(c, cfg.channels(lvl + 1), pad))
        cb = cfg.channels(cfg.levels)
        self.bottleneck = nn.ModuleList(
            AFNOBlock(
                cb,
                d,
                cfg.conditioning,
                cfg.num_afno_blocks,
                cfg.mode_keep,
                cfg.sparsity_threshold,
                cfg.hidden_factor,
                cfg.mlp_ratio,
                groups,
                cfg.spectral_activation,
            )
            for _ in range(cfg.afno_blocks)
        )
        #: identity on the bottleneck output: what :attr:`latent_module` exposes to hooks
        self.latent_tap = nn.Identity()
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for lvl in reversed(range(cfg.levels)):
            c = cfg.channels(lvl)
            self.up.append(Upsample(cfg.channels(lvl + 1), c, pad))
            blocks = [res(2 * c, c)] + [res(c, c) for _ in range(cfg.blocks_per_level - 1)]
            self.decoder.append(nn.ModuleList(blocks))
        self.head_norm = CondNorm(cfg.channels(0), d, cfg.conditioning == "adanorm", groups)
        self.head = nn.Conv2d(cfg.channels(0), cfg.out_channels, 1)
        if cfg.residual:
            self.residual_scale = nn.Parameter(torch.full((cfg.out_channels,), cfg.residual_scale_init))
        else:
            self.register_parameter("residual_scale", None)

    def _check_inputs(self, state: torch.Tensor, noise: torch.Tensor | None) -> None:
        cfg = self.config
        want = cfg.in_channels * cfg.history
        if state.ndim != 4 or state.shape[1] != want:
            raise ValueError(
                f"state must be [B, in_channels * history = {want}, H, W], got {list(state.shape)}"
            )
        f = cfg.downsample_factor
        if state.shape[-2] % f or state.shape[-1] % f:
            raise ValueError(f"H, W must be multiples of 2**levels = {f}, got {list(state.shape[-2:])}")
        if cfg.noise_channels and noise is None:
            raise ValueError(
                f"this model has noise_channels={cfg.noise_channels}: pass noise "
                f"[B, {cfg.noise_channels}, H, W] (e.g. from model.make_noise) for each step"
            )
        if noise is not None:
            if not cfg.noise_channels:
                raise ValueError("noise given to a model built with noise_channels=0")
            expect = (state.shape[0], cfg.noise_channels, *state.shape[-2:])
            if tuple(noise.shape) != expect:
                raise ValueError(f"noise must be {list(expect)}, got {list(noise.shape)}")

    def make_noise(self, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Standard normal noise ``[B, noise_channels, H, W]`` matching ``like`` (``None`` if unused)."""
        n = self.config.noise_channels
        if not n:
            return None
        b, _, h, w = like.shape
        return torch.randn(b, n, h, w, generator=generator, device=like.device, dtype=like.dtype)

    @property
    def latent_module(self) -> nn.Module:
        """A module called once per step whose output is the latent ``[B, latent_dim, H/2^L, W/2^L]``
        (the bottleneck after the AFNO blocks); a forward hook on it reads the latent (the
        ``latent`` loss does)."""
        return self.latent_tap

    @property
    def latent_dim(self) -> int:
        """Channels of :attr:`latent_module`'s output."""
        return self.config.channels(self.config.levels)

    def condition(self, theta: Mapping[str, torch.Tensor] | None, batch_size: int) -> torch.Tensor:
        """Decoded θ ``{name: [B]}`` -> conditioning vector ``[B, cond_dim]``."""
        c = self.theta_embedding(theta, batch_size)
        if c.shape[0] != batch_size:
            raise ValueError(f"θ has batch size {c.shape[0]}, the state {batch_size}")
        return c

    def forward(
        self,
        state: torch.Tensor,
        theta: Mapping[str, torch.Tensor] | None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One step of the family member θ.

        Args:
            state: ``[B, C * history, H, W]``, past states oldest first (the newest is the last
                ``C`` channels); H, W multiples of ``2**levels``.
            theta: decoded θ, ``{name: Tensor [B]}`` per the parameter space (float for
                continuous, int64 for integers and categorical choice indices, bool for booleans).
            noise: ``[B, noise_channels, H, W]`` when ``noise_channels > 0``, else ``None``.

        Returns:
            next state ``[B, out_channels, H, W]``.
        """
        self._check_inputs(state, noise)
        c = self.condition(theta, state.shape[0])
        x = state if noise is None else torch.cat([state, noise.to(state.dtype)], dim=1)
        x = self.stem(x)
        skips = []
        for blocks, down in zip(self.encoder, self.down, strict=True):
            for blk in blocks:
                x = blk(x, c)
            skips.append(x)
            x = down(x)
        for blk in self.bottleneck:
            x = blk(x, c)
        x = self.latent_tap(x)
        for up, blocks in zip(self.up, self.decoder, strict=True):
            x = torch.cat([up(x), skips.pop()], dim=1)
            for blk in blocks:
                x = blk(x, c)
        out = self.head(F.gelu(self.head_norm(x, c)))
        if self.residual_scale is None:
            return out
        newest = state[:, -self.config.in_channels :]
        return newest + self.residual_scale.to(out.dtype)[None, :, None, None] * out


@attrs.frozen
class ParameterReport:
    """Parameter accounting of one backward pass, in real scalars (a complex element counts 2,
    so models that store spectral weights as complex tensors compare fairly)."""

    total: int
    effective: int
    dead: tuple[str, ...]  # names of parameter tensors with at least one zero-gradient element


def real_numel(p: torch.Tensor) -> int:
    """Real scalars in ``p``: ``numel``, doubled for complex tensors."""
    return p.numel() * (2 if p.is_complex() else 1)


def parameter_report(model: nn.Module, example_inputs: Sequence | Mapping, seed: int = 0) -> ParameterReport:
    """Run forward + backward on ``example_inputs`` and count parameters with a non-zero gradient.

    The loss is a fixed random projection of the output (a plain sum can cancel by symmetry).
    ``.grad`` fields are not touched. Inputs should cover every categorical choice, since an
    embedding row absent from the batch legitimately gets no gradient.
    """
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if isinstance(example_inputs, Mapping):
        out = model(**example_inputs)
    else:
        out = model(*example_inputs)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    proj = torch.randn(out.shape, generator=gen, dtype=torch.float32).to(out.device, out.dtype)
    grads = torch.autograd.grad((out * proj).sum(), [p for _, p in params], allow_unused=True)
    effective, dead = 0, []
    for (name, p), g in zip(params, grads, strict=True):
        nz = 0 if g is None else int((torch.view_as_real(g) if g.is_complex() else g).ne(0).sum())
        effective += nz
        if nz < real_numel(p):
            dead.append(name)
    total = sum(real_numel(p) for _, p in params)
    return ParameterReport(total=total, effective=effective, dead=tuple(dead))


def effective_parameter_count(model: nn.Module, example_inputs: Sequence | Mapping) -> int:
    """Number of parameter elements that receive a non-zero gradient on ``example_inputs``."""
    return parameter_report(model, example_inputs).effective


def build_u_afno(
    config: UAFNOConfig, parameter_space: ParameterSpace | None, device=None, dtype=None
) -> UAFNO:
    """Build on ``device`` (``"meta"`` counts parameters without allocating them)."""
    if device is not None and str(device) == "meta":
        with torch.device("meta"):
            return UAFNO(config, parameter_space)
    return UAFNO(config, parameter_space).to(device=device, dtype=dtype)


@attrs.frozen
class FlopCount:
    """Forward FLOPs of one sample-step (batch 1), multiply-add = 2 FLOPs."""

    counted: int
    """Matmuls, convolutions and linear layers, from ``torch.utils.flop_counter.FlopCounterMode``."""
    fft: int
    """The AFNO ``rfft2``/``irfft2`` pairs, analytic (the FLOP counter skips FFTs): each
    transform of a real ``h x w`` field counts as one complex transform of ``N = h w / 2``
    points at ``5 N log2 N``, per channel."""

    @property
    def total(self) -> int:
        return self.counted + self.fft


def fft_flops(config: UAFNOConfig, height: int, width: int) -> int:
    """Analytic FFT FLOPs of one forward of one sample (see :attr:`FlopCount.fft`)."""
    h, w = height // config.downsample_factor, width // config.downsample_factor
    n = h * w / 2
    per_transform = 5 * n * math.log2(n) if n > 1 else 0.0
    return int(round(2 * per_transform * config.channels(config.levels) * config.afno_blocks))


def forward_flops(
    config: UAFNOConfig, parameter_space: ParameterSpace | None, height: int, width: int | None = None
) -> FlopCount:
    """FLOPs of one forward step of one sample on an ``height x width`` grid.

    The model is built and run under ``FakeTensorMode``: shapes only, nothing allocated, so the
    large preset counts in seconds on any machine. θ is the middle of the parameter space.
    """
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils.flop_counter import FlopCounterMode

    width = height if width is None else width
    theta = None
    if parameter_space is not None and parameter_space.dim:
        unit = np.full((1, parameter_space.dim), 0.5)
        theta = {k: torch.as_tensor(v) for k, v in parameter_space.decode(unit).items()}
    with torch.device("meta"):
        model = UAFNO(config, parameter_space)
    with FakeTensorMode(allow_non_fake_inputs=True):
        model.to_empty(device="cpu")  # fake CPU tensors: shapes only, no initialisation
    # the forward runs outside the fake mode, so θ stays real (its range check reads values);
    # ops on the fake parameters dispatch to their own fake mode
    state = torch.zeros(1, config.in_channels * config.history, height, width)
    noise = model.make_noise(state)
    with FlopCounterMode(display=False) as counter:
        model(state, theta, noise)
    return FlopCount(counted=int(counter.get_total_flops()), fft=fft_flops(config, height, width))
