"""The factory the ``mno`` stage calls through the ``spinlock.backbones`` entry point."""

from __future__ import annotations

from .model import build_u_afno
from .presets import preset


def build_backbone(options, *, preset_name: str, channels: int, history: int, parameter_space, device=None):
    """A ``u_afno`` model for ``channels`` fields reading ``history`` past states."""
    overrides = dict(getattr(options, "overrides", None) or {})
    config = preset(
        preset_name,
        **{
            "noise_channels": 0,
            **overrides,
            "in_channels": channels,
            "out_channels": channels,
            "history": history,
        },
    )
    return build_u_afno(config, parameter_space, device=device), config
