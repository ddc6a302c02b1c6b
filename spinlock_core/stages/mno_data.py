"""Where the ``mno`` stage's (θ, u0, targets) come from: the stored dataset or the operator.

``mno.data=stored`` reads trajectories from the dataset. ``mno.data=online`` re-simulates each
batch on the device from the dataset's own config and the samples' own seeds (the values
generate stored, up to the floating-point effects of a different batch composition), so a
dataset made with ``generate.store_trajectories=false`` trains without touching the disk.

Training pairs are ``(sample, realization)`` of the samples whose status is ok; the split into
training and validation is by sample, from the seed.
"""

from __future__ import annotations

import numpy as np

from ..config import compose
from ..config._yaml import load_yaml
from ..errors import DatasetError
from ..seeding import generator_for
from ..storage import STATUS, Dataset
from .features import domain_info

__all__ = ["split_pairs", "StoredTargets", "OnlineTargets", "make_targets"]


def split_pairs(status: np.ndarray, realizations: int, val_fraction: float, seed: int):
    """``(train, val)`` arrays of ``(sample, realization)`` pairs, split by sample."""
    import torch

    ok = np.flatnonzero(status == STATUS["ok"])
    if len(ok) < 2:
        raise DatasetError(f"mno needs at least 2 samples whose status is ok, the dataset has {len(ok)}")
    order = ok[torch.randperm(len(ok), generator=generator_for(seed, 0, "mno.split")).numpy()]
    n_val = min(len(ok) - 1, max(1, round(val_fraction * len(ok))))

    def pairs(samples):
        return np.array([(i, m) for i in np.sort(samples) for m in range(realizations)], dtype=np.int64)

    return pairs(order[n_val:]), pairs(order[:n_val])


class _Targets:
    """Shared part: θ of the pairs, the per-channel normaliser, the batch layout."""

    horizon: int
    realizations: int
    channels: int

    def __init__(self, ds: Dataset, device):
        import torch

        self.ds, self.device, self.torch = ds, device, torch
        self.info = domain_info(ds)
        self.space = self.info.parameter_space
        self.values = ds.read("theta/values")
        self.mean = self.std = None

    def _trajectories(self, samples: np.ndarray):
        """``[S, M, T, C, H, W]`` float tensor on the device for the unique sorted ``samples``."""
        raise NotImplementedError

    def fit_normaliser(self, pairs: np.ndarray, max_samples: int = 64) -> None:
        """Per-channel mean and std over (up to ``max_samples``) training samples, in float64."""
        samples = np.unique(pairs[:, 0])[:max_samples]
        traj = self._trajectories(samples).double()
        dims = (0, 1, 2, 4, 5)
        self.mean = traj.mean(dim=dims).cpu().numpy()
        self.std = traj.std(dim=dims).cpu().numpy() + 1e-8

    def set_normaliser(self, mean, std) -> None:
        self.mean, self.std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

    def theta(self, samples: np.ndarray) -> dict:
        torch = self.torch
        decoded = self.space.from_matrix(self.values[samples])
        return {
            k: torch.as_tensor(np.asarray(v, dtype=np.float64), device=self.device)
            for k, v in decoded.items()
        }

    def batch(self, pairs: np.ndarray, steps: int):
        """``(u0 [B, C, H, W], targets [B, steps, C, H, W], θ)``, fields normalised."""
        torch = self.torch
        samples, realizations = pairs[:, 0], pairs[:, 1]
        unique, inverse = np.unique(samples, return_inverse=True)
        traj = self._trajectories(unique)[torch.as_tensor(inverse), torch.as_tensor(realizations)]
        traj = traj[:, : steps + 1].float()
        mean = torch.as_tensor(self.mean, dtype=torch.float32, device=traj.device)[None, None, :, None, None]
        std = torch.as_tensor(self.std, dtype=torch.float32, device=traj.device)[None, None, :, None, None]
        traj = ((traj - mean) / std).to(self.device)
        return traj[:, 0], traj[:, 1:], self.theta(samples)


class StoredTargets(_Targets):
    """Trajectories read from the dataset (``generate.store_trajectories=true``)."""

    def __init__(self, ds: Dataset, device):
        super().__init__(ds, device)
        if not ds.has("trajectories"):
            raise DatasetError(
                "the dataset stores no trajectories: train with mno.data=online (re-simulates from the "
                "samples' seeds), or generate with generate.store_trajectories=true"
            )
        _, self.realizations, steps, self.channels, *_ = ds.shape("trajectories")
        self.horizon = steps - 1

    def _trajectories(self, samples):
        return self.torch.as_tensor(self.ds.read("trajectories", samples).astype(np.float32))


class OnlineTargets(_Targets):
    """Trajectories re-simulated on the device from the dataset's config and seeds."""

    def __init__(self, ds: Dataset, device):
        from .build import GenerationSetup

        super().__init__(ds, device)
        config = compose(from_data=load_yaml(ds.attrs["config"]))
        self.setup = GenerationSetup.from_config(config, device)
        self.setup.families = {}  # features are not needed for targets
        self.stride = self.setup.cfg.trajectory_stride
        self.realizations = self.setup.realizations
        self.channels = len(self.setup.operator.channels)
        self.horizon = len(range(0, self.setup.cfg.steps + 1, self.stride)) - 1

    def _trajectories(self, samples):
        from .build import simulate_states

        theta = self.space.from_matrix(self.values[samples])
        _, _, result = simulate_states(self.setup, np.asarray(samples), theta)
        return result.states[:, :, :: self.stride].float()


def make_targets(kind: str, ds: Dataset, device) -> _Targets:
    """The target source named by ``mno.data``."""
    if kind == "stored":
        return StoredTargets(ds, device)
    if kind == "online":
        return OnlineTargets(ds, device)
    raise DatasetError(f"mno.data must be 'stored' or 'online', got {kind!r}")
