"""Entry-point targets of the reaction-diffusion domain: light specs and config classes."""

from __future__ import annotations

from typing import Any

import attrs

from spinlock_core.api import ComponentSpec, ConfigError, checks

from ._ic_fields import make_config
from .cno_config import CNOConfig
from .gray_scott import GrayScottConfig
from .ics import GENERIC_WEIGHTS, GRAY_SCOTT_WEIGHTS, IC_TYPES

#: Operators of this domain: the keys of ``domain.ic_weights``.
OPERATORS = ("cno", "gray_scott")


def _ic_weights(instance, attribute, value):
    checks.keys_in(OPERATORS, "operator", attribute.name, value)
    for operator, weights in value.items():
        checks.check_weights(weights, f"{attribute.name}.{operator}", IC_TYPES, "IC type")


def _ic_options(instance, attribute, value):
    checks.keys_in(IC_TYPES, "IC type", attribute.name, value)
    for name, options in value.items():
        if not isinstance(options, dict):
            raise checks.FieldError(
                f"{attribute.name}.{name}", f"must be a mapping of options, got {options!r}"
            )
        try:
            make_config(IC_TYPES[name].config_class, options, name)
        except ConfigError as exc:
            raise checks.FieldError(f"{attribute.name}.{name}", getattr(exc, "message", str(exc))) from None


__all__ = ["ReactionDiffusionConfig", "DOMAIN", "CNO", "GRAY_SCOTT"]


@attrs.frozen(kw_only=True)
class ReactionDiffusionConfig:
    """Domain-level settings: the IC mix per operator and the CNO's box."""

    ic_weights: dict[str, dict[str, float]] = attrs.field(
        factory=lambda: {"cno": dict(GENERIC_WEIGHTS), "gray_scott": dict(GRAY_SCOTT_WEIGHTS)},
        validator=_ic_weights,
    )
    """IC type weights per operator (``generate.ic_weights`` overrides them for one run)."""
    ic_options: dict[str, dict[str, Any]] = attrs.field(factory=dict, validator=_ic_options)
    """Options per IC type (e.g. ``{grf: {length_scale: [0.05, 0.2]}}``); see docs/initial-conditions.md."""
    ic_amplitude: tuple[float, float] = attrs.field(default=(0.5, 2.0), validator=checks.span(0, strict=True))
    """Per-sample amplitude of the unit-std IC types, log-uniform in ``[low, high]`` ([1, 1]: off)."""
    extent: tuple[float, float] = attrs.field(default=(0.0, 1.0), validator=checks.span())
    """Side of the periodic square box of the ``cno`` family, in domain units."""


DOMAIN = ComponentSpec(
    name="reaction_diffusion",
    summary="Reaction-diffusion families: random-CNN (cno) and Gray-Scott operators, 9 IC types.",
    implementation="spinlock_reaction_diffusion.domain:ReactionDiffusionDomain",
    config_class=ReactionDiffusionConfig,
    extras={"operators": OPERATORS},
)
CNO = ComponentSpec(
    name="cno",
    summary="Stochastic random-CNN operators (neural reaction-diffusion), batched by architecture.",
    implementation="spinlock_reaction_diffusion.cno:CNOOperator",
    config_class=CNOConfig,
)
GRAY_SCOTT = ComponentSpec(
    name="gray_scott",
    summary="Periodic pseudo-spectral Gray-Scott (ETDRK4), The Well's setup, θ = (F, k).",
    implementation="spinlock_reaction_diffusion.gray_scott:GrayScottOperator",
    config_class=GrayScottConfig,
)
