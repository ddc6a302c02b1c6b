"""Entry-point targets of the reaction-diffusion domain: light specs and config classes."""

from __future__ import annotations

from typing import Any

import attrs

from spinlock_core.specs import ComponentSpec

from .cno_config import CNOConfig
from .gray_scott import GrayScottConfig
from .ics import GENERIC_WEIGHTS, GRAY_SCOTT_WEIGHTS

__all__ = ["ReactionDiffusionConfig", "DOMAIN", "CNO", "GRAY_SCOTT"]


@attrs.frozen(kw_only=True)
class ReactionDiffusionConfig:
    """Domain-level settings: the IC mix per operator and the CNO's box."""

    ic_weights: dict[str, dict[str, float]] = attrs.Factory(
        lambda: {"cno": dict(GENERIC_WEIGHTS), "gray_scott": dict(GRAY_SCOTT_WEIGHTS)}
    )
    """IC type weights per operator (``generate.ic_weights`` overrides them for one run)."""
    ic_options: dict[str, dict[str, Any]] = attrs.Factory(dict)
    """Options per IC type (e.g. ``{grf: {length_scale: [0.05, 0.2]}}``); see docs/initial-conditions.md."""
    ic_amplitude: tuple[float, float] = (0.5, 2.0)
    """Per-sample amplitude of the unit-std IC types, log-uniform in ``[low, high]`` ([1, 1]: off)."""
    extent: tuple[float, float] = (0.0, 1.0)
    """Side of the periodic square box of the ``cno`` family, in domain units."""


DOMAIN = ComponentSpec(
    name="reaction_diffusion",
    summary="Reaction-diffusion families: random-CNN (cno) and Gray-Scott operators, 9 IC types.",
    implementation="spinlock_reaction_diffusion.domain:ReactionDiffusionDomain",
    config_class=ReactionDiffusionConfig,
    extras={"operators": ("cno", "gray_scott")},
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
