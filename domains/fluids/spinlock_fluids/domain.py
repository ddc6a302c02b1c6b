"""The fluids :class:`~spinlock_core.interfaces.Domain`: the unit torus and the paper's GRF initial vorticity."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from spinlock_core.api import ConfigError, Domain, Grid, ICSampler, Operator, generator_for

from .config import FluidsConfig
from .grf import GaussianRandomField

__all__ = ["FluidsDomain", "VorticityGRFSampler", "unit_torus"]

#: Samples whose fine-grid fields are drawn at once (bounds memory at 256²: 64 x 0.5 MB x 4).
_CHUNK = 64


def unit_torus(size: int) -> Grid:
    return Grid(shape=(size, size), extent=((0.0, 1.0), (0.0, 1.0)), periodic=True)


class VorticityGRFSampler(ICSampler):
    """Initial vorticity ~ the paper's GRF, drawn on ``ic_grid``² and subsampled to the stored grid.

    Sample ``i`` draws from ``generator_for(seed, i, "ic", device)`` only, so its IC does not
    depend on the batch. With 3 channels the velocity of the stored vorticity follows it
    (computed spectrally on the stored grid, as the stepper does for later states).
    """

    names = ("grf",)

    def __init__(self, config: FluidsConfig):
        self.config = config
        self._fields: dict[str, GaussianRandomField] = {}

    def _field(self, device) -> GaussianRandomField:
        key = str(device)
        if key not in self._fields:
            c = self.config
            self._fields[key] = GaussianRandomField(c.ic_grid, c.ic_alpha, c.ic_tau, c.sigma, device=device)
        return self._fields[key]

    def sample(self, seed, indices, channels, grid, device, dtype, theta=None):
        import torch

        from .solver import velocity_channels

        size = grid.shape[0]
        fine = self.config.ic_grid
        if grid.shape[0] != grid.shape[1] or fine % size:
            raise ConfigError(
                f"domain.ic_grid ({fine}) must be a multiple of the stored grid ({grid.shape}); "
                f"set domain.ic_grid={size * max(1, -(-fine // size))}"
            )
        if channels not in (1, 3):
            raise ConfigError(f"fluids ICs have 1 (vorticity) or 3 (with velocity) channels, not {channels}")
        stride = fine // size
        field = self._field(device)
        out = []
        for start in range(0, len(indices), _CHUNK):
            chunk = [int(i) for i in indices[start : start + _CHUNK]]
            w = field.sample([generator_for(seed, i, "ic", device) for i in chunk])[:, ::stride, ::stride]
            out.append(velocity_channels(w) if channels == 3 else w[:, None])
        u0 = torch.cat(out) if out else torch.zeros(0, channels, size, size, device=device)
        return np.zeros(len(indices), dtype=np.int64), u0.to(dtype).contiguous()


class FluidsDomain(Domain):
    name = "fluids"
    operators = ("navier_stokes",)

    def __init__(self, config: FluidsConfig | None = None):
        self.config = config or FluidsConfig()

    def grid(self, size: int, operator: Operator) -> Grid:
        return unit_torus(size)

    def initial_conditions(self, operator: Operator, weights: Mapping[str, float] | None = None) -> ICSampler:
        if weights is not None:
            bad = sorted(k for k, w in weights.items() if k != "grf" and w > 0)
            if bad or not weights.get("grf", 0) > 0:
                raise ConfigError(
                    f"generate.ic_weights={dict(weights)}: the fluids domain has one IC type, 'grf'; "
                    "set generate.ic_weights=null (or {grf: 1})"
                )
        return VorticityGRFSampler(self.config)

    def ic_gallery(self, operator: Operator, path, *, size: int = 64, per_type: int = 4, seed: int = 0):
        """A row of ``per_type`` initial vorticity fields."""
        import matplotlib
        import torch

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        _, u0 = self.initial_conditions(operator).sample(
            seed, range(per_type), 1, self.grid(size, operator), "cpu", torch.float32
        )
        fig, axes = plt.subplots(1, per_type, figsize=(2.2 * per_type, 2.4), squeeze=False)
        for ax, w in zip(axes[0], u0[:, 0].float().numpy(), strict=True):
            lim = float(np.abs(w).max())
            ax.imshow(w, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(0, 1, 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"fluids: initial vorticity (GRF α={self.config.ic_alpha}, τ={self.config.ic_tau})")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path
