"""Entry-point targets of the shipped losses (light: no torch import)."""

from __future__ import annotations

from typing import Literal

import attrs
from attrs import validators as v

from spinlock_core.api import ComponentSpec, FieldError

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


def _families(value):
    return None if value is None else tuple(value)


def _nonempty(_instance, attribute, value):
    if value is not None and not value:
        raise FieldError(attribute.name, "must name at least one family, or be null (automatic)")


@attrs.frozen(kw_only=True)
class CommitOptions:
    """``loss.commit``: behavioural-token agreement through the run's frozen tokenizer."""

    families: tuple[str, ...] | None = attrs.field(default=None, converter=_families, validator=_nonempty)
    """Per-sample feature families recomputed, differentiably, from each window (the tokenizer's
    other input columns come from the sample's stored feature row: they do not depend on the
    rollout). ``null``: every per-sample family of ``features.h5`` computed from trajectories
    (``summary`` among the shipped ones)."""
    target: Literal["quantized", "continuous"] = "quantized"
    """``quantized``: pull the predicted latent onto the true window's code vectors
    ``sg(q(z_true))`` (VQ commitment; nonzero even for a perfect prediction, by the truth's own
    quantization error); ``continuous``: onto ``sg(z_true)`` (zero for a perfect prediction)."""


@attrs.frozen(kw_only=True)
class LatentOptions:
    """``loss.latent``: a projector from the backbone's latent to the tokenizer's latent."""

    families: tuple[str, ...] | None = attrs.field(default=None, converter=_families, validator=_nonempty)
    """As for ``commit``: families of the true window's features recomputed for the target latent."""
    hidden: int = attrs.field(default=128, validator=v.ge(1))
    """Width of the projector's hidden layer."""
    dropout: float = attrs.field(default=0.0, validator=[v.ge(0), v.lt(1)])
    """Dropout in the projector (active in training only)."""


COMMIT = ComponentSpec(
    name="commit",
    summary="Tokenizer latent of the predicted window's features pulled onto the true window's codes.",
    implementation="spinlock_losses.vq:CommitLoss",
    extras={"reads": ("tokenizer",)},  # its fingerprint is part of the mno stage's
    config_class=CommitOptions,
)

LATENT = ComponentSpec(
    name="latent",
    summary="Projector (trained with the MNO) from the backbone latent to the true tokenizer latent.",
    implementation="spinlock_losses.vq:LatentLoss",
    extras={"reads": ("tokenizer",)},  # its fingerprint is part of the mno stage's
    config_class=LatentOptions,
)
