"""The reaction-diffusion :class:`~spinlock_core.interfaces.Domain`."""

from __future__ import annotations

from collections.abc import Mapping

from spinlock_core.api import ConfigError, Domain, Grid, ICSampler, Operator

from .ics import ICLibrary, sample_batch
from .specs import ReactionDiffusionConfig

__all__ = ["ReactionDiffusionDomain", "LibrarySampler"]


class LibrarySampler(ICSampler):
    """Adapts an :class:`ICLibrary` to the core's batched IC interface."""

    def __init__(self, library: ICLibrary):
        self.library = library
        self.names = tuple(library.names)

    def sample(self, seed, indices, channels, grid, device, dtype, theta=None):
        types, fields = sample_batch(self.library, seed, indices, channels, grid, device, dtype, theta=theta)
        return types.cpu().numpy() if hasattr(types, "cpu") else types, fields


class ReactionDiffusionDomain(Domain):
    name = "reaction_diffusion"
    operators = ("cno", "gray_scott")

    def __init__(self, config: ReactionDiffusionConfig | None = None):
        self.config = config or ReactionDiffusionConfig()

    def grid(self, size: int, operator: Operator) -> Grid:
        if hasattr(operator, "grid_for"):  # gray_scott: The Well's [-1, 1]^2 box
            return operator.grid_for((size, size))
        lo, hi = self.config.extent
        return Grid(shape=(size, size), extent=((lo, hi), (lo, hi)), periodic=True)

    def time_per_state(self, operator: Operator) -> float:
        return float(getattr(operator, "stored_dt", 1.0))

    def library(self, operator: Operator, weights: Mapping[str, float] | None = None) -> ICLibrary:
        if weights is None:
            if operator.name not in self.config.ic_weights:
                raise ConfigError(
                    f"domain.ic_weights has no entry for operator {operator.name!r}; "
                    f"it has {sorted(self.config.ic_weights)} (or set generate.ic_weights)"
                )
            weights = self.config.ic_weights[operator.name]
        return ICLibrary(weights, self.config.ic_options, amplitude=self.config.ic_amplitude)

    def initial_conditions(self, operator: Operator, weights: Mapping[str, float] | None = None) -> ICSampler:
        return LibrarySampler(self.library(operator, weights))

    def ic_gallery(self, operator: Operator, path, *, size: int = 64, per_type: int = 4, seed: int = 0):
        from .gallery import ic_gallery

        library = self.library(operator)
        return ic_gallery(
            library, len(operator.channels), self.grid(size, operator), path, per_type=per_type, seed=seed
        )
