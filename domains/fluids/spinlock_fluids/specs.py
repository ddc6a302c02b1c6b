"""Entry-point targets of the fluids domain: light specs and their config classes."""

from __future__ import annotations

from spinlock_core.api import ComponentSpec

from .config import FluidsConfig, NavierStokesConfig

__all__ = ["DOMAIN", "NAVIER_STOKES"]

DOMAIN = ComponentSpec(
    name="fluids",
    summary="2-D incompressible flow on the unit torus: forced Navier-Stokes, GRF initial vorticity.",
    implementation="spinlock_fluids.domain:FluidsDomain",
    config_class=FluidsConfig,
    extras={"operators": ("navier_stokes",)},
)
NAVIER_STOKES = ComponentSpec(
    name="navier_stokes",
    summary="Pseudo-spectral vorticity NS (Crank-Nicolson, 2/3 dealiasing; the FNO paper's generator), θ = (ν, A, n, orientation).",
    implementation="spinlock_fluids.navier_stokes:NavierStokesOperator",
    config_class=NavierStokesConfig,
)
