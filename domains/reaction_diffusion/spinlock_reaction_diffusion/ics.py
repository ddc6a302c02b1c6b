"""The initial-condition library of the reaction-diffusion domain.

Every type draws only from the ``torch.Generator`` it is given, so a sample's IC depends on
``(seed, sample index)`` alone. Amplitude convention (so types are comparable):

* generic types (``grf`` .. ``reaction_front``): each channel has zero mean and unit std,
  exactly, per sample (a constant channel is 0);
* Gray-Scott types (``well_gaussian``, ``well_fourier``): (A, B) in the Gray-Scott convention,
  A ≈ 1 and B ≈ 0 away from the perturbations (see :mod:`._ic_well`).

Lengths (correlation lengths, widths, wavelengths) are in domain units. One-line formulas per
type are in ``docs/initial-conditions.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from spinlock_core.api import ConfigError, Grid

from ._ic_fields import (
    ICType,
    bandpass_field,
    coordinates,
    delta,
    gaussian_spectrum_field,
    lattice_wavevector,
    log_uniform,
    normal,
    randint,
    rng_field,
    standardize,
    uniform,
    weighted_choice,
)
from ._ic_well import WellFourier, WellFourierConfig, WellGaussian, WellGaussianConfig

if TYPE_CHECKING:
    import torch

__all__ = [
    "GRFConfig",
    "GaussianRandomField",
    "MultiscaleGRFConfig",
    "MultiscaleGRF",
    "LocalizedConfig",
    "LocalizedBlobs",
    "StructuredConfig",
    "StructuredShapes",
    "CompositeConfig",
    "CompositeWaves",
    "TuringConfig",
    "TuringPattern",
    "ReactionFrontConfig",
    "ReactionFront",
    "WellGaussianConfig",
    "WellGaussian",
    "WellFourierConfig",
    "WellFourier",
    "IC_TYPES",
    "GENERIC_WEIGHTS",
    "GRAY_SCOTT_WEIGHTS",
    "ICLibrary",
    "sample_batch",
]


def _weights3(value) -> tuple[float, float, float]:
    w = tuple(float(v) for v in value)
    if len(w) != 3 or min(w) < 0 or sum(w) <= 0:
        raise ConfigError(f"expected 3 weights >= 0 with a positive sum, got {list(value)}")
    return w


@attrs.frozen(kw_only=True)
class GRFConfig:
    """Gaussian random field."""

    #: Correlation length ℓ [low, high] in domain units, drawn log-uniformly per sample.
    length_scale: tuple[float, float] = rng_field((0.05, 0.2))


class GaussianRandomField(ICType):
    """Stationary GRF with covariance exp(-r²/2ℓ²), one independent field per channel."""

    name = "grf"
    config_class = GRFConfig

    def _sample(self, gen, channels, grid, theta):
        ell = log_uniform(gen, *self.config.length_scale)
        return gaussian_spectrum_field(gen, channels, grid, ell)


@attrs.frozen(kw_only=True)
class MultiscaleGRFConfig:
    """Sum of GRFs at several correlation lengths."""

    #: Smallest and largest correlation length, in domain units (scales are log-spaced).
    length_scale: tuple[float, float] = rng_field((0.03, 0.3))
    #: Number of scales.
    n_scales: int = attrs.field(default=4, validator=attrs.validators.ge(1))


class MultiscaleGRF(ICType):
    """Σ_i w_i g_i with unit-std GRFs g_i at log-spaced scales and random weights w_i ~ U(0, 1)."""

    name = "multiscale_grf"
    config_class = MultiscaleGRFConfig

    def _sample(self, gen, channels, grid, theta):
        c = self.config
        lo, hi = c.length_scale
        scales = np.geomspace(lo, hi, c.n_scales) if c.n_scales > 1 else np.array([lo])
        weights = uniform(gen, (c.n_scales,))
        total = sum(
            w * gaussian_spectrum_field(gen, channels, grid, float(s))
            for w, s in zip(weights, scales, strict=True)
        )
        return standardize(total)


@attrs.frozen(kw_only=True)
class LocalizedConfig:
    """Localized Gaussian blobs."""

    #: Number of blobs [low, high].
    count: tuple[int, int] = rng_field((3, 8), kind="int")
    #: Blob standard deviation σ [low, high] in domain units.
    width: tuple[float, float] = rng_field((0.03, 0.12))


class LocalizedBlobs(ICType):
    """Σ_j a_j exp(-|x - c_j|² / 2σ_j²), centres uniform, amplitudes a_j ~ N(0, I_C)."""

    name = "localized"
    config_class = LocalizedConfig

    def _sample(self, gen, channels, grid, theta):
        c = self.config
        y, x = coordinates(grid, gen.device)
        out = 0.0
        for _ in range(randint(gen, *c.count)):
            sigma = float(uniform(gen, (), *c.width))
            out = out + normal(gen, (channels, 1, 1)) * _gaussian(gen, grid, y, x, sigma)
        return standardize(out + y.new_zeros((channels, *grid.shape)))


def _centre(gen, grid: Grid) -> tuple[float, float]:
    (y0, y1), (x0, x1) = grid.extent
    return float(uniform(gen, (), y0, y1)), float(uniform(gen, (), x0, x1))


def _gaussian(gen, grid, y, x, sigma) -> torch.Tensor:
    """A Gaussian bump ``[H, W]`` of std ``sigma`` at a uniform random centre (periodic images)."""
    cy, cx = _centre(gen, grid)
    (ly, lx) = grid.lengths
    dy, dx = delta(y, cy, ly, grid.periodic), delta(x, cx, lx, grid.periodic)
    return (-(dy**2 + dx**2) / (2 * sigma**2)).exp()


def _distance(gen, grid, y, x) -> torch.Tensor:
    """Distance ``[H, W]`` to a uniform random centre (nearest periodic image)."""
    cy, cx = _centre(gen, grid)
    (ly, lx) = grid.lengths
    return (delta(y, cy, ly, grid.periodic) ** 2 + delta(x, cx, lx, grid.periodic) ** 2).sqrt()


def _plane_wave(gen, grid, y, x, wavelength: float, angle: float | None = None) -> torch.Tensor:
    """cos(k·x + φ) ``[H, W]`` with a random phase (and angle unless given); periodic on periodic grids."""
    if angle is None:
        angle = float(uniform(gen, (), 0, 2 * math.pi))
    ky, kx = lattice_wavevector(grid, angle, wavelength)
    return (ky * y + kx * x + float(uniform(gen, (), 0, 2 * math.pi))).cos()


@attrs.frozen(kw_only=True)
class StructuredConfig:
    """Structured shapes: smooth-edged discs, stripes and Gaussian blobs."""

    #: Number of shapes [low, high].
    count: tuple[int, int] = rng_field((3, 7), kind="int")
    #: Disc radius (and 2x blob std) [low, high] in domain units.
    radius: tuple[float, float] = rng_field((0.05, 0.2))
    #: Stripe count across the domain [low, high].
    cycles: tuple[int, int] = rng_field((1, 6), kind="int")
    #: Edge width of the discs (tanh profile), domain units.
    edge: float = attrs.field(default=0.01, validator=attrs.validators.gt(0))


class StructuredShapes(ICType):
    """Σ_j a_j s_j(x), s_j a disc, stripe set or blob picked uniformly, a_j ~ N(0, I_C)."""

    name = "structured"
    config_class = StructuredConfig

    def _sample(self, gen, channels, grid, theta):
        c = self.config
        y, x = coordinates(grid, gen.device)
        out = y.new_zeros((channels, *grid.shape))
        length = min(grid.lengths)
        for _ in range(randint(gen, *c.count)):
            kind = randint(gen, 0, 2)
            r = float(uniform(gen, (), *c.radius))
            if kind == 0:  # disc
                shape = 0.5 * (1 + ((r - _distance(gen, grid, y, x)) / c.edge).tanh())
            elif kind == 1:  # stripes
                shape = _plane_wave(gen, grid, y, x, length / randint(gen, *c.cycles))
            else:  # blob
                shape = _gaussian(gen, grid, y, x, r / 2)
            out = out + normal(gen, (channels, 1, 1)) * shape
        return standardize(out)


@attrs.frozen(kw_only=True)
class CompositeConfig:
    """Composite waves: plane waves, an optional radial wave, and a little GRF noise."""

    #: Number of plane waves [low, high].
    waves: tuple[int, int] = rng_field((2, 5), kind="int")
    #: Cycles across the domain per wave [low, high].
    cycles: tuple[int, int] = rng_field((1, 6), kind="int")
    #: Probability of adding one radial (target) wave.
    radial_probability: float = attrs.field(
        default=0.3, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    #: Std of the added GRF noise relative to the waves (before standardization).
    noise: float = attrs.field(default=0.1, validator=attrs.validators.ge(0))
    #: Correlation length of that noise, domain units.
    noise_length_scale: float = attrs.field(default=0.05, validator=attrs.validators.gt(0))


class CompositeWaves(ICType):
    """Σ_j a_j cos(k_j·x + φ_jc) [+ a cos(2π m |x - c| / L + φ_c)] + noise; phases per channel."""

    name = "composite"
    config_class = CompositeConfig

    def _sample(self, gen, channels, grid, theta):
        import torch

        c = self.config
        y, x = coordinates(grid, gen.device)
        length = min(grid.lengths)
        out = y.new_zeros((channels, *grid.shape))
        for _ in range(randint(gen, *c.waves)):
            amp = float(uniform(gen, (), 0.5, 1.0))
            angle = float(uniform(gen, (), 0, 2 * math.pi))
            wavelength = length / randint(gen, *c.cycles)
            waves = [_plane_wave(gen, grid, y, x, wavelength, angle) for _ in range(channels)]
            out = out + amp * standardize(torch.stack(waves))
        if float(uniform(gen)) < c.radial_probability:
            r = _distance(gen, grid, y, x)
            m = randint(gen, *c.cycles)
            phase = uniform(gen, (channels, 1, 1), 0, 2 * math.pi)
            out = out + standardize((2 * math.pi * m * r / length + phase).cos())
        out = standardize(out)
        if c.noise > 0:
            out = out + c.noise * gaussian_spectrum_field(gen, channels, grid, c.noise_length_scale)
        return standardize(out)


@attrs.frozen(kw_only=True)
class TuringConfig:
    """Turing-like patterns: hexagonal spots, stripes or labyrinths at one wavelength."""

    #: Pattern wavelength [low, high] in domain units, drawn log-uniformly.
    wavelength: tuple[float, float] = rng_field((0.08, 0.25))
    #: Relative weights of (spots, stripes, labyrinth).
    pattern_weights: tuple[float, float, float] = attrs.field(default=(1.0, 1.0, 1.0), converter=_weights3)
    #: Std of the per-channel GRF noise relative to the pattern.
    noise: float = attrs.field(default=0.05, validator=attrs.validators.ge(0))
    #: Gain of the tanh that sharpens labyrinths (0 keeps the band-passed field as is).
    sharpness: float = attrs.field(default=2.0, validator=attrs.validators.ge(0))


class TuringPattern(ICType):
    """s(x) = Σ_{i=1..3} cos(k_i·x + φ_i) (k_1+k_2+k_3 = 0, spots), cos(k·x + φ) (stripes) or
    tanh(g·bandpass(noise)) (labyrinth); channel c = ±s + noise, signs random per channel."""

    name = "turing"
    config_class = TuringConfig

    def _sample(self, gen, channels, grid, theta):
        c = self.config
        y, x = coordinates(grid, gen.device)
        lam = log_uniform(gen, *c.wavelength)
        kind = weighted_choice(gen, c.pattern_weights)
        if kind == 0:  # hexagonal spots: three resonant waves
            a0 = float(uniform(gen, (), 0, 2 * math.pi))
            k1 = lattice_wavevector(grid, a0, lam)
            k2 = lattice_wavevector(grid, a0 + 2 * math.pi / 3, lam)
            k3 = (-k1[0] - k2[0], -k1[1] - k2[1])
            phases = uniform(gen, (2,), 0, 2 * math.pi)
            ph = (float(phases[0]), float(phases[1]), -float(phases.sum()))
            base = sum((ky * y + kx * x + p).cos() for (ky, kx), p in zip((k1, k2, k3), ph, strict=True))
        elif kind == 1:  # stripes
            base = _plane_wave(gen, grid, y, x, lam)
        else:  # labyrinth
            base = bandpass_field(gen, 1, grid, lam, 0.15)[0]
            if c.sharpness > 0:
                base = (c.sharpness * base).tanh()
        base = standardize(base.expand(1, *grid.shape))
        signs = (uniform(gen, (channels, 1, 1)) < 0.5).to(base.dtype) * 2 - 1
        out = signs * base
        if c.noise > 0:
            out = out + c.noise * gaussian_spectrum_field(gen, channels, grid, lam / 4)
        return standardize(out)


@attrs.frozen(kw_only=True)
class ReactionFrontConfig:
    """Reaction fronts: tanh interfaces, planar, circular or irregular."""

    #: Front width w [low, high] in domain units.
    width: tuple[float, float] = rng_field((0.01, 0.05))
    #: Radius of circular fronts [low, high] in domain units.
    radius: tuple[float, float] = rng_field((0.1, 0.35))
    #: Relative weights of (planar, circular, irregular).
    kind_weights: tuple[float, float, float] = attrs.field(default=(1.0, 1.0, 1.0), converter=_weights3)
    #: Correlation length of the level-set field of irregular fronts, domain units.
    irregular_length_scale: float = attrs.field(default=0.15, validator=attrs.validators.gt(0))


class ReactionFront(ICType):
    """tanh(φ(x) / w) with φ a signed distance-like function: sin(k·x + φ0)/|k| (a planar band,
    periodic), R - |x - c| (circle) or ℓ·g(x) for a GRF g (irregular); channel c = ±front."""

    name = "reaction_front"
    config_class = ReactionFrontConfig

    def _sample(self, gen, channels, grid, theta):
        c = self.config
        y, x = coordinates(grid, gen.device)
        w = float(uniform(gen, (), *c.width))
        kind = weighted_choice(gen, c.kind_weights)
        if kind == 0:
            angle = float(uniform(gen, (), 0, 2 * math.pi))
            ky, kx = lattice_wavevector(grid, angle, min(grid.lengths))
            phase = float(uniform(gen, (), 0, 2 * math.pi))
            phi = (ky * y + kx * x + phase).sin() / math.hypot(ky, kx)
        elif kind == 1:
            phi = float(uniform(gen, (), *c.radius)) - _distance(gen, grid, y, x)
        else:
            ell = c.irregular_length_scale
            phi = ell * gaussian_spectrum_field(gen, 1, grid, ell)[0]
        front = (phi / w).tanh().expand(1, *grid.shape)
        signs = (uniform(gen, (channels, 1, 1)) < 0.5).to(front.dtype) * 2 - 1
        return standardize(signs * front)


#: Every IC type by name, in the order of this table.
IC_TYPES: dict[str, type[ICType]] = {
    cls.name: cls
    for cls in (
        GaussianRandomField,
        MultiscaleGRF,
        LocalizedBlobs,
        StructuredShapes,
        CompositeWaves,
        TuringPattern,
        ReactionFront,
        WellGaussian,
        WellFourier,
    )
}
#: A default mix for any-channel operators (e.g. ``cno``): the generic types, equally weighted.
#: The generic types: zero mean, unit std per channel (before the per-sample amplitude).
UNIT_STD_TYPES: tuple[str, ...] = tuple(list(IC_TYPES)[:7])
GENERIC_WEIGHTS: dict[str, float] = {n: 1.0 for n in UNIT_STD_TYPES}
#: The default mix for ``gray_scott``: The Well's two IC families, half each.
GRAY_SCOTT_WEIGHTS: dict[str, float] = {"well_gaussian": 1.0, "well_fourier": 1.0}


class ICLibrary:
    """A weighted set of IC types; draws a type and a field per sample from its generator.

    ``weights`` maps type names to weights >= 0 (normalised; zero-weight types are kept in
    :attr:`names`, so type indices stay stable, but never drawn). ``options`` maps type names
    to config fields, e.g. ``{"grf": {"length_scale": [0.1, 0.1]}}``. ``amplitude`` is a
    ``[low, high]`` range: each sample of a unit-std (generic) type is scaled by a factor drawn
    log-uniformly from it *after* its field, so amplitude varies across samples as a property of
    the family (without it every INITIAL std would be 1 by construction); ``(1, 1)`` disables it.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        options: Mapping[str, Mapping[str, Any]] | None = None,
        amplitude: tuple[float, float] = (1.0, 1.0),
    ):
        low, high = (float(a) for a in amplitude)
        if not 0 < low <= high:
            raise ConfigError(f"ic amplitude must be [low, high] with 0 < low <= high, got {list(amplitude)}")
        self.amplitude = (low, high)
        options = dict(options or {})
        valid = list(IC_TYPES)
        unknown = sorted(set(weights) - set(valid)) + sorted(set(options) - set(weights))
        if unknown:
            raise ConfigError(
                f"unknown IC type(s) {unknown} in ic weights/options (options need a weight); valid: {valid}"
            )
        bad = {n: w for n, w in weights.items() if not (float(w) >= 0 and math.isfinite(float(w)))}
        if bad or sum(float(w) for w in weights.values()) <= 0:
            raise ConfigError(f"ic weights must be finite, >= 0 and not all 0, got {dict(weights)}")
        self.names: tuple[str, ...] = tuple(weights)
        self.weights: tuple[float, ...] = tuple(float(weights[n]) for n in self.names)
        self.types: tuple[ICType, ...] = tuple(IC_TYPES[n](options.get(n)) for n in self.names)

    @property
    def probabilities(self) -> np.ndarray:
        """Draw probability per type ``[K]``, in the order of :attr:`names`."""
        w = np.asarray(self.weights)
        return w / w.sum()

    def draw(self, generator: torch.Generator) -> int:
        """The index (into :attr:`names`) of this sample's IC type."""
        return weighted_choice(generator, self.weights)

    @property
    def draws_on_host(self) -> bool:
        """Whether every type this library can draw (weight > 0) is batched: then each sample's
        random parameters come from a CPU generator and the batch is rendered on the device
        at once, with no host sync per sample (the Gray-Scott mix)."""
        return all(t.batched for t, w in zip(self.types, self.weights, strict=True) if w > 0)

    def sample(
        self, generator: torch.Generator, channels: int, grid: Grid, device, dtype, theta=None
    ) -> tuple[int, torch.Tensor]:
        """``(type_index, field [C, H, W])``: the type and then the field, both from ``generator``.

        ``theta`` (this sample's decoded θ as ``{name: float}``) is passed to types that use it.
        """
        types, fields = self.sample_many([generator], channels, grid, device, dtype, [theta])
        return int(types[0]), fields[0]

    def sample_many(
        self,
        generators: Sequence[torch.Generator],
        channels: int,
        grid: Grid,
        device,
        dtype,
        thetas: Sequence[Mapping[str, float] | None] | None = None,
    ) -> tuple[np.ndarray, torch.Tensor]:
        """``(type_index int64 [B], fields [B, C, H, W])``, sample ``b`` from ``generators[b]`` alone.

        Each generator gives the type, then the type's draws, then the amplitude, as
        :meth:`sample` does; batched types draw per sample and render all their samples
        together, the others draw and compute one sample at a time.
        """
        import torch

        n = len(generators)
        thetas = list(thetas) if thetas is not None else [None] * n
        out = torch.empty((n, channels, *grid.shape), device=device, dtype=dtype)
        kinds = np.zeros(n, dtype=np.int64)
        pending: dict[int, list[tuple[int, Any]]] = {}
        factors: dict[int, float] = {}
        for b, gen in enumerate(generators):
            i = kinds[b] = self.draw(gen)
            ic = self.types[i]
            if ic.batched:
                pending.setdefault(i, []).append((b, ic.draw(gen, channels, grid, thetas[b])))
            else:
                out[b] = ic.sample(gen, channels, grid, device, dtype, theta=thetas[b])
            factor = self._amplitude(gen, i)
            if factor is not None:
                factors[b] = factor
        for i, items in pending.items():
            rows = [b for b, _ in items]
            fields = self.types[i].render([p for _, p in items], channels, grid, device)
            out[rows] = fields.to(device=device, dtype=dtype)
        for b, factor in factors.items():
            out[b] = out[b] * factor
        return kinds, out

    def _amplitude(self, generator: torch.Generator, i: int) -> float | None:
        """The amplitude factor of a unit-std sample of type ``i`` (drawn last), else None."""
        low, high = self.amplitude
        if self.names[i] not in UNIT_STD_TYPES or not high > low:
            return None
        import torch

        u = torch.rand((), generator=generator, device=generator.device, dtype=torch.float64).item()
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))


def sample_batch(
    library: ICLibrary,
    seed: int,
    sample_indices: Sequence[int],
    channels: int,
    grid: Grid,
    device,
    dtype,
    theta: Mapping[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, torch.Tensor]:
    """ICs of a batch: ``(type_index int64 [B], u0 [B, C, H, W])``.

    Sample ``i`` uses ``generator_for(seed, i, "ic", where)``, so its IC does not depend on the
    batch; ``where`` is the CPU when :attr:`ICLibrary.draws_on_host` (only batched types: their
    few random numbers are drawn on the host and the batch is rendered on ``device`` in one go),
    else ``device``. ``theta`` holds decoded values ``[B]`` per parameter (optional).
    """
    import torch

    from spinlock_core.api import generator_for

    if len(sample_indices) == 0:
        return np.zeros(0, np.int64), torch.zeros((0, channels, *grid.shape), device=device, dtype=dtype)
    where = "cpu" if library.draws_on_host else device
    gens = [generator_for(seed, int(i), "ic", where) for i in sample_indices]
    thetas = [
        None if theta is None else {n: np.asarray(v).reshape(-1)[b].item() for n, v in theta.items()}
        for b in range(len(sample_indices))
    ]
    return library.sample_many(gens, channels, grid, device, dtype, thetas)
