"""Device selection: ``device=auto|cpu|cuda|cuda:N|mps``."""

from __future__ import annotations

from .distributed import is_distributed, local_rank
from .errors import ConfigError

__all__ = ["select_device", "device_string"]


def select_device(spec: str = "auto"):
    """The ``torch.device`` for a config value; under ``torchrun`` ``cuda`` means this rank's GPU."""
    import torch

    if spec == "auto":
        if torch.cuda.is_available():
            spec = "cuda"
        else:
            return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device={spec} but CUDA is not available here; use device=cpu or device=auto")
        if spec == "cuda":
            return torch.device("cuda", local_rank() if is_distributed() else torch.cuda.current_device())
        index = int(spec.split(":")[1])
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={spec} but only {torch.cuda.device_count()} CUDA device(s) exist")
        return torch.device(spec)
    if spec == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device=mps but MPS is not available here; use device=cpu or device=auto")
        return torch.device("mps")
    if spec == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps, got {spec!r}")


def device_string(device) -> str:
    """A human description of ``device`` for reports and benchmarks (e.g. the GPU model)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{device.index or 0} {torch.cuda.get_device_name(device)}"
    import platform

    return f"cpu {platform.processor() or platform.machine()} x{torch.get_num_threads()} threads"
