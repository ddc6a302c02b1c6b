"""Count what one step of a stepper asks of the device: dispatcher ops and CUDA kernels.

* :func:`dispatch_ops` counts ATen ops at the dispatcher (what each eager call issues; view
  ops listed apart since they launch nothing). The counter-RNG hash of
  :mod:`spinlock_core.seeding` counts as one op per draw, as on CUDA where it is one compiled
  kernel (on CPU it runs eagerly as dozens of integer ops).
* :func:`profile_step` runs steps under ``torch.profiler`` and reports CUDA kernels per step,
  device-busy time against wall time, and the most expensive kernels.

Used by ``benchmarks/generate.py``; works on CPU (dispatcher counts only).
"""

from __future__ import annotations

import collections
import time
from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["dispatch_ops", "profile_step", "VIEW_OPS"]

#: Ops that make views or aliases (no kernel).
_VIEWS = "view _unsafe_view as_strided alias detach expand lift_fresh permute reshape select slice squeeze t"
VIEW_OPS = frozenset(
    "aten." + n for n in (_VIEWS + " transpose unsqueeze unflatten flatten split unbind narrow").split()
)


class _Count(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops: collections.Counter = collections.Counter()
        self.mute = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not self.mute:
            self.ops[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


@contextmanager
def _rng_as_one_op(mode: _Count):
    """Run the counter-RNG hash uncompiled and count it as one op per draw."""
    from spinlock_core import seeding

    original = seeding._kernel

    def kernel(fn, device_type):
        def run(*args):
            mode.ops["counter_rng (one kernel)"] += 1
            mode.mute += 1
            try:
                return fn(*args)
            finally:
                mode.mute -= 1

        return run

    seeding._kernel = kernel
    try:
        yield
    finally:
        seeding._kernel = original


def dispatch_ops(step, u: torch.Tensor, t: int = 3) -> dict:
    """``{"ops": total, "non_view": launches, "top": [(op, count), ...]}`` for ``step(u, t)``.

    ``step`` is called once beforehand (lazy constants are built outside the count).
    """
    step(u, t)
    mode = _Count()
    with _rng_as_one_op(mode), mode:
        step(u, t)
    total = sum(mode.ops.values())
    views = sum(n for op, n in mode.ops.items() if op in VIEW_OPS)
    top = [(op, n) for op, n in mode.ops.most_common() if op not in VIEW_OPS][:12]
    return {"ops": total, "non_view": total - views, "top": top}


def _device_time_us(event) -> float:
    for name in ("self_device_time_total", "self_cuda_time_total", "device_time_total", "cuda_time_total"):
        value = getattr(event, name, None)
        if value:
            return float(value)
    return 0.0


def profile_step(step, u: torch.Tensor, steps: int = 2, table_path=None) -> dict:
    """CUDA kernels per step, device-busy fraction and the top kernels of ``steps`` calls.

    ``u`` is advanced by ``step`` (``u = step(u, t)``); ``table_path`` receives the profiler's
    table sorted by device time.
    """
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        start = time.perf_counter()
        for t in range(steps):
            u = step(u, 100 + t)
        torch.cuda.synchronize()
        wall = time.perf_counter() - start
    kernels = [e for e in prof.events() if str(getattr(e, "device_type", "")).endswith("CUDA")]
    busy_us = sum(_device_time_us(e) for e in kernels)
    by_name: dict[str, float] = collections.defaultdict(float)
    for e in kernels:
        by_name[e.name] += _device_time_us(e)
    top = sorted(by_name.items(), key=lambda kv: -kv[1])[:10]
    if table_path is not None:
        for key in ("self_device_time_total", "self_cuda_time_total"):
            try:
                table = prof.key_averages().table(sort_by=key, row_limit=40)
                break
            except (AttributeError, KeyError, ValueError):
                table = "profiler table unavailable in this torch version"
        with open(table_path, "w") as f:
            f.write(table)
    return {
        "kernels_per_step": round(len(kernels) / steps, 1),
        "wall_ms_per_step": round(wall / steps * 1e3, 2),
        "device_busy_ms_per_step": round(busy_us / steps / 1e3, 2),
        "top_kernels_ms_per_step": [(name[:90], round(us / steps / 1e3, 3)) for name, us in top],
    }
