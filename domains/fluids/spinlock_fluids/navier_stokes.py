"""The ``navier_stokes`` operator family: forced 2-D incompressible flow on the unit torus.

θ = (``nu``, ``amplitude``, ``forcing_wavenumber``, ``forcing_orientation``): viscosity ν
(log-uniform), and the forcing

    f(x, y) = A (sin(2π(k_x x + k_y y)) + cos(2π(k_x x + k_y y))),   (k_x, k_y) = n · o,

with ``n`` the forcing wavenumber and ``o`` one of :data:`~spinlock_fluids.config.ORIENTATIONS`
(``diagonal`` = (1, 1): with A = 0.1, n = 1 this is the FNO paper's forcing). Deterministic:
one realization per sample. The solver is :class:`~spinlock_fluids.solver.TorusSolver`; it
runs on ``solver_grid`` points per side and the stored states take every k-th point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from spinlock_core.api import (
    CategoricalParam,
    ConfigError,
    ContinuousParam,
    Grid,
    IntegerParam,
    Operator,
    ParameterSpace,
    Stepper,
    one_thread_if_small,
)

from .config import ORIENTATIONS, NavierStokesConfig, substeps_per_state
from .solver import TorusSolver

if TYPE_CHECKING:
    import torch

__all__ = ["NavierStokesOperator", "NavierStokesStepper", "PARAMETERS", "wave_vectors", "check_unit_torus"]

#: θ names, in parameter-space order.
PARAMETERS = ("nu", "amplitude", "forcing_wavenumber", "forcing_orientation")
#: Below this many solver grid points per step (batch x N²), a CPU steps on one thread.
SMALL_CPU_WORK = 1 << 20


def _one_thread_if_small(device, points: int):
    """Tiny FFTs and pointwise ops run far faster on one thread: intra-op threading costs more
    than it saves, and on a busy machine each barrier waits for a descheduled thread (measured
    here: 20x slower generation at 32² on two shared cores). Values do not depend on it."""
    return one_thread_if_small(device, points, small=SMALL_CPU_WORK + 1)


def wave_vectors(wavenumber, orientation, orientations: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Integer forcing wave vectors ``(k_x [B], k_y [B])`` from θ (orientation = choice index)."""
    n = np.asarray(wavenumber, dtype=np.int64).reshape(-1)
    o = np.asarray(orientation, dtype=np.int64).reshape(-1)
    if o.size and (o.min() < 0 or o.max() >= len(orientations)):
        raise ConfigError(f"forcing_orientation index out of range for choices {list(orientations)}")
    vec = np.array([ORIENTATIONS[name] for name in orientations], dtype=np.int64).reshape(-1, 2)
    return n * vec[o, 0], n * vec[o, 1]


def check_unit_torus(grid: Grid) -> None:
    if not grid.periodic or tuple(map(tuple, grid.extent)) != ((0.0, 1.0), (0.0, 1.0)):
        raise ConfigError(
            f"navier_stokes runs on the periodic unit torus [0, 1)², got extent {grid.extent}, "
            f"periodic={grid.periodic}; use domain=fluids (its grid is the unit torus)"
        )
    if grid.shape[0] != grid.shape[1]:
        raise ConfigError(f"navier_stokes needs a square grid, got {grid.shape}")


class NavierStokesStepper(Stepper):
    """A batch of flows; ``step`` maps ``u [B, M, C, n, n]`` to the state ``time_per_state`` later.

    The solver state (the vorticity spectrum on the solver grid) is kept between calls: when
    the ``u`` given is exactly the state this stepper returned last (per sample), the solver
    continues from its own full-resolution, full-precision state; otherwise (a new rollout,
    a sample the caller changed) it restarts from ``u``'s vorticity by Fourier interpolation.
    So subsampled or low-precision storage never feeds back into the dynamics.
    """

    def __init__(
        self, solver: TorusSolver, nu, forcing_hat, *, dt: float, substeps: int, scheme: str, velocity: bool
    ):
        self.solver = solver
        self.nu = nu  # [B]
        self.forcing_dt = dt * forcing_hat  # [B, N, N//2+1]
        self.dt, self.substeps, self.scheme, self.velocity = dt, substeps, scheme, velocity
        self._factors: dict[int, tuple] = {}
        self._state = self._last = None

    def _per_realization(self, m: int):
        if m not in self._factors:
            nu = self.nu.repeat_interleave(m)
            explicit, implicit = self.solver.crank_nicolson(nu, self.dt)
            self._factors[m] = (explicit, implicit, self.forcing_dt.repeat_interleave(m, dim=0))
        return self._factors[m]

    def step(self, u: torch.Tensor, t: int) -> torch.Tensor:
        import torch

        b, m, c, h, w = u.shape
        expected = 3 if self.velocity else 1
        if c != expected:
            raise ValueError(f"navier_stokes states have {expected} channel(s), got shape {list(u.shape)}")
        if self.nu.shape[0] != b:
            raise ValueError(f"stepper built for {self.nu.shape[0]} samples, got a batch of {b}")
        if h != w or self.solver.n % h:
            raise ValueError(f"state grid {h}x{w} does not divide the solver grid {self.solver.n}")
        given = u.reshape(b * m, c, h, w)
        state = self.solver.lift(given[:, 0])
        if t > 0 and self._state is not None and self._last.shape == given.shape:
            same = (given == self._last).flatten(1).all(dim=1)
            state = torch.where(same.view(-1, 1, 1), self._state, state)
        explicit, implicit, forcing_dt = self._per_realization(m)
        with _one_thread_if_small(state.device, b * m * self.solver.n**2):
            state = self.solver.advance(
                state, self.substeps, self.dt, explicit, implicit, forcing_dt, scheme=self.scheme
            )
        out = self.solver.observe(state, self.solver.n // h, self.velocity).to(u.dtype)
        self._state, self._last = state, out
        return out.reshape(b, m, c, h, w)


class NavierStokesOperator(Operator):
    """The forced Navier-Stokes family over θ; deterministic, so one realization per sample."""

    name = "navier_stokes"
    stochastic = False
    derived_names = ("forcing_wavenumber_norm", "log10_grashof")

    def __init__(self, config: NavierStokesConfig | None = None):
        self.config = config if config is not None else NavierStokesConfig()
        self.substeps = substeps_per_state(self.config.time_per_state, self.config.dt)

    @property
    def parameter_space(self) -> ParameterSpace:
        c = self.config
        return ParameterSpace(
            [
                ContinuousParam(
                    name="nu", low=c.nu_range[0], high=c.nu_range[1], log=True, doc="viscosity ν"
                ),
                ContinuousParam(
                    name="amplitude",
                    low=c.amplitude_range[0],
                    high=c.amplitude_range[1],
                    doc="forcing amplitude A",
                ),
                IntegerParam(
                    name="forcing_wavenumber",
                    low=c.wavenumber_range[0],
                    high=c.wavenumber_range[1],
                    doc="forcing wavenumber n: wave vector n·orientation",
                ),
                CategoricalParam(
                    name="forcing_orientation", choices=c.orientations, doc="forcing wave vector direction"
                ),
            ]
        )

    @property
    def channels(self) -> tuple[str, ...]:
        return ("vorticity", "velocity_x", "velocity_y") if self.config.store_velocity else ("vorticity",)

    @property
    def time_per_state(self) -> float:
        return self.config.time_per_state

    def solver_size(self, stored: int) -> int:
        """Solver points per side for a stored grid of ``stored`` points per side."""
        n = self.config.solver_grid or stored
        if n % stored:
            raise ConfigError(
                f"navier_stokes.solver_grid ({n}) must be a multiple of the stored grid ({stored}); "
                f"e.g. solver_grid={stored * max(1, round(n / stored))} or null for the stored grid"
            )
        if n % 2:
            raise ConfigError(f"navier_stokes.solver_grid must be even, got {n}")
        return n

    def build(
        self,
        theta: Mapping[str, np.ndarray],
        sample_index: Sequence[int],
        seed: int,
        grid: Grid,
        device: torch.device,
        dtype: torch.dtype,
    ) -> NavierStokesStepper:
        """One stepper for the batch; ``seed`` and ``sample_index`` are unused (deterministic)."""
        import torch

        check_unit_torus(grid)
        missing = [n for n in PARAMETERS if n not in theta]
        if missing:
            raise ConfigError(
                f"navier_stokes θ lacks {missing}; it needs {list(PARAMETERS)}, got {sorted(theta)}"
            )
        compute = torch.float64 if dtype == torch.float64 else torch.float32
        solver = TorusSolver(self.solver_size(grid.shape[0]), device=device, dtype=compute)
        nu = np.asarray(theta["nu"], dtype=np.float64).reshape(-1)
        if len(nu) != len(sample_index):
            raise ValueError(f"θ has {len(nu)} samples, sample_index {len(sample_index)}")
        kx, ky = wave_vectors(
            theta["forcing_wavenumber"], theta["forcing_orientation"], self.config.orientations
        )
        forcing_hat = solver.forcing(np.asarray(theta["amplitude"], dtype=np.float64).reshape(-1), kx, ky)
        return NavierStokesStepper(
            solver,
            torch.as_tensor(nu, device=device, dtype=compute),
            forcing_hat,
            dt=self.config.dt,
            substeps=self.substeps,
            scheme=self.config.scheme,
            velocity=self.config.store_velocity,
        )

    def derived_columns(self, theta: Mapping[str, np.ndarray], grid: Grid) -> dict[str, np.ndarray]:
        """``forcing_wavenumber_norm`` = |(k_x, k_y)| and ``log10_grashof`` = log10(A / (ν² κ_f³)),
        κ_f = 2π|k| (the forcing's Grashof number: how far the flow is driven past the laminar
        state; the FNO paper's ν = 1e-3 set has log10 G ≈ 2.15; NaN without forcing)."""
        kx, ky = wave_vectors(
            theta["forcing_wavenumber"], theta["forcing_orientation"], self.config.orientations
        )
        norm = np.hypot(kx, ky).astype(np.float64)
        nu = np.asarray(theta["nu"], dtype=np.float64).reshape(-1)
        amplitude = np.asarray(theta["amplitude"], dtype=np.float64).reshape(-1)
        grashof = amplitude / (nu**2 * (2 * np.pi * norm) ** 3)
        log_grashof = np.log10(grashof, out=np.full_like(grashof, np.nan), where=grashof > 0)
        return {"forcing_wavenumber_norm": norm, "log10_grashof": log_grashof}
