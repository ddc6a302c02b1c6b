"""Config classes of the shipped feature families: light (attrs only), so that listing and
validating plugins never imports torch. Each family module re-uses its class from here."""

from __future__ import annotations

import math

import attrs

from spinlock_core.api import ConfigError, ExtendedFloat, FieldError, above, optional

__all__ = [
    "InitialConfig",
    "ArchitectureConfig",
    "SummaryConfig",
    "TemporalConfig",
    "AGGREGATES",
    "check_aggregates",
]

AGGREGATES = ("mean", "std", "min", "max", "median")


def check_aggregates(instance, attribute, value):
    """attrs validator: a non-empty, duplicate-free subset of :data:`AGGREGATES`."""
    bad = [a for a in value if a not in AGGREGATES]
    if bad or not value or len(set(value)) != len(value):
        raise ConfigError(f"{attribute.name}={list(value)}: pick distinct names from {list(AGGREGATES)}")


def check_band_edges(instance, attribute, value):
    """attrs validator: null, or >= 2 increasing values >= 0, only the last may be ``inf``."""
    if value is None:
        return
    ok = (
        len(value) >= 2
        and all(not math.isnan(e) and e >= 0 for e in value)
        and all(math.isfinite(e) for e in value[:-1])
        and all(a < b for a, b in zip(value[:-1], value[1:], strict=True))
    )
    if not ok:
        raise FieldError(
            attribute.name,
            f"must be null or >= 2 increasing numbers >= 0 (only the last may be inf), got {list(value)}",
        )


@attrs.frozen(kw_only=True)
class InitialConfig:
    """Settings of the INITIAL family."""

    hist_bins: int = attrs.field(default=32, validator=attrs.validators.ge(2))
    """Histogram bins for the entropy, spread over each field's own [min, max]."""

    morphology_threshold: float = 0.0
    """Components are regions above ``mean + morphology_threshold * std`` of the field."""


@attrs.frozen(kw_only=True)
class ArchitectureConfig:
    """Settings of the ARCHITECTURE family."""

    derived: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    """Derived columns expected in ``FeatureBatch.derived``, in column order; empty = the operator's
    ``derived_names`` (declared in ``DomainInfo.derived``)."""

    derived_units: dict[str, str] = attrs.field(factory=dict)
    """Optional unit per derived column name (e.g. ``{"flops_per_step": "FLOP"}``)."""

    strict: bool = True
    """Raise when a batch carries derived values not listed in ``derived`` (False: ignore them)."""

    def __attrs_post_init__(self):
        unknown = sorted(set(self.derived_units) - set(self.derived))
        if unknown:
            raise ConfigError(f"architecture.derived_units names columns not in derived: {unknown}")


@attrs.frozen(kw_only=True)
class SummaryConfig:
    """Settings of the SUMMARY family."""

    aggregates: tuple[str, ...] = attrs.field(
        default=("mean", "std"), converter=tuple, validator=check_aggregates
    )
    """Statistics over realizations, in column order (from mean, std, min, max, median)."""

    band_edges: tuple[ExtendedFloat, ...] | None = attrs.field(
        default=None,
        converter=lambda v: None if v is None else tuple(float(e) for e in v),
        validator=check_band_edges,
    )
    """Spectral band edges in rad/length (``inf`` allowed last); None: octaves of 2π/L, 4 bands."""

    lowpass_cutoff: float | None = attrs.field(default=None, validator=optional(above(0)))
    """Gaussian low-pass scale in rad/length for the low/high-pass invariants; None: 4 * 2π/L."""

    hist_bins: int = attrs.field(default=32, validator=attrs.validators.ge(2))
    """Histogram bins of the entropy invariant (on each field's own range)."""

    mi_bins: int = attrs.field(default=16, validator=attrs.validators.ge(2))
    """Bins per axis of the joint histograms for cross-channel mutual information."""

    spike_sigma: float = 2.0
    """A step is a spike when its activity exceeds mean + spike_sigma * std of the activity."""

    stationarity_tol: float = attrs.field(default=0.05, validator=attrs.validators.ge(0))
    """Tolerance (fraction of the rms series' range) for the time to stationarity."""

    lag: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """Lag in states of the lagged cross-correlation asymmetry."""

    chunk_states: int = attrs.field(default=4096, validator=attrs.validators.ge(1))
    """States processed at once; bounds memory, does not change results."""

    def n_bands(self) -> int:
        return 4 if self.band_edges is None else len(self.band_edges) - 1


@attrs.frozen(kw_only=True)
class TemporalConfig:
    """Settings of the TEMPORAL family."""

    stride: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """Keep every ``stride``-th state (state 0 always): ``T' = ceil(T / stride)``."""

    aggregates: tuple[str, ...] = attrs.field(
        default=("mean", "std"), converter=tuple, validator=check_aggregates
    )
    """Statistics over realizations, in column order (from mean, std, min, max, median)."""

    band_edges: tuple[ExtendedFloat, ...] | None = attrs.field(
        default=None,
        converter=lambda v: None if v is None else tuple(float(e) for e in v),
        validator=check_band_edges,
    )
    """Spectral band edges in rad/length (``inf`` allowed last); None: octaves of 2π/L, 4 bands."""

    hist_bins: int = attrs.field(default=32, validator=attrs.validators.ge(2))
    """Histogram bins of the entropy (on each field's own range)."""

    mi_bins: int = attrs.field(default=16, validator=attrs.validators.ge(2))
    """Bins per axis of the joint histograms for cross-channel mutual information."""

    chunk_states: int = attrs.field(default=4096, validator=attrs.validators.ge(1))
    """States processed at once; bounds memory, does not change results."""

    def n_bands(self) -> int:
        return 4 if self.band_edges is None else len(self.band_edges) - 1
