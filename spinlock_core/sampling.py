"""Scrambled Sobol sampling of a :class:`~spinlock_core.params.ParameterSpace`.

Scrambling is SciPy's: a random linear matrix scramble (LMS) followed by a random digital
shift, seeded from the run's global seed so the same seed always gives the same points.
Sobol's balance properties hold for ``n`` a power of two; other ``n`` work but warn.
"""

from __future__ import annotations

import warnings

import numpy as np

from .params import ParameterSpace
from .seeding import sample_seed

__all__ = ["sobol_unit", "centered_l2_discrepancy", "sample_space"]


def sobol_unit(dim: int, n: int, seed: int) -> np.ndarray:
    """The first ``n`` points ``[n, dim]`` of a scrambled Sobol sequence seeded by ``seed``."""
    from scipy.stats import qmc

    if n & (n - 1) and n > 0:
        warnings.warn(
            f"n_samples={n} is not a power of two; Sobol points are balanced only for "
            f"powers of two (e.g. {1 << (n - 1).bit_length()})",
            stacklevel=2,
        )
    engine = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(sample_seed(seed, 0, "sobol")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # we warned above, once, in our words
        return engine.random(n)


def centered_l2_discrepancy(unit: np.ndarray) -> float:
    """Centred L2 discrepancy of unit rows (lower is more uniform)."""
    from scipy.stats import qmc

    if len(unit) < 2:
        return float("nan")
    return float(qmc.discrepancy(np.clip(unit, 0, 1), method="CD"))


def sample_space(space: ParameterSpace, n: int, seed: int):
    """``(unit rows [n, D], decoded values {name: [n]})`` for ``space``."""
    unit = sobol_unit(space.dim, n, seed)
    return unit, space.decode(unit)
