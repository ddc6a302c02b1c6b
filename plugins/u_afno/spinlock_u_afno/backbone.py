"""The factories the ``mno`` stage calls through the ``spinlock.backbones`` entry points.

Both take the same arguments and return ``(model, config)``: ``options`` is the backbone's
config section (its ``overrides`` are applied on top of its ``preset``); channels and history
come from the data and ``mno.history``.
"""

from __future__ import annotations

from .presets import fno_preset, preset


def _config(make, options, channels: int, history: int):
    overrides = dict(getattr(options, "overrides", None) or {})
    return make(
        getattr(options, "preset", None) or "small",
        **{
            "noise_channels": 0,
            **overrides,
            "in_channels": channels,
            "out_channels": channels,
            "history": history,
        },
    )


def build_backbone(options, *, channels: int, history: int, parameter_space, device=None):
    """A ``u_afno`` model for ``channels`` fields reading ``history`` past states."""
    from .model import build_u_afno

    config = _config(preset, options, channels, history)
    return build_u_afno(config, parameter_space, device=device), config


def build_fno(options, *, channels: int, history: int, parameter_space, device=None):
    """An ``fno`` baseline (neuraloperator's FNO) of the same interface; needs ``spinlock[neuralop]``."""
    from .fno import FNOBaseline

    config = _config(fno_preset, options, channels, history)
    return FNOBaseline(config, parameter_space).to(device=device), config
