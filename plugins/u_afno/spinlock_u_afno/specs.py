"""Entry-point target of the ``u_afno`` backbone (light: no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from spinlock_core.api import ComponentSpec, ConfigError, checks, structure

from .config import FNOConfig, UAFNOConfig

__all__ = ["UAFNOOptions", "U_AFNO", "FNOOptions", "FNO", "FNO2DPaperOptions", "FNO2D_PAPER"]


#: Set from the data and ``mno.history``, never by ``overrides``.
_FROM_DATA = ("in_channels", "out_channels", "history")


def _overrides_of(cls: type):
    """attrs validator: ``overrides`` names fields of ``cls`` with values each field accepts alone."""
    fields = {f.name: f for f in attrs.fields(cls) if f.name not in _FROM_DATA}

    def check(instance, attribute, value):
        checks.keys_in(fields, "backbone option", attribute.name, value)
        attrs.resolve_types(cls)
        for name, raw in value.items():
            field = fields[name]
            try:
                typed = structure(raw, field.type, "")
                if field.validator is not None:
                    field.validator(None, field, typed)
            except ConfigError as exc:
                message = getattr(exc, "message", str(exc)).removesuffix(" @ (root)")
                raise checks.FieldError(f"{attribute.name}.{name}", message) from None

    return check


def _preset_of(table: str):
    """attrs validator: the value names a preset of ``presets.<table>``; the error lists the valid ones."""

    def check(instance, attribute, value):
        from . import presets  # attrs and the config classes only: still light

        checks.keys_in(sorted(getattr(presets, table)), "preset", attribute.name, [value])

    return check


@attrs.frozen(kw_only=True)
class UAFNOOptions:
    """The ``backbone`` section for ``u_afno``: the size preset and fields of
    :class:`~spinlock_u_afno.UAFNOConfig` that override it (channels and history come from the
    data and ``mno.history``)."""

    preset: str = attrs.field(default="small", validator=_preset_of("PRESETS"))
    """Size preset: ``small`` (CPUs, tests and the default run), ``base``, ``large``
    (:data:`~spinlock_u_afno.PRESETS`); ``scale=production`` picks ``large``."""
    overrides: dict[str, Any] = attrs.field(factory=dict, validator=_overrides_of(UAFNOConfig))
    """e.g. ``{width: 32, mode_keep: 0.5}``; unknown names are an error listing the valid ones."""


U_AFNO = ComponentSpec(
    name="u_afno",
    summary="θ-conditioned U-Net with an AFNO bottleneck (the meta neural operator); presets small/base/large.",
    implementation="spinlock_u_afno.backbone:build_backbone",
    config_class=UAFNOOptions,
)


@attrs.frozen(kw_only=True)
class FNOOptions:
    """The ``backbone`` section for ``fno``: the size preset and fields of
    :class:`~spinlock_u_afno.FNOConfig` that override it (channels and history come from the data)."""

    preset: str = attrs.field(default="small", validator=_preset_of("FNO_PRESETS"))
    """Size preset, named like u_afno's at about the same parameter counts: ``small``, ``base``,
    ``large`` (:data:`~spinlock_u_afno.FNO_PRESETS`); ``scale=production`` picks ``large``."""
    overrides: dict[str, Any] = attrs.field(factory=dict, validator=_overrides_of(FNOConfig))
    """e.g. ``{n_modes: 12, hidden_channels: 64}``; unknown names are an error listing the valid ones."""


FNO = ComponentSpec(
    name="fno",
    summary="Baseline: neuraloperator's FNO with θ as constant input channels (pip install spinlock[neuralop]).",
    implementation="spinlock_u_afno.backbone:build_fno",
    config_class=FNOOptions,
    # optional module -> install hint; checked when a config selects it and by `plugins list`
    extras={"requires": {"neuralop": "pip install 'spinlock[neuralop]'"}},
)


def _at_least_one(instance, attribute, value):
    if value < 1:
        raise ConfigError(f"fno2d_paper.{attribute.name} must be >= 1, got {value}")


@attrs.frozen(kw_only=True)
class FNO2DPaperOptions:
    """The ``backbone`` section for ``fno2d_paper``: the sizes of the FNO paper's FNO-2D
    (:mod:`spinlock_u_afno.fno2d_paper`); the defaults are the paper's. No presets: the network
    is the published one, channels and history come from the data and ``mno.history``."""

    width: int = attrs.field(default=20, validator=_at_least_one)
    """Channels of the Fourier layers (paper: 20)."""
    modes: int = attrs.field(default=12, validator=_at_least_one)
    """Fourier modes kept per sign on the first axis and on the real-FFT axis (paper: 12)."""
    n_layers: int = attrs.field(default=4, validator=_at_least_one)
    """Fourier layers (paper: 4)."""
    projection_width: int = attrs.field(default=128, validator=_at_least_one)
    """Hidden width of the projection ``Linear(width, ·) -> GELU -> Linear(·, channels)`` (paper: 128)."""


FNO2D_PAPER = ComponentSpec(
    name="fno2d_paper",
    summary="Baseline: the FNO paper's FNO-2D as published (width 20, 12 modes, 4 layers, grid input, no θ).",
    implementation="spinlock_u_afno.fno2d_paper:build_fno2d_paper",
    config_class=FNO2DPaperOptions,
)
