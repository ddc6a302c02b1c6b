"""Config of the ``cno`` family: light (attrs only), so listing and validating plugins never imports torch."""

from __future__ import annotations

import math

import attrs

from spinlock_core.api import ConfigError, checks

__all__ = ["CNOConfig", "ACTIVATION_NAMES", "NORMALIZATIONS", "NOISE_TYPES", "UPDATE_POLICIES", "PADDINGS"]

ACTIVATION_NAMES = ("gelu", "silu", "tanh")
NORMALIZATIONS = ("instance", "group", "none")
NOISE_TYPES = ("gaussian", "multiplicative", "laplace")
UPDATE_POLICIES = ("residual", "convex")
PADDINGS = ("circular", "zero")


def _subset_of(valid):
    def check(instance, attribute, value):
        bad = [v for v in value if v not in valid]
        if bad or not value:
            raise ConfigError(f"cno.{attribute.name}: {list(value)} invalid; choose from {list(valid)}")

    return check


def _one_of(name, valid):
    def check(instance, attribute, value):
        if value not in valid:
            raise ConfigError(f"cno.{name}: {value!r} invalid; choose from {list(valid)}")

    return check


def _weights(choices: str):
    def check(instance, attribute, value):
        if any(not math.isfinite(w) or w < 0 for w in value) or not sum(value) > 0:
            raise checks.FieldError(
                attribute.name,
                f"must be finite weights >= 0 with a positive sum (one per {choices}), got {list(value)}",
            )
        if len(value) != len(getattr(instance, choices)):
            raise checks.FieldError(
                attribute.name,
                f"gives {len(value)} weights for {len(getattr(instance, choices))} {choices} "
                f"{list(getattr(instance, choices))}; give one weight per entry",
            )

    return check


def _odd_kernels(instance, attribute, value):
    if not value or any(int(k) < 1 or int(k) % 2 == 0 for k in value):
        raise ConfigError(f"cno.kernel_sizes: need odd positive sizes, got {list(value)}")


def _tuple(field_type=None):
    return lambda v: tuple(field_type(x) for x in v) if field_type else tuple(v)


@attrs.frozen(kw_only=True)
class CNOConfig:
    """Ranges and choices of the θ dimensions of the ``cno`` family (YAML-friendly types)."""

    #: Number of hidden blocks ``L`` (integer range, both ends included); ``L > 3`` gives residual blocks.
    num_layers: tuple[int, int] = attrs.field(default=(2, 5), converter=_tuple(int), validator=checks.span(1))
    #: Base width ``b``; hidden widths are ``b, 2b, 4b, 4b, ...``.
    base_channels: tuple[int, int] = attrs.field(
        default=(16, 64), converter=_tuple(int), validator=checks.span(1)
    )
    #: Kernel sizes to choose from (odd, equally likely).
    kernel_sizes: tuple[int, ...] = attrs.field(
        default=(3, 5, 7), converter=_tuple(int), validator=_odd_kernels
    )
    #: Activations to choose from (equally likely).
    activations: tuple[str, ...] = attrs.field(
        default=("gelu", "silu", "tanh"), converter=_tuple(str), validator=_subset_of(ACTIVATION_NAMES)
    )
    #: Normalizations after each hidden conv (equally likely); statistics per sample and realization.
    normalizations: tuple[str, ...] = attrs.field(
        default=NORMALIZATIONS, converter=_tuple(str), validator=_subset_of(NORMALIZATIONS)
    )
    #: Noise types on the last hidden features: additive Gaussian, ``h * (1 + σξ)``, additive Laplace.
    noise_types: tuple[str, ...] = attrs.field(
        default=NOISE_TYPES, converter=_tuple(str), validator=_subset_of(NOISE_TYPES)
    )
    #: Noise standard deviation σ, log-uniform.
    noise_scale: tuple[float, float] = attrs.field(
        default=(1e-5, 1.0), converter=_tuple(float), validator=checks.span(0, strict=True)
    )
    #: Correlation length of the noise in domain units (std of a Gaussian smoothing kernel); 0 = white.
    spatial_correlation: tuple[float, float] = attrs.field(
        default=(0.0, 0.3), converter=_tuple(float), validator=checks.span(0)
    )
    #: Update policies: ``X + dt·O(X)`` or ``αX + (1-α)·O(X)``.
    update_policies: tuple[str, ...] = attrs.field(
        default=UPDATE_POLICIES, converter=_tuple(str), validator=_subset_of(UPDATE_POLICIES)
    )
    #: Probabilities of ``update_policies`` (normalised).
    update_policy_weights: tuple[float, ...] = attrs.field(
        default=(0.75, 0.25), converter=_tuple(float), validator=_weights("update_policies")
    )
    #: Residual time step, log-uniform; a decade either side of the prototype's fixed 0.01.
    dt: tuple[float, float] = attrs.field(
        default=(1e-3, 1e-1), converter=_tuple(float), validator=checks.span(0, strict=True)
    )
    #: Convex retention α (used by the convex policy only).
    alpha: tuple[float, float] = attrs.field(
        default=(0.3, 0.9), converter=_tuple(float), validator=checks.span(0, maximum=1)
    )
    #: Padding of every conv: periodic (``circular``) or ``zero``.
    paddings: tuple[str, ...] = attrs.field(
        default=PADDINGS, converter=_tuple(str), validator=_subset_of(PADDINGS)
    )
    #: Probabilities of ``paddings`` (normalised); periodic by default, matching periodic ICs.
    padding_weights: tuple[float, ...] = attrs.field(
        default=(0.75, 0.25), converter=_tuple(float), validator=_weights("paddings")
    )
    #: Channel groups per conv for ``group`` normalization (contiguous, nearly equal sizes).
    group_norm_groups: int = attrs.field(default=8, converter=int, validator=attrs.validators.ge(1))
    #: Epsilon of the normalizations.
    norm_eps: float = attrs.field(default=1e-5, converter=float, validator=checks.above(0))
    #: Performance only: samples are grouped by ``(num_layers, kernel_size, bucket)`` with ``b``
    #: padded up to a multiple of this (exactly-zero channels; each sample's math is unchanged).
    channel_bucket: int = attrs.field(default=16, converter=int, validator=attrs.validators.ge(1))
    #: Performance only, CUDA only: grouped 7x7 convolutions with more output channels per
    #: operator than this run as several convolutions of at most this many (see ``_cno_conv``:
    #: cuDNN's heuristic picks a kernel without tensor cores for 256 per group, 35 vs 320+
    #: TFLOP/s). 0 (the default until the split itself is measured on a GPU) = never.
    split_cout: int = attrs.field(default=0, converter=int, validator=attrs.validators.ge(0))
    #: Performance only, CUDA only: the same convolutions (more output channels per operator
    #: than this, 7x7) as im2col plus one cuBLAS matrix product per chunk of operators instead
    #: of cuDNN. 0 (the default until measured on a GPU) = never; wins over ``split_cout``.
    gemm_cout: int = attrs.field(default=0, converter=int, validator=attrs.validators.ge(0))
    #: Performance only: run the convolutions in ``channels_last`` memory format (GPU option).
    channels_last: bool = attrs.field(default=False, converter=bool)
    #: CUDA only: replay each batch's step from a CUDA graph (one launch per step). ``auto``
    #: captures on CUDA and falls back to eager with a warning if capture fails; ``on`` raises
    #: instead; ``off`` steps eagerly. Replay runs the captured kernels, so values are those
    #: of the eager step.
    cuda_graph: str = attrs.field(default="auto", validator=_one_of("cuda_graph", ("auto", "on", "off")))
    #: Fuse the work between convolutions with ``torch.compile`` (see ``_cno_fused``). Agrees
    #: with the default (exact) path to float rounding, not bitwise: a dataset made with it must
    #: be replayed with it. Compiles a few graphs per process (seconds each).
    compile: bool = attrs.field(default=False, converter=bool)
