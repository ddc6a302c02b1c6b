"""Config classes of the fluids domain (light: attrs only, so listing plugins never imports torch).

:class:`NavierStokesConfig` is the ``operator`` section of ``operator=navier_stokes``;
:class:`FluidsConfig` is the ``domain`` section of ``domain=fluids`` (the initial-condition law).
"""

from __future__ import annotations

import math
from typing import Literal

import attrs

from spinlock_core.api import ConfigError, checks

__all__ = ["ORIENTATIONS", "NavierStokesConfig", "FluidsConfig", "substeps_per_state"]

#: Forcing orientations: the integer wave vector ``(k_x, k_y)`` for forcing wavenumber ``n``.
#: ``diagonal`` with ``n = 1`` is the FNO paper's ``sin(2π(x+y)) + cos(2π(x+y))``.
ORIENTATIONS: dict[str, tuple[int, int]] = {
    "diagonal": (1, 1),
    "antidiagonal": (1, -1),
    "x": (1, 0),
    "y": (0, 1),
}


def _range(cast):
    def convert(value):
        lo, hi = (cast(v) for v in value)
        return (lo, hi)

    return convert


def _ordered(instance, attribute, value):
    if not value[0] <= value[1]:
        raise ConfigError(
            f"navier_stokes.{attribute.name}: need [low, high] with low <= high, got {list(value)}"
        )


def _positive_range(instance, attribute, value):
    _ordered(instance, attribute, value)
    if value[0] <= 0:
        raise ConfigError(f"navier_stokes.{attribute.name}: values must be > 0, got {list(value)}")


def _nonnegative_range(instance, attribute, value):
    _ordered(instance, attribute, value)
    if value[0] < 0:
        raise ConfigError(f"navier_stokes.{attribute.name}: values must be >= 0, got {list(value)}")


def _orientations(instance, attribute, value):
    bad = [v for v in value if v not in ORIENTATIONS]
    if bad or not value or len(set(value)) != len(value):
        raise ConfigError(
            f"navier_stokes.orientations: {list(value)} invalid; choose distinct names from {list(ORIENTATIONS)}"
        )


def _positive(section):
    def check(instance, attribute, value):
        if value is not None and not value > 0:
            raise ConfigError(f"{section}.{attribute.name} must be > 0, got {value}")

    return check


def substeps_per_state(time_per_state: float, dt: float) -> int:
    """Solver steps per stored state; ``time_per_state`` must be a whole number of ``dt``."""
    n = round(time_per_state / dt)
    if n < 1 or not math.isclose(n * dt, time_per_state, rel_tol=1e-9, abs_tol=0.0):
        raise ConfigError(
            f"navier_stokes.time_per_state ({time_per_state}) must be a whole multiple of "
            f"navier_stokes.dt ({dt}); e.g. dt={time_per_state / max(1, n)}"
        )
    return n


@attrs.frozen(kw_only=True)
class NavierStokesConfig:
    """The ``navier_stokes`` family: θ ranges, solver resolution and time step, stored channels."""

    nu_range: tuple[float, float] = attrs.field(
        default=(1e-5, 1e-3), converter=_range(float), validator=_positive_range
    )
    """Kinematic viscosity ν, log-uniform in [low, high] (θ ``nu``)."""
    amplitude_range: tuple[float, float] = attrs.field(
        default=(0.05, 0.2), converter=_range(float), validator=_nonnegative_range
    )
    """Forcing amplitude A, uniform in [low, high] (θ ``amplitude``; the FNO paper's 0.1)."""
    wavenumber_range: tuple[int, int] = attrs.field(
        default=(1, 2), converter=_range(int), validator=_positive_range
    )
    """Forcing wavenumber n, an integer in [low, high] (θ ``forcing_wavenumber``)."""
    orientations: tuple[str, ...] = attrs.field(
        default=tuple(ORIENTATIONS), converter=tuple, validator=_orientations
    )
    """Forcing orientations to choose from, equally likely (θ ``forcing_orientation``): the wave
    vector is ``n * (1, 1)`` (diagonal), ``n * (1, -1)``, ``n * (1, 0)`` (x) or ``n * (0, 1)`` (y)."""
    dt: float = attrs.field(default=1e-3, validator=_positive("navier_stokes"))
    """Solver time step (the FNO paper's generator uses 1e-4 at 256²; see docs/domain-fluids.md)."""
    solver_grid: int | None = attrs.field(
        default=None,
        validator=[_positive("navier_stokes"), checks.at_most(checks.MAX_GRID, "grid points per side")],
    )
    """Points per side the solver runs on; a multiple of the stored grid (``null``: the stored grid).
    States are stored by taking every k-th point, as the paper subsamples 256² to 64²."""
    time_per_state: float = attrs.field(default=1.0, validator=_positive("navier_stokes"))
    """Physical time between stored states (a whole number of ``dt``)."""
    scheme: Literal["euler", "heun"] = "heun"
    """``euler``: the FNO paper's recipe (Crank-Nicolson diffusion, explicit Euler for advection
    and forcing; first order, and unstable at ν = 1e-5 unless dt is small); ``heun``: the same
    Crank-Nicolson with Heun's predictor-corrector for the explicit part (second order, twice
    the FFTs per step, stable at 5x the step). The ``fno_ns_1e-3`` preset uses ``euler``."""
    store_velocity: bool = False
    """Store the velocity ``(velocity_x, velocity_y)`` beside the vorticity (3 channels)."""

    def __attrs_post_init__(self):
        substeps_per_state(self.time_per_state, self.dt)


@attrs.frozen(kw_only=True)
class FluidsConfig:
    """The ``domain`` section of ``domain=fluids``: the Gaussian random field of the initial vorticity.

    The law is the FNO paper's ``N(0, σ² (-Δ + τ² I)^(-α))`` (with their normalisation, see
    :mod:`spinlock_fluids.grf`), drawn on an ``ic_grid`` x ``ic_grid`` grid and subsampled.
    """

    ic_alpha: float = attrs.field(default=2.5, validator=_positive("fluids"))
    """Smoothness exponent α (paper: 2.5)."""
    ic_tau: float = attrs.field(default=7.0, validator=_positive("fluids"))
    """Inverse length scale τ (paper: 7)."""
    ic_sigma: float | None = attrs.field(default=None, validator=_positive("fluids"))
    """Amplitude σ (``null``: the paper's ``τ^(α - 1)``, i.e. ``τ^(½(2α - d))`` with d = 2)."""
    ic_grid: int = attrs.field(
        default=256, validator=[_positive("fluids"), checks.at_most(checks.MAX_GRID, "grid points per side")]
    )
    """Grid the field is drawn on, then subsampled to the stored grid (paper: 256); a multiple of it."""

    @property
    def sigma(self) -> float:
        return self.ic_sigma if self.ic_sigma is not None else self.ic_tau ** (self.ic_alpha - 1.0)
