"""Parameter specs and spaces: the unit cube <-> parameter values, in one place.

A :class:`ParameterSpace` maps rows of the unit cube ``[0, 1)^D`` (from a scrambled Sobol
sequence, see :mod:`spinlock_core.sampling`) to decoded values:

* :class:`IntegerParam` – every integer in ``[low, high]`` gets equal mass.
* :class:`ContinuousParam` – linear or log-uniform in ``[low, high]``.
* :class:`CategoricalParam` – choice ``i`` with probability ``weights[i]`` (normalised).
* :class:`BooleanParam` – ``True`` with probability ``p_true``.

Decoded values are numbers: integers as ``int64``, categoricals as the ``int64`` index of the
choice, booleans as ``bool``. :meth:`ParameterSpace.as_matrix` stacks them into one float
matrix for storage; the choice names live in the space's description.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

from .errors import ConfigError

__all__ = [
    "IntegerParam",
    "ContinuousParam",
    "CategoricalParam",
    "BooleanParam",
    "ParameterSpec",
    "ParameterSpace",
]


def _check_range(instance, attribute, value):
    if not instance.low <= instance.high:
        raise ConfigError(f"parameter {instance.name!r}: low {instance.low} > high {instance.high}")


@attrs.frozen(kw_only=True)
class IntegerParam:
    """An integer in ``[low, high]`` (both included), each value equally likely."""

    name: str
    low: int
    high: int = attrs.field(validator=_check_range)
    doc: str = ""
    kind = "integer"

    def decode(self, u: np.ndarray) -> np.ndarray:
        n = self.high - self.low + 1
        return np.minimum(self.low + np.floor(u * n), self.high).astype(np.int64)

    def encode(self, values: np.ndarray) -> np.ndarray:
        n = self.high - self.low + 1
        return (np.asarray(values, dtype=np.float64) - self.low + 0.5) / n


@attrs.frozen(kw_only=True)
class ContinuousParam:
    """A real number in ``[low, high]``, uniform in the value or (``log=True``) its logarithm."""

    name: str
    low: float
    high: float = attrs.field(validator=_check_range)
    log: bool = False
    doc: str = ""
    kind = "continuous"

    def __attrs_post_init__(self):
        if self.log and self.low <= 0:
            raise ConfigError(f"parameter {self.name!r}: log scale needs low > 0, got {self.low}")

    def decode(self, u: np.ndarray) -> np.ndarray:
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return np.exp(lo + u * (hi - lo))
        return self.low + u * (self.high - self.low)

    def encode(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self.low == self.high:
            return np.full_like(values, 0.5)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return (np.log(values) - lo) / (hi - lo)
        return (values - self.low) / (self.high - self.low)


@attrs.frozen(kw_only=True)
class CategoricalParam:
    """One of ``choices``, picked with probability proportional to ``weights`` (default equal)."""

    name: str
    choices: tuple[str, ...] = attrs.field(converter=tuple)
    weights: tuple[float, ...] | None = attrs.field(default=None)
    doc: str = ""
    kind = "categorical"

    def __attrs_post_init__(self):
        if not self.choices:
            raise ConfigError(f"parameter {self.name!r}: needs at least one choice")
        if self.weights is not None:
            if len(self.weights) != len(self.choices):
                raise ConfigError(
                    f"parameter {self.name!r}: {len(self.weights)} weights for "
                    f"{len(self.choices)} choices {list(self.choices)}"
                )
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ConfigError(f"parameter {self.name!r}: weights must be >= 0, sum > 0")

    @property
    def probabilities(self) -> np.ndarray:
        w = np.ones(len(self.choices)) if self.weights is None else np.asarray(self.weights, float)
        return w / w.sum()

    def decode(self, u: np.ndarray) -> np.ndarray:
        edges = np.cumsum(self.probabilities)[:-1]
        return np.searchsorted(edges, u, side="right").astype(np.int64)

    def encode(self, values: np.ndarray) -> np.ndarray:
        cum = np.concatenate([[0.0], np.cumsum(self.probabilities)])
        idx = np.asarray(values, dtype=np.int64)
        return (cum[idx] + cum[idx + 1]) / 2

    def index(self, choice: str) -> int:
        try:
            return self.choices.index(choice)
        except ValueError:
            raise ConfigError(
                f"parameter {self.name!r}: unknown choice {choice!r}; valid: {list(self.choices)}"
            ) from None


@attrs.frozen(kw_only=True)
class BooleanParam:
    """``True`` with probability ``p_true``."""

    name: str
    p_true: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.le(1)])
    doc: str = ""
    kind = "boolean"

    def decode(self, u: np.ndarray) -> np.ndarray:
        return u < self.p_true

    def encode(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=bool)
        return np.where(v, self.p_true / 2, (1 + self.p_true) / 2)


ParameterSpec = IntegerParam | ContinuousParam | CategoricalParam | BooleanParam


@attrs.frozen
class ParameterSpace:
    """An ordered set of parameters; column ``j`` of a unit row belongs to ``params[j]``."""

    params: tuple[ParameterSpec, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self):
        names = [p.name for p in self.params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"parameter space has duplicate names: {dupes}")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def dim(self) -> int:
        return len(self.params)

    def __getitem__(self, name: str) -> ParameterSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise ConfigError(f"no parameter {name!r}; valid: {self.names}")

    def decode(self, unit: np.ndarray) -> dict[str, np.ndarray]:
        """Unit rows ``[N, D]`` -> ``{name: values [N]}``."""
        unit = np.asarray(unit, dtype=np.float64)
        if unit.ndim != 2 or unit.shape[1] != self.dim:
            raise ValueError(f"unit rows must be [N, {self.dim}], got {list(unit.shape)}")
        return {p.name: p.decode(unit[:, j]) for j, p in enumerate(self.params)}

    def encode(self, values: dict[str, Any]) -> np.ndarray:
        """``{name: values [N]}`` -> unit rows ``[N, D]`` (cell centres for discrete params)."""
        return np.stack([p.encode(np.asarray(values[p.name])) for p in self.params], axis=1)

    def as_matrix(self, values: dict[str, np.ndarray]) -> np.ndarray:
        """Decoded values as one float64 matrix ``[N, D]`` (categorical = choice index)."""
        return np.stack([np.asarray(values[n], dtype=np.float64) for n in self.names], axis=1)

    def from_matrix(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        """Inverse of :meth:`as_matrix`."""
        out = {}
        for j, p in enumerate(self.params):
            col = np.asarray(matrix)[:, j]
            if p.kind in ("integer", "categorical"):
                out[p.name] = np.rint(col).astype(np.int64)
            elif p.kind == "boolean":
                out[p.name] = col.astype(bool)
            else:
                out[p.name] = col.astype(np.float64)
        return out

    def describe(self) -> list[dict]:
        """A JSON-able description (stored with datasets)."""
        return [
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in attrs.asdict(p).items()}
            | {"kind": p.kind}
            for p in self.params
        ]

    @classmethod
    def from_description(cls, description: list[dict]) -> ParameterSpace:
        kinds = {
            "integer": IntegerParam,
            "continuous": ContinuousParam,
            "categorical": CategoricalParam,
            "boolean": BooleanParam,
        }
        params = []
        for d in description:
            d = dict(d)
            kind = d.pop("kind")
            if kind == "categorical" and d.get("weights") is not None:
                d["weights"] = tuple(d["weights"])
            params.append(kinds[kind](**d))
        return cls(params)
