"""How fast the generate stage can store trajectories, by compression, and whether the writer
thread overlaps with the generation thread.

Real data: a CNO chunk made by the generate code (``--scale``, default small so it runs on a
CPU), its float16 trajectories tiled to ``--mb`` megabytes per batch. For each of ``none``,
``lzf`` and ``gzip``: GB/s of :class:`~spinlock_core.part_writer.PartStream` writing
``--batches`` such batches, the compression ratio, and the share of the write during which a
busy Python loop on the generation thread kept running (1.0: the write never blocked it). The
baseline in the same run is ``none``.

    python benchmarks/storage.py --out results.jsonl
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from spinlock_core.benchmarking import report
from spinlock_core.config import compose
from spinlock_core.part_writer import PartStream
from spinlock_core.stages.build import GenerationSetup, simulate


def real_trajectories(scale: str, n: int) -> np.ndarray:
    config = compose([f"scale={scale}", f"generate.n_samples={n}", "features=[]", "device=cpu"])
    setup = GenerationSetup.from_config(config, torch.device("cpu"))
    arrays = simulate(setup, np.arange(n), {k: v[:n] for k, v in setup.theta.items()})
    return arrays["trajectories"].astype(np.float16)


def _spin(stop: threading.Event, count: list[int]) -> None:
    while not stop.is_set():
        count[0] += 1


def time_writes(batch: np.ndarray, batches: int, compression: str, directory: Path) -> dict:
    """GB/s of writing ``batches`` copies of ``batch``, and how much the main thread kept running."""
    n = len(batch) * batches
    stop, count = threading.Event(), [0]
    spinner = threading.Thread(target=_spin, args=(stop, count))
    spinner.start()
    time.sleep(0.2)
    idle_rate = count[0] / 0.2
    start_count, start = count[0], time.perf_counter()
    stream = PartStream(directory, 0, n - 1, compression=compression, depth=2)
    for b in range(batches):
        stream.put(np.arange(b * len(batch), (b + 1) * len(batch)), {"trajectories": batch})
    path = stream.finish({})
    seconds = time.perf_counter() - start
    stop.set()
    spinner.join()
    spin_share = (count[0] - start_count) / seconds / idle_rate
    raw = batch.nbytes * batches
    size = path.stat().st_size
    path.unlink()
    return {
        "gb_per_s": round(raw / seconds / 1e9, 3),
        "ratio": round(raw / size, 3),
        "seconds": round(seconds, 3),
        "main_thread_share": round(spin_share, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="small")
    ap.add_argument("--samples", type=int, default=8, help="operators generated for real data")
    ap.add_argument("--mb", type=float, default=256, help="megabytes per batch written")
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--out", type=Path, default=None, help="append the JSON lines here")
    args = ap.parse_args()
    data = real_trajectories(args.scale, args.samples)
    reps = max(1, int(args.mb * 1e6 // data.nbytes))
    batch = np.concatenate([data] * reps)
    device = "cpu" if not torch.cuda.is_available() else torch.cuda.get_device_name()
    with tempfile.TemporaryDirectory(dir=args.out.parent if args.out else None) as tmp:
        results = {c: time_writes(batch, args.batches, c, Path(tmp)) for c in ("none", "lzf", "gzip")}
    rows = []
    for name in ("lzf", "gzip", "none"):
        rows.append(
            report(
                f"storage_{name}",
                device=device,
                figures={**results[name], "batch_mb": round(batch.nbytes / 1e6, 1), "scale": args.scale},
                baseline=results["none"],
            )
        )
    if args.out:
        with args.out.open("a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    print(f"{'compression':12} {'GB/s':>8} {'ratio':>7} {'main thread':>12}")
    for name, r in results.items():
        print(f"{name:12} {r['gb_per_s']:8.3f} {r['ratio']:7.2f} {r['main_thread_share']:12.2f}")


if __name__ == "__main__":
    main()
