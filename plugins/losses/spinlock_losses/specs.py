"""Entry-point targets of the shipped losses (light: no torch import)."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

from spinlock_core.specs import ComponentSpec

__all__ = ["TrajOptions", "ICOptions", "CommitOptions", "LatentOptions", "TRAJ", "IC", "COMMIT", "LATENT"]


@attrs.frozen(kw_only=True)
class TrajOptions:
    """``loss.traj``: how the steps of the horizon are weighted."""

    weighting: Literal["uniform", "exponential", "linear"] = "uniform"
    """``uniform``; ``exponential``: step t weighs ``gamma**t``; ``linear``: from 1 down to ``final``."""
    gamma: float = attrs.field(default=0.99, validator=[v.gt(0), v.le(1)])
    """Per-step decay of ``exponential``."""
    final: float = attrs.field(default=0.1, validator=v.ge(0))
    """Weight of the last step relative to the first, for ``linear``."""


@attrs.frozen(kw_only=True)
class ICOptions:
    """``loss.ic``: how many of the first predicted steps get the extra weight."""

    steps: int = attrs.field(default=1, validator=v.ge(1))
    """The first ``steps`` predictions (from u0) are supervised again by this loss."""


TRAJ = ComponentSpec(
    name="traj",
    summary="MSE on normalised fields over the horizon, with per-step weights (uniform/exponential/linear).",
    implementation="spinlock_losses.traj:TrajectoryLoss",
    config_class=TrajOptions,
)

IC = ComponentSpec(
    name="ic",
    summary="MSE of the first predicted steps from u0: initial-condition consistency.",
    implementation="spinlock_losses.traj:InitialStepLoss",
    config_class=ICOptions,
)


@attrs.frozen(kw_only=True)
class CommitOptions:
    """``loss.commit``: behavioural-token agreement through the run's frozen tokenizer."""

    families: list[str] = attrs.Factory(lambda: ["summary", "temporal"])
    """Feature families recomputed, differentiably, from the predicted window (the others are taken
    from the sample's stored feature row: they do not depend on the rollout)."""


@attrs.frozen(kw_only=True)
class LatentOptions:
    """``loss.latent``: a projector from the backbone's latent to the tokenizer's latent."""

    families: list[str] = attrs.Factory(lambda: ["summary", "temporal"])
    """As for ``commit``: families of the target features recomputed from the true window."""
    hidden: int = attrs.field(default=128, validator=v.ge(1))
    """Width of the projector's hidden layer."""


COMMIT = ComponentSpec(
    name="commit",
    summary="Tokenizer latent of the predicted window's features pulled onto the true window's codes.",
    implementation="spinlock_losses.vq:CommitLoss",
    config_class=CommitOptions,
)

LATENT = ComponentSpec(
    name="latent",
    summary="Projector (trained with the MNO) from the backbone latent to the true tokenizer latent.",
    implementation="spinlock_losses.vq:LatentLoss",
    config_class=LatentOptions,
)
