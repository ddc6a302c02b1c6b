"""An example feature family: how much spatial gradient energy a trajectory has, and how it changes.

The entry point names :data:`SPEC`, a light description (no torch import) with the family's
config class; spinlock imports :mod:`.family` only when the family runs.
"""

from __future__ import annotations

import attrs

from spinlock_core.specs import ComponentSpec


@attrs.frozen(kw_only=True)
class GradientEnergyConfig:
    """Options of ``gradient_energy`` (set them as ``feature.gradient_energy.<key>=...``)."""

    final_fraction: float = attrs.field(
        default=0.25, validator=[attrs.validators.gt(0), attrs.validators.le(1)]
    )
    """Fraction of the trajectory, at its end, averaged for ``final_energy``."""


SPEC = ComponentSpec(
    name="gradient_energy",
    summary="Example plugin: mean squared spatial gradient at the start, at the end, and its growth.",
    implementation="spinlock_example_features.family:GradientEnergy",
    config_class=GradientEnergyConfig,
)
