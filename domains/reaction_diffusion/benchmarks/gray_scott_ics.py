"""Time to draw Gray-Scott initial conditions: a whole batch rendered at once against one
sample at a time (each alone through the same code), with tensor-op and host-read counts.

The default mix (``well_gaussian`` and ``well_fourier``, half each) at ``--grid``² for a batch
of ``--batch``; every sample from ``generator_for(seed, i, "ic")``. Reported per sample: the
minimum and median over ``--repeats`` batches (after one warm-up), and per batch: the tensor
ops dispatched and the scalar reads (``.item()``/``int()``/``float()``), with the tensors'
device (on a GPU a read of a device tensor is a host sync).

CPU (about 10 s at OMP_NUM_THREADS=1):
    python domains/reaction_diffusion/benchmarks/gray_scott_ics.py \\
        --out benchmarks/results/2026-12-05-cpu-gray-scott-ics.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from spinlock_core.api import generator_for
from spinlock_reaction_diffusion.gray_scott import GrayScottOperator
from spinlock_reaction_diffusion.ics import GRAY_SCOTT_WEIGHTS, ICLibrary, sample_batch


class _Count(TorchDispatchMode):
    """Counts dispatched tensor ops and scalar reads, by device."""

    def __init__(self):
        super().__init__()
        self.ops: dict[str, int] = {}
        self.reads: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        first = next((a for a in args if isinstance(a, torch.Tensor)), out)
        device = str(first.device) if isinstance(first, torch.Tensor) else "none"
        table = self.reads if func is torch.ops.aten._local_scalar_dense.default else self.ops
        table[device] = table.get(device, 0) + 1
        return out


def one_at_a_time(library, seed, indices, grid, device, dtype, theta):
    out = []
    for b, i in enumerate(indices):
        th = {n: float(v[b]) for n, v in theta.items()}
        where = "cpu" if library.draws_on_host else device
        out.append(library.sample(generator_for(seed, i, "ic", where), 2, grid, device, dtype, theta=th)[1])
    return torch.stack(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--grid", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    grid = GrayScottOperator().grid_for((args.grid, args.grid))
    library = ICLibrary(GRAY_SCOTT_WEIGHTS)
    rng = np.random.default_rng(0)
    theta = {"F": rng.uniform(0.01, 0.1, args.batch), "k": rng.uniform(0.045, 0.07, args.batch)}
    indices = list(range(args.batch))
    ways = {
        "batch": lambda seed: sample_batch(library, seed, indices, 2, grid, device, torch.float32, theta)[1],
        "one_at_a_time": lambda seed: one_at_a_time(
            library, seed, indices, grid, device, torch.float32, theta
        ),
    }
    result: dict = {
        "what": "Gray-Scott IC drawing time per sample (default well_gaussian/well_fourier mix)",
        "device": str(device) if device.type != "cpu" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "grid": args.grid,
        "batch": args.batch,
        "repeats": args.repeats,
    }
    first = {}
    for name, draw in ways.items():
        first[name] = draw(0)  # warm-up; also the equality check below
        seconds = []
        for rep in range(args.repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            draw(rep + 1)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds.append(time.perf_counter() - start)
        with _Count() as count:
            draw(0)
        ms = np.asarray(seconds) * 1e3 / args.batch
        result[name] = {
            "ms_per_sample_min": float(ms.min()),
            "ms_per_sample_median": float(np.median(ms)),
            "tensor_ops_per_batch": count.ops,
            "scalar_reads_per_batch": count.reads,
        }
        print(
            f"{name:14s} {ms.min():.3f} ms/sample (median {np.median(ms):.3f}); ops {count.ops}, reads {count.reads}"
        )
    result["bitwise_equal"] = bool(torch.equal(first["batch"], first["one_at_a_time"]))
    print("batch == one at a time:", result["bitwise_equal"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
