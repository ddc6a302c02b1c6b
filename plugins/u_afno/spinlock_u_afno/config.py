"""The U-AFNO configuration: one frozen attrs class, YAML-able field types only."""

from __future__ import annotations

import attrs

from spinlock_core.api import ConfigError

__all__ = ["UAFNOConfig", "FNOConfig", "PADDING_MODES", "CONDITIONING"]

PADDING_MODES = ("circular", "zeros", "reflect", "replicate")
CONDITIONING = ("film", "adanorm")


def _positive(instance, attribute, value):
    if value < 1:
        raise ConfigError(f"u_afno.{attribute.name} must be >= 1, got {value}")


def _non_negative(instance, attribute, value):
    if value < 0:
        raise ConfigError(f"u_afno.{attribute.name} must be >= 0, got {value}")


def _one_of(choices):
    def check(instance, attribute, value):
        if value not in choices:
            raise ConfigError(f"u_afno.{attribute.name} must be one of {list(choices)}, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class UAFNOConfig:
    """Architecture of the θ-conditioned U-AFNO (see ``docs/backbone-u-afno.md``)."""

    in_channels: int = attrs.field(default=1, validator=_positive)
    """Channels ``C`` of one state (the domain's channel count)."""
    out_channels: int = attrs.field(default=1, validator=_positive)
    """Channels of the predicted state; must equal ``in_channels`` when ``residual`` is on."""
    history: int = attrs.field(default=1, validator=_positive)
    """Past states given as input: the model reads ``[B, in_channels * history, H, W]``."""
    noise_channels: int = attrs.field(default=0, validator=_non_negative)
    """Extra input channels of noise (0: deterministic), so one θ can yield many realizations."""
    width: int = attrs.field(default=32, validator=_positive)
    """Channels at full resolution; level ``l`` has ``width * min(2**l, channel_mult_cap)``."""
    channel_mult_cap: int = attrs.field(default=8, validator=_positive)
    """Cap on the channel multiplier, so deep U-Nets do not grow channels without bound."""
    levels: int = attrs.field(default=3, validator=_non_negative)
    """U-Net depth: stride-2 downsamplings; H and W must be divisible by ``2**levels``."""
    blocks_per_level: int = attrs.field(default=2, validator=_positive)
    """Conditioned residual conv blocks per level, in the encoder and in the decoder."""
    afno_blocks: int = attrs.field(default=4, validator=_non_negative)
    """AFNO blocks in the bottleneck (global mixing at the coarsest grid)."""
    num_afno_blocks: int = attrs.field(default=8, validator=_positive)
    """Block-diagonal split of the spectral MLP; must divide the bottleneck channel count."""
    mode_keep: float = 1.0
    """Fraction of Fourier modes kept per axis: ``|ky| <= floor(f*(h//2))``, ``kx <= floor(f*(w//2))``."""
    sparsity_threshold: float = attrs.field(default=0.01, validator=_non_negative)
    """Soft-shrinkage λ applied to the spectral MLP output (Guibas et al. use 0.01)."""
    hidden_factor: int = attrs.field(default=1, validator=_positive)
    """Hidden width of the spectral MLP, as a multiple of the block size."""
    spectral_activation: str = attrs.field(default="gelu", validator=_one_of(("relu", "gelu")))
    """Spectral-MLP nonlinearity (on real and imaginary parts): ``gelu`` has no dead units, so
    every spectral weight gets a gradient on any batch; ``relu`` is the reference code's choice."""
    mlp_ratio: int = attrs.field(default=2, validator=_positive)
    """Hidden width of the AFNO blocks' channel MLP, as a multiple of the channels."""
    padding: str = attrs.field(default="circular", validator=_one_of(PADDING_MODES))
    """Conv padding: ``circular`` for periodic domains (the FFT assumes periodicity anyway)."""
    conditioning: str = attrs.field(default="adanorm", validator=_one_of(CONDITIONING))
    """How θ enters every block: ``adanorm`` (adaptive GroupNorm) or ``film`` (FiLM on hidden)."""
    cond_dim: int = attrs.field(default=128, validator=_positive)
    """Size of the θ conditioning vector."""
    theta_hidden: int = attrs.field(default=128, validator=_positive)
    """Hidden width of the θ-embedding MLP."""
    categorical_dim: int = attrs.field(default=8, validator=_positive)
    """Embedding size of each categorical θ component."""
    norm_groups: int = attrs.field(default=32, validator=_positive)
    """Maximum GroupNorm groups (the largest divisor of the channels not above it is used)."""
    residual: bool = True
    """Predict ``u_t + scale * net(...)`` (True) or the next state directly (False)."""
    residual_scale_init: float = 0.1
    """Initial per-channel learned residual scale: small, so the untrained model is near identity."""

    def __attrs_post_init__(self):
        if not 0.0 < self.mode_keep <= 1.0:
            raise ConfigError(f"u_afno.mode_keep must be in (0, 1], got {self.mode_keep}")
        if self.residual and self.in_channels != self.out_channels:
            raise ConfigError(
                f"u_afno.residual needs in_channels == out_channels, got {self.in_channels} and "
                f"{self.out_channels}; set residual=false or match them"
            )
        if self.afno_blocks and self.channels(self.levels) % self.num_afno_blocks:
            raise ConfigError(
                f"u_afno.num_afno_blocks={self.num_afno_blocks} must divide the bottleneck channels "
                f"{self.channels(self.levels)} (width * min(2**levels, channel_mult_cap))"
            )

    def channels(self, level: int) -> int:
        """Channel count at U-Net level ``level`` (0 = full resolution, ``levels`` = bottleneck)."""
        return self.width * min(2**level, self.channel_mult_cap)

    @property
    def downsample_factor(self) -> int:
        """``2**levels``: H and W must be multiples of it; periodic shifts by it commute with the net."""
        return 2**self.levels


def _fno_at_least(bound: int):
    def check(instance, attribute, value):
        if value < bound:
            raise ConfigError(f"fno.{attribute.name} must be >= {bound}, got {value}")

    return check


@attrs.frozen(kw_only=True)
class FNOConfig:
    """The ``fno`` baseline's architecture (names follow ``neuralop.models.FNO``)."""

    in_channels: int = attrs.field(default=1, validator=_fno_at_least(1))
    """Channels ``C`` of one state."""
    out_channels: int = attrs.field(default=1, validator=_fno_at_least(1))
    """Channels of the predicted state."""
    history: int = attrs.field(default=1, validator=_fno_at_least(1))
    """Past states given as input (``[B, C * history, H, W]``)."""
    noise_channels: int = attrs.field(default=0, validator=_fno_at_least(0))
    """Extra noise input channels (0: deterministic)."""
    n_modes: int = attrs.field(default=16, validator=_fno_at_least(1))
    """Fourier modes per dimension (neuralop's ``n_modes=(n_modes, n_modes)``: ``n_modes`` rows,
    ``n_modes // 2 + 1`` rfft columns); modes above the grid's get no gradient."""
    hidden_channels: int = attrs.field(default=64, validator=_fno_at_least(1))
    """FNO width."""
    n_layers: int = attrs.field(default=4, validator=_fno_at_least(1))
    """Number of Fourier layers."""
    residual: bool = True
    """Predict ``u_t + scale * FNO(...)`` with a learned per-channel scale, like the U-AFNO."""
    residual_scale_init: float = 0.1
    """Initial residual scale."""

    def __attrs_post_init__(self):
        if self.residual and self.in_channels != self.out_channels:
            raise ConfigError("fno.residual needs in_channels == out_channels")
