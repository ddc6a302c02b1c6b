"""Named U-AFNO sizes. Parameter counts are for one channel, ``history=1`` and a small θ space.

========  ===========  ====================  ==========================================
preset    parameters   FLOP/sample-step@64²  intent
========  ===========  ====================  ==========================================
small     ~0.3 M       ~0.3e9                CPU tests and the default run
base      ~23 M        ~2.5e9                single-GPU studies at 64x64 / 128x128
large     ~155 M       ~1.2e10               the prototype's scale and cost, every
                                             parameter reachable
========  ===========  ====================  ==========================================

The ``fno`` baseline has presets of the same names at about the same parameter counts
(:data:`FNO_PRESETS`; real scalars, a complex spectral weight counts twice), so ``backbone.preset``
means the same size for either backbone.
"""

from __future__ import annotations

import attrs

from spinlock_core.api import ConfigError

from .config import FNOConfig, UAFNOConfig

__all__ = ["PRESETS", "preset", "FNO_PRESETS", "fno_preset"]

PRESETS: dict[str, UAFNOConfig] = {}
FNO_PRESETS: dict[str, FNOConfig] = {}


def preset(name: str, **overrides) -> UAFNOConfig:
    """The named preset with ``overrides`` applied (e.g. ``in_channels=2, history=3``)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown u_afno preset {name!r}; valid: {sorted(PRESETS)}")
    try:
        return attrs.evolve(PRESETS[name], **overrides)
    except TypeError as e:
        fields = [f.name for f in attrs.fields(UAFNOConfig)]
        raise ConfigError(f"bad u_afno override {sorted(overrides)}: {e}; valid fields: {fields}") from None


def fno_preset(name: str, **overrides) -> FNOConfig:
    """The named ``fno`` preset with ``overrides`` applied."""
    if name not in FNO_PRESETS:
        raise ConfigError(f"unknown fno preset {name!r}; valid: {sorted(FNO_PRESETS)}")
    try:
        return attrs.evolve(FNO_PRESETS[name], **overrides)
    except TypeError as e:
        fields = [f.name for f in attrs.fields(FNOConfig)]
        raise ConfigError(f"bad fno override {sorted(overrides)}: {e}; valid fields: {fields}") from None


# Designed by FLOPs (docs/backbone-u-afno.md, "Presets"): a parameter at an h x w grid costs
# 2 h w FLOPs per forward, so the thin full-resolution levels stay cheap and most parameters sit
# in the AFNO blocks at the coarsest grid (4x4 for base and large at 64x64). The three differ by
# width (halving) and AFNO depth (halving); small keeps levels=2 so grids of 8 still work.
PRESETS["small"] = UAFNOConfig(
    width=12,
    levels=2,
    blocks_per_level=2,
    afno_blocks=4,
    num_afno_blocks=4,
    mlp_ratio=6,
    cond_dim=64,
    theta_hidden=64,
)
PRESETS["base"] = UAFNOConfig(
    width=24,
    channel_mult_cap=16,
    levels=4,
    blocks_per_level=2,
    afno_blocks=8,
    num_afno_blocks=8,
    mlp_ratio=6,
    cond_dim=128,
    theta_hidden=128,
)
PRESETS["large"] = UAFNOConfig(
    width=48,
    channel_mult_cap=16,
    levels=4,
    blocks_per_level=2,
    afno_blocks=16,
    num_afno_blocks=16,
    mlp_ratio=6,
    cond_dim=256,
    theta_hidden=256,
)

# FNO sizes (neuraloperator 2.0, one channel, the 4-parameter test θ space; real scalars):
# small ~0.34 M, base ~19 M, large ~161 M. n_modes=32 keeps every weight reachable at 32x32 and up.
FNO_PRESETS["small"] = FNOConfig(n_modes=8, hidden_channels=32, n_layers=4)
FNO_PRESETS["base"] = FNOConfig(n_modes=16, hidden_channels=128, n_layers=4)
FNO_PRESETS["large"] = FNOConfig(n_modes=32, hidden_channels=192, n_layers=4)
