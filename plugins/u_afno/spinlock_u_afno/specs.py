"""Entry-point target of the ``u_afno`` backbone (light: no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from spinlock_core.specs import ComponentSpec

__all__ = ["UAFNOOptions", "U_AFNO", "FNOOptions", "FNO"]


@attrs.frozen(kw_only=True)
class UAFNOOptions:
    """The ``backbone`` section for ``u_afno``: fields of :class:`~spinlock_u_afno.UAFNOConfig`
    that override the preset chosen by ``mno.preset`` (channels and history come from the data
    and ``mno.history``)."""

    overrides: dict[str, Any] = attrs.Factory(dict)
    """e.g. ``{width: 32, mode_keep: 0.5}``; unknown names are an error listing the valid ones."""


U_AFNO = ComponentSpec(
    name="u_afno",
    summary="θ-conditioned U-Net with an AFNO bottleneck (the meta neural operator); presets small/base/large.",
    implementation="spinlock_u_afno.backbone:build_backbone",
    config_class=UAFNOOptions,
)


@attrs.frozen(kw_only=True)
class FNOOptions:
    """The ``backbone`` section for ``fno``: fields of :class:`~spinlock_u_afno.FNOConfig` that
    override the preset chosen by ``mno.preset`` (channels and history come from the data)."""

    overrides: dict[str, Any] = attrs.Factory(dict)
    """e.g. ``{n_modes: 12, hidden_channels: 64}``; unknown names are an error listing the valid ones."""


FNO = ComponentSpec(
    name="fno",
    summary="Baseline: neuraloperator's FNO with θ as constant input channels (pip install spinlock[neuralop]).",
    implementation="spinlock_u_afno.backbone:build_fno",
    config_class=FNOOptions,
)
