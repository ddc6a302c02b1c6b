"""torch.distributed helpers that work under ``torchrun`` and as a single process alike.

Rank and world size are read from the environment ``torchrun`` sets, so asking for them
never imports torch.
"""

from __future__ import annotations

import os

__all__ = ["rank", "local_rank", "world_size", "is_rank0", "is_distributed", "init_distributed", "barrier"]


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_rank0() -> bool:
    return rank() == 0


def is_distributed() -> bool:
    return world_size() > 1


def init_distributed(device) -> bool:
    """Initialise the default process group under ``torchrun``; a no-op for one process.

    NCCL for CUDA devices, Gloo otherwise. Returns whether a group is active.
    """
    if not is_distributed():
        return False
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if str(device).startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
    return True


def barrier() -> None:
    """Wait for every rank; a no-op for one process."""
    if not is_distributed():
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
