"""The ``gray_scott`` operator family: periodic pseudo-spectral Gray-Scott with ETDRK4.

    dA/dt = D_A ΔA - A B² + F (1 - A)
    dB/dt = D_B ΔB + A B² - (F + k) B

θ = (F, k). The set-up follows The Well's ``gray_scott_reaction_diffusion`` (domain [-1, 1]²,
D_A = 2e-5, D_B = 1e-5, solver step 1, a state stored every 10 time units, 2/3-rule dealiasing).

Time stepping is Cox-Matthews ETDRK4 with the Kassam-Trefethen contour-integral coefficients.
Only diffusion is treated exactly (the linear operator ``D |k|²`` is the same for every sample),
so the coefficient arrays are shared by the whole batch and a step costs four batched
``irfft2``/``rfft2`` pairs plus pointwise work; F and k enter through the nonlinear term, one
value per trajectory. FFTs run in fp32 (fp64 when the dtype is fp64), whatever the storage
dtype. See ``docs/operators-gray-scott.md`` for the measured accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np

from spinlock_core.api import (
    ConfigError,
    ContinuousParam,
    Grid,
    Operator,
    ParameterSpace,
    Stepper,
    checks,
    one_thread_if_small,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "GrayScottConfig",
    "GrayScottOperator",
    "GrayScottStepper",
    "PEARSON_REGIMES",
    "etdrk4_coefficients",
    "SMALL_CPU_WORK",
]

#: Representative (F, k) of Pearson's (1993, Fig. 3) pattern classes α..μ, as tabulated by
#: APEBench's ``GrayScottType`` scenario. Points inside each class, not class boundaries.
PEARSON_REGIMES: tuple[tuple[str, float, float], ...] = (
    ("alpha", 0.008, 0.046),
    ("beta", 0.020, 0.046),
    ("gamma", 0.024, 0.056),
    ("delta", 0.028, 0.056),
    ("epsilon", 0.020, 0.056),
    ("zeta", 0.024, 0.060),
    ("eta", 0.036, 0.063),
    ("theta", 0.040, 0.060),
    ("iota", 0.050, 0.0605),
    ("kappa", 0.052, 0.063),
    ("lambda", 0.036, 0.0655),
    ("mu", 0.044, 0.066),
)
#: Below this many grid points per step (trajectories x H x W), a CPU steps on one thread: on
#: two shared cores, 2 threads took 0.74 s per stored step of 16 x 32² against 6 ms on one (and
#: 3.2 s against 0.14 s at 64 x 64²); at 64 x 128² (2^20 points) 2 threads were 2x faster.
SMALL_CPU_WORK = 1 << 20
#: Axis scales of the regime distance: the widths of the default F and k ranges, so that a
#: unit of distance means "the whole default range" on either axis.
PEARSON_SCALE = (0.09, 0.025)


def _pair(value) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not lo <= hi:
        raise ConfigError(f"range must be [low, high] with low <= high, got {[lo, hi]}")
    return (lo, hi)


def _positive(instance, attribute, value):
    if not value > 0:
        raise ConfigError(f"gray_scott.{attribute.name} must be > 0, got {value}")


@attrs.frozen(kw_only=True)
class GrayScottConfig:
    """Configuration of the ``gray_scott`` family (simple types, YAML-friendly)."""

    #: Feed rate F range [low, high], sampled uniformly; covers Pearson's classes.
    F_range: tuple[float, float] = attrs.field(default=(0.01, 0.1), converter=_pair, validator=checks.span(0))
    #: Kill rate k range [low, high], sampled uniformly.
    k_range: tuple[float, float] = attrs.field(
        default=(0.045, 0.07), converter=_pair, validator=checks.span(0)
    )
    #: Diffusivity of A (The Well: 2e-5).
    diffusion_a: float = attrs.field(default=2e-5, validator=_positive)
    #: Diffusivity of B (The Well: 1e-5).
    diffusion_b: float = attrs.field(default=1e-5, validator=_positive)
    #: Square periodic domain [low, high]² (The Well: [-1, 1]²); the grid must use it.
    extent: tuple[float, float] = attrs.field(default=(-1.0, 1.0), converter=_pair, validator=checks.span())
    #: Internal ETDRK4 time step (The Well's solver step is 1).
    dt: float = attrs.field(default=1.0, validator=_positive)
    #: Internal steps per stored state: a stored step spans dt * substeps = 10 time units,
    #: The Well's snapshot interval.
    substeps: int = attrs.field(default=10, validator=_positive)
    #: Zero the top third of the modes of the nonlinear term (2/3 rule), as The Well does.
    dealias: bool = True
    #: Points on the Kassam-Trefethen contour (full circle of radius 1).
    contour_points: int = attrs.field(default=64, validator=_positive)


def etdrk4_coefficients(lin: torch.Tensor, dt: float, n_points: int = 64) -> dict[str, torch.Tensor]:
    """ETDRK4 coefficients of a real diagonal linear operator ``lin`` (any shape, float64).

    Returns ``E, E2, Q, f1, f2, f3`` (same shape as ``lin``) with the phi-functions evaluated
    as means over a circle of radius 1 around each ``z = lin * dt`` (Kassam & Trefethen 2005),
    which avoids the cancellation of the closed forms near z = 0. Distinct values are computed
    once, since ``lin`` depends on |k|² only.
    """
    import torch

    z = lin.to(torch.float64) * dt
    uniq, inverse = torch.unique(z, return_inverse=True)
    j = torch.arange(n_points, dtype=torch.float64, device=z.device)
    r = torch.exp(2j * math.pi * (j + 0.5) / n_points)
    lr = uniq[:, None].to(torch.complex128) + r[None, :]
    ex = torch.exp(lr)
    lr3 = lr**3

    def mean(x):
        return dt * x.mean(dim=1).real

    out = {
        "E": torch.exp(uniq),
        "E2": torch.exp(uniq / 2),
        "Q": mean((torch.exp(lr / 2) - 1) / lr),
        "f1": mean((-4 - lr + ex * (4 - 3 * lr + lr**2)) / lr3),
        "f2": mean((2 + lr + ex * (lr - 2)) / lr3),
        "f3": mean((-4 - 3 * lr - lr**2 + ex * (4 - lr)) / lr3),
    }
    return {name: v[inverse] for name, v in out.items()}


class GrayScottStepper(Stepper):
    """A batch of Gray-Scott systems; ``step`` maps ``u [B, M, 2, H, W]`` to the next stored state.

    ``F`` and ``k`` are ``[B]`` (one value per sample, shared by its M realizations). All the
    substeps of a stored step stay in Fourier space (one ``rfft2`` in, one ``irfft2`` out).
    On a CPU, a step of fewer than :data:`SMALL_CPU_WORK` grid points runs on one thread.
    """

    def __init__(self, F: torch.Tensor, k: torch.Tensor, coeffs: dict[str, torch.Tensor], substeps: int):
        self.F = F
        self.Fk = F + k
        self.c = coeffs
        self.substeps = substeps
        self.compute_dtype = F.dtype

    def _nonlinear(self, v: torch.Tensor, F: torch.Tensor, Fk: torch.Tensor, shape) -> torch.Tensor:
        """Fourier transform of the reaction terms of the spectral state ``v [N, 2, H, W//2+1]``."""
        import torch

        x = torch.fft.irfft2(v, s=shape)
        a, b = x[:, 0], x[:, 1]
        r = a * b * b
        n = torch.stack((F - F * a - r, r - Fk * b), dim=1)
        return torch.fft.rfft2(n)

    def step(self, u: torch.Tensor, t: int) -> torch.Tensor:
        import torch

        B, M, C, H, W = u.shape
        if C != 2:
            raise ValueError(f"gray_scott states have 2 channels (A, B), got shape {list(u.shape)}")
        if self.F.shape[0] != B:
            raise ValueError(f"stepper built for {self.F.shape[0]} samples, got a batch of {B}")
        shape = (H, W)
        F = self.F.repeat_interleave(M).view(-1, 1, 1)
        Fk = self.Fk.repeat_interleave(M).view(-1, 1, 1)
        E, E2, Q, f1, f2, f3 = (self.c[n] for n in ("E", "E2", "Q", "f1", "f2", "f3"))
        with one_thread_if_small(u.device, B * M * H * W, small=SMALL_CPU_WORK):
            v = torch.fft.rfft2(u.reshape(B * M, C, H, W).to(self.compute_dtype))
            for _ in range(self.substeps):
                nv = self._nonlinear(v, F, Fk, shape)
                e2v = E2 * v
                a = e2v + Q * nv
                na = self._nonlinear(a, F, Fk, shape)
                b = e2v + Q * na
                nb = self._nonlinear(b, F, Fk, shape)
                c = E2 * a + Q * (2 * nb - nv)
                nc = self._nonlinear(c, F, Fk, shape)
                v = E * v + f1 * nv + f2 * (na + nb) + f3 * nc
            out = torch.fft.irfft2(v, s=shape)
        return out.to(u.dtype).reshape(B, M, C, H, W)


class GrayScottOperator(Operator):
    """The Gray-Scott family over (F, k); deterministic, so one realization per sample."""

    name = "gray_scott"
    stochastic = False
    derived_names = ("pearson_distance", "pearson_regime")

    def __init__(self, config: GrayScottConfig | None = None):
        self.config = config if config is not None else GrayScottConfig()
        self._cache: dict[tuple, dict] = {}

    @property
    def parameter_space(self) -> ParameterSpace:
        c = self.config
        return ParameterSpace(
            [
                ContinuousParam(name="F", low=c.F_range[0], high=c.F_range[1], doc="feed rate"),
                ContinuousParam(name="k", low=c.k_range[0], high=c.k_range[1], doc="kill rate"),
            ]
        )

    @property
    def channels(self) -> tuple[str, ...]:
        return ("A", "B")

    @property
    def stored_dt(self) -> float:
        """Physical time between stored states (``dt * substeps``)."""
        return self.config.dt * self.config.substeps

    def grid_for(self, shape: Sequence[int]) -> Grid:
        """The periodic grid of ``shape = (H, W)`` over the configured domain."""
        lo, hi = self.config.extent
        return Grid(shape=tuple(shape), extent=((lo, hi), (lo, hi)), periodic=True)

    def coefficients(self, grid: Grid, device, dtype) -> dict[str, torch.Tensor]:
        """ETDRK4 coefficients ``[2, H, W//2+1]`` (A, B) in the compute dtype, cached per grid."""
        import torch

        c = self.config
        key = (grid.shape, grid.extent, str(device), dtype)
        if key not in self._cache:
            ky, kx = grid.wavenumbers(dtype=torch.float64)
            k2 = ky**2 + kx**2
            diff = torch.tensor([c.diffusion_a, c.diffusion_b], dtype=torch.float64).view(2, 1, 1)
            coeffs = etdrk4_coefficients(-diff * k2, c.dt, c.contour_points)
            if c.dealias:
                h, w = grid.shape
                my = (torch.fft.fftfreq(h) * h).abs().view(-1, 1)
                mx = (torch.fft.rfftfreq(w) * w).view(1, -1)
                mask = ((my <= h // 3) & (mx <= w // 3)).to(torch.float64)
                for name in ("Q", "f1", "f2", "f3"):
                    coeffs[name] = coeffs[name] * mask
            coeffs["f2"] = 2 * coeffs["f2"]  # the update uses 2 f2 (Na + Nb)
            self._cache[key] = {n: v.to(device=device, dtype=dtype) for n, v in coeffs.items()}
        return self._cache[key]

    def _check_grid(self, grid: Grid) -> None:
        lo, hi = self.config.extent
        if not grid.periodic or tuple(map(tuple, grid.extent)) != ((lo, hi), (lo, hi)):
            raise ConfigError(
                f"gray_scott needs the periodic grid over {[lo, hi]}² (gray_scott.extent), got "
                f"extent {grid.extent}, periodic={grid.periodic}; build it with "
                "GrayScottOperator.grid_for(shape) or change gray_scott.extent"
            )

    def build(
        self,
        theta: Mapping[str, np.ndarray],
        sample_index: Sequence[int],
        seed: int,
        grid: Grid,
        device: torch.device,
        dtype: torch.dtype,
    ) -> GrayScottStepper:
        """One stepper for the batch; ``seed`` and ``sample_index`` are unused (deterministic)."""
        import torch

        self._check_grid(grid)
        missing = [n for n in ("F", "k") if n not in theta]
        if missing:
            raise ConfigError(f"gray_scott θ lacks {missing}; it needs ['F', 'k'], got {sorted(theta)}")
        compute = torch.float64 if dtype == torch.float64 else torch.float32
        F = torch.as_tensor(np.asarray(theta["F"], dtype=np.float64).reshape(-1), device=device)
        k = torch.as_tensor(np.asarray(theta["k"], dtype=np.float64).reshape(-1), device=device)
        if F.shape != k.shape or F.shape[0] != len(sample_index):
            raise ValueError(f"θ F {list(F.shape)} / k {list(k.shape)} vs {len(sample_index)} samples")
        coeffs = self.coefficients(grid, device, compute)
        return GrayScottStepper(F.to(compute), k.to(compute), coeffs, self.config.substeps)

    def derived_columns(self, theta: Mapping[str, np.ndarray], grid: Grid) -> dict[str, np.ndarray]:
        """``pearson_distance`` (to the nearest regime of :data:`PEARSON_REGIMES`, in units of
        the default range widths) and ``pearson_regime`` (its index in that table)."""
        F = np.asarray(theta["F"], dtype=np.float64).reshape(-1, 1)
        k = np.asarray(theta["k"], dtype=np.float64).reshape(-1, 1)
        centres = np.array([(f, kk) for _, f, kk in PEARSON_REGIMES])
        d = np.hypot((F - centres[:, 0]) / PEARSON_SCALE[0], (k - centres[:, 1]) / PEARSON_SCALE[1])
        idx = d.argmin(axis=1)
        return {"pearson_distance": d[np.arange(len(idx)), idx], "pearson_regime": idx.astype(np.int64)}
