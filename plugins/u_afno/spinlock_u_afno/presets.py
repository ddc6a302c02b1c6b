"""Named U-AFNO sizes. Parameter counts are for one channel, ``history=1`` and a small θ space.

========  ===========  =======================================================
preset    parameters   intent
========  ===========  =======================================================
small     ~0.5 M       CPU tests and the default run
base      ~20 M        single-GPU studies at 64x64 / 128x128
large     ~150-230 M   the prototype's scale, with every parameter reachable
========  ===========  =======================================================
"""

from __future__ import annotations

import attrs

from spinlock_core.errors import ConfigError

from .config import UAFNOConfig

__all__ = ["PRESETS", "preset"]

PRESETS: dict[str, UAFNOConfig] = {}


def preset(name: str, **overrides) -> UAFNOConfig:
    """The named preset with ``overrides`` applied (e.g. ``in_channels=2, history=3``)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown u_afno preset {name!r}; valid: {sorted(PRESETS)}")
    try:
        return attrs.evolve(PRESETS[name], **overrides)
    except TypeError as e:
        fields = [f.name for f in attrs.fields(UAFNOConfig)]
        raise ConfigError(f"bad u_afno override {sorted(overrides)}: {e}; valid fields: {fields}") from None


PRESETS["small"] = UAFNOConfig(
    width=16,
    levels=2,
    blocks_per_level=2,
    afno_blocks=2,
    num_afno_blocks=4,
    cond_dim=64,
    theta_hidden=64,
)
PRESETS["base"] = UAFNOConfig(
    width=64,
    levels=3,
    blocks_per_level=2,
    afno_blocks=4,
    num_afno_blocks=8,
    cond_dim=128,
    theta_hidden=128,
)
PRESETS["large"] = UAFNOConfig(
    width=160,
    levels=3,
    blocks_per_level=2,
    afno_blocks=8,
    num_afno_blocks=16,
    mlp_ratio=4,
    cond_dim=256,
    theta_hidden=256,
)
