"""Where the ``mno`` stage's (θ, u0, targets) come from: the stored dataset or the operator.

``mno.data=stored`` reads trajectories from the dataset. ``mno.data=online`` re-simulates each
batch on the device from the dataset's own config and the samples' own seeds (the values
generate stored, up to the floating-point effects of a different batch composition), so a
dataset made with ``generate.store_trajectories=false`` trains without touching the disk.

Training pairs are ``(sample, realization)`` of the samples whose status is ok; the split into
training and validation is by sample, from the seed.

Stored trajectories are read once and normalised once (:meth:`StoredTargets.load`): kept as one
tensor on the device when they fit :func:`resident_budget`, else in (pinned) host memory, else
read ahead by a background thread (:meth:`_Targets.stream`), so the training thread never reads
the file. Every way gives the floats :meth:`_Targets.batch` gives (the same float32 operations
on the same values, element by element).
"""

from __future__ import annotations

import os
import queue
import threading

import numpy as np

from ..config import compose
from ..config._yaml import load_yaml
from ..errors import DatasetError
from ..seeding import generator_for
from ..stages.features import domain_info
from ..storage import STATUS, Dataset

__all__ = ["split_pairs", "resident_budget", "BatchStream", "StoredTargets", "OnlineTargets", "make_targets"]

#: Share of the free memory resident trajectories may take: of a CUDA device's free memory (the
#: rest is the model's and its activations'), and of the RAM available on a CPU.
RESIDENT_FRACTION = {"cuda": 0.25, "cpu": 0.5}


def _available_ram() -> int:
    """Bytes of RAM available to new allocations (``MemAvailable``; 0 when unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def resident_budget(device) -> int:
    """Bytes the trajectories may take resident on ``device``: a share (:data:`RESIDENT_FRACTION`)
    of a CUDA device's free memory, of the available RAM on a CPU (and for pinned host copies)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(RESIDENT_FRACTION["cuda"] * free)
    return int(RESIDENT_FRACTION["cpu"] * _available_ram())


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
        self.resident = None  # see load()

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
        self.resident = None  # normalised with the former statistics

    def set_normaliser(self, mean, std) -> None:
        self.mean, self.std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
        self.resident = None

    def theta(self, samples: np.ndarray) -> dict:
        torch = self.torch
        decoded = self.space.from_matrix(self.values[samples])
        return {
            k: torch.as_tensor(np.asarray(v, dtype=np.float64), device=self.device)
            for k, v in decoded.items()
        }

    def _normalise(self, traj):
        """``traj [..., C, H, W]`` normalised per channel in float32 (elementwise: the floats of a
        value do not depend on the tensor it is normalised in)."""
        torch = self.torch
        mean = torch.as_tensor(self.mean, dtype=torch.float32, device=traj.device)[:, None, None]
        std = torch.as_tensor(self.std, dtype=torch.float32, device=traj.device)[:, None, None]
        return (traj.float() - mean) / std

    def _read_batch(self, pairs: np.ndarray, steps: int):
        """The normalised ``[B, steps + 1, C, H, W]`` of ``pairs``, read from the source."""
        torch = self.torch
        samples, realizations = pairs[:, 0], pairs[:, 1]
        unique, inverse = np.unique(samples, return_inverse=True)
        traj = self._trajectories(unique)[torch.as_tensor(inverse), torch.as_tensor(realizations)]
        return self._normalise(traj[:, : steps + 1])

    def _resident_batch(self, pairs: np.ndarray, steps: int):
        """The normalised ``[B, steps + 1, C, H, W]`` of ``pairs`` from the resident copy, or
        ``None`` when it does not hold them."""
        res = self.resident
        if res is None or steps + 1 > res["traj"].shape[2]:
            return None
        rows = res["rows"][pairs[:, 0]]
        if (rows < 0).any():
            return None
        torch = self.torch
        index = torch.as_tensor(rows, device=res["traj"].device)
        realizations = torch.as_tensor(pairs[:, 1], device=res["traj"].device)
        return res["traj"][index, realizations, : steps + 1]

    def _theta(self, samples: np.ndarray) -> dict:
        """:meth:`theta` of ``samples``, from the resident table where it holds them."""
        res = self.resident
        if res is None or (res["rows"][samples] < 0).any():
            return self.theta(samples)
        index = self.torch.as_tensor(res["rows"][samples], device=self.device)
        return {k: v[index] for k, v in res["theta"].items()}

    def batch(self, pairs: np.ndarray, steps: int):
        """``(u0 [B, C, H, W], targets [B, steps, C, H, W], θ)``, fields normalised."""
        traj = self._resident_batch(pairs, steps)
        if traj is None:
            traj = self._read_batch(pairs, steps)
        traj = traj.to(self.device, non_blocking=True)
        return traj[:, 0], traj[:, 1:], self._theta(pairs[:, 0])

    def load(self, pairs: np.ndarray, steps: int, budget: int | None = None) -> str:
        """Nothing to load here: every batch comes from :meth:`batch` (see :class:`StoredTargets`)."""
        return "read per batch"

    def stream(self, batches: list[np.ndarray], steps: int, depth: int = 2) -> BatchStream:
        """The :meth:`batch` of each of ``batches`` (arrays of pairs), in order: from the resident
        copy where it holds them, else read ahead by a background thread (see :class:`BatchStream`)."""
        return BatchStream(self, batches, steps, depth)


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

    def load(self, pairs: np.ndarray, steps: int, budget: int | None = None, chunk: int = 16) -> str:
        """Read the trajectories of ``pairs``' samples once, normalise them once and keep them:
        on the device when they fit ``budget`` bytes (default :func:`resident_budget`), else in
        host memory when the device is a GPU and they fit the RAM's budget, else not at all
        (:meth:`stream` then reads ahead on a background thread). Call after the normaliser is
        set. Returns where they are, in words."""
        torch = self.torch
        samples = np.unique(pairs[:, 0])
        _, realizations, _, *field = self.ds.shape("trajectories")
        shape = (len(samples), realizations, steps + 1, *field)
        nbytes = 4 * int(np.prod(shape))
        device = torch.device(self.device)
        budget = resident_budget(device) if budget is None else budget
        where = None
        if nbytes <= budget:
            where = device
        elif device.type != "cpu" and nbytes <= resident_budget("cpu"):
            where = torch.device("cpu")
        self.resident = None
        size = f"{nbytes / 1e6:,.1f} MB"
        if where is None:
            return f"read ahead on a background thread ({size}, above the budget of {budget / 1e6:,.1f} MB)"
        traj = torch.empty(shape, dtype=torch.float32, device=where)
        for start in range(0, len(samples), chunk):
            part = self._trajectories(samples[start : start + chunk])[:, :, : steps + 1]
            traj[start : start + len(part)] = self._normalise(part).to(where)
        rows = np.full(len(self.values), -1, dtype=np.int64)
        rows[samples] = np.arange(len(samples))
        self.resident = {"traj": traj, "rows": rows, "theta": self.theta(samples)}
        return f"resident on {where.type} ({size})" + (", copied per batch" if where != device else "")


class OnlineTargets(_Targets):
    """Trajectories re-simulated on the device from the dataset's config and seeds."""

    def __init__(self, ds: Dataset, device):
        from ..stages.build import GenerationSetup

        super().__init__(ds, device)
        config = compose(from_data=load_yaml(ds.attrs["config"]))
        self.setup = GenerationSetup.from_config(config, device)
        self.setup.families = {}  # features are not needed for targets
        self.stride = self.setup.cfg.trajectory_stride
        self.realizations = self.setup.realizations
        self.channels = len(self.setup.operator.channels)
        self.horizon = len(range(0, self.setup.cfg.steps + 1, self.stride)) - 1

    def _trajectories(self, samples):
        from ..stages.build import simulate_states

        theta = self.space.from_matrix(self.values[samples])
        _, _, result = simulate_states(self.setup, np.asarray(samples), theta)
        return result.states[:, :, :: self.stride].float()


class BatchStream:
    """The batches of a list of pair arrays, in order (an iterator; :meth:`close` when leaving
    early). From a resident copy on the device they are gathered on the spot; otherwise a
    background thread gathers (host-resident copy) or reads and normalises (the file) up to
    ``depth`` batches ahead, pinned when the device is a GPU, and the training thread only copies
    them to the device."""

    def __init__(self, data: _Targets, batches: list[np.ndarray], steps: int, depth: int = 2):
        import torch

        self.data, self.batches, self.steps, self.position = data, list(batches), steps, 0
        self.device = torch.device(data.device)
        res = data.resident
        inline = not isinstance(data, StoredTargets) or (
            res is not None and res["traj"].device == self.device
        )
        self.queue = None if inline else queue.Queue(maxsize=max(1, depth))
        self.stop = threading.Event()
        # set by the producer as it returns: Thread.is_alive() is wrong after a signal
        # interrupted join() (Python 3.11), and exiting mid-read crashes HDF5 at shutdown
        self.finished = threading.Event()
        self.thread = None
        if self.queue is not None:
            self.thread = threading.Thread(
                target=_produce,
                args=(
                    data,
                    self.batches,
                    steps,
                    self.queue,
                    self.stop,
                    self.device.type == "cuda",
                    self.finished,
                ),
                name="mno-batches",
                daemon=True,
            )
            self.thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self.position >= len(self.batches):
            self.close()
            raise StopIteration
        pairs = self.batches[self.position]
        self.position += 1
        if self.queue is None:
            return self.data.batch(pairs, self.steps)
        item = self.queue.get()
        if isinstance(item, BaseException):
            self.close()
            raise item
        traj = item.to(self.device, non_blocking=True)
        return traj[:, 0], traj[:, 1:], self.data._theta(pairs[:, 0])

    def close(self) -> None:
        """Stop the background thread (if any) and wait for it."""
        self.stop.set()
        if self.thread is not None:
            while not self.finished.is_set():
                try:  # unblock a producer waiting for room
                    self.queue.get_nowait()
                except queue.Empty:
                    self.finished.wait(0.05)
            self.thread = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.stop.set()


def _produce(
    data: _Targets,
    batches,
    steps: int,
    out: queue.Queue,
    stop: threading.Event,
    pin: bool,
    finished: threading.Event,
):
    """The background thread of :class:`BatchStream`: each batch's normalised trajectories
    (``[B, steps + 1, C, H, W]`` on the host), in order, then nothing; an error is passed on."""
    try:
        _produce_batches(data, batches, steps, out, stop, pin)
    finally:
        finished.set()


def _produce_batches(data: _Targets, batches, steps: int, out: queue.Queue, stop: threading.Event, pin: bool):
    try:
        for pairs in batches:
            if stop.is_set():
                return
            traj = data._resident_batch(pairs, steps)
            if traj is None:
                traj = data._read_batch(pairs, steps)
            _put(out, traj.pin_memory() if pin else traj, stop)
    except BaseException as exc:  # handed to the training thread
        _put(out, exc, stop)


def _put(out: queue.Queue, item, stop: threading.Event) -> None:
    """Put ``item`` once there is room, unless the stream is closed meanwhile."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def make_targets(kind: str, ds: Dataset, device) -> _Targets:
    """The target source named by ``mno.data``."""
    if kind == "stored":
        return StoredTargets(ds, device)
    if kind == "online":
        return OnlineTargets(ds, device)
    raise DatasetError(f"mno.data must be 'stored' or 'online', got {kind!r}")
