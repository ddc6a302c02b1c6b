"""Benchmark the generate path on the device: CNO operators/s, Gray-Scott trajectory-steps/s,
and the inline cost of the feature families.

Every figure comes with a baseline measured in the same run (one operator at a time for the
CNO, as the prototype ran it; features off for the inline cost). Prints one JSON line per
measurement and writes them all to ``--out`` (JSON).

    python benchmarks/generate.py --out results.json            # everything
    python benchmarks/generate.py --only cno --cno-samples 128
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from spinlock_core.config import compose
from spinlock_core.device import device_string
from spinlock_core.stages.build import GenerationSetup, chunk_batches, simulate

RESULTS: list[dict] = []


def emit(name: str, **figures) -> dict:
    row = {"benchmark": name, **figures}
    RESULTS.append(row)
    print(json.dumps(row), flush=True)
    return row


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _setup(overrides: list[str], device) -> GenerationSetup:
    return GenerationSetup.from_config(compose(["stage=generate", *overrides]), device)


def _run_batches(setup: GenerationSetup, batches: list[np.ndarray]) -> float:
    """Seconds to simulate ``batches`` (rows of the setup's θ), device work only (no disk)."""
    _sync()
    start = time.perf_counter()
    for rows in batches:
        simulate(setup, rows, {k: v[rows] for k, v in setup.theta.items()})
    _sync()
    return time.perf_counter() - start


def _group_count(setup: GenerationSetup, rows: np.ndarray) -> int:
    """Distinct convolution groups in a batch (the key's high part; the low part orders segments)."""
    key = setup.operator.batch_order_key({k: v[rows] for k, v in setup.theta.items()})
    c = getattr(setup.operator, "config", None)
    if hasattr(c, "channel_bucket"):  # cno: key = group * segments + segment
        key = key // (len(c.paddings) * len(c.activations) * len(c.normalizations))
    return len(np.unique(key))


def cno(args, device) -> None:
    base = [
        f"scale={args.scale}",
        f"generate.n_samples={args.cno_samples}",
        f"generate.batch_size={args.batch}",
    ]
    for dtype, features in args.cno_variants:
        if True:
            setup = _setup([*base, f"generate.dtype={dtype}", f"features={features}"], device)
            indices = np.arange(args.cno_samples)
            batches = [indices[r] for r in chunk_batches(setup, indices, setup.theta)]
            _run_batches(setup, batches[:1])  # warm-up: kernels, compile, cuDNN plans
            torch.cuda.reset_peak_memory_stats() if torch.cuda.is_available() else None
            measured = batches[1:] or batches
            n = sum(len(b) for b in measured)
            seconds = _run_batches(setup, measured)
            derived = setup.operator.derived_columns(setup.theta, setup.grid)
            rows = np.concatenate(measured)
            m, steps = setup.realizations, setup.cfg.steps
            flop = float(np.sum(derived["flops_per_step"][rows])) * steps * m
            executed = getattr(setup.operator, "executed_flops", None)
            exec_flop = (
                float(np.sum(executed(setup.theta, setup.grid)[rows])) * steps * m if executed else None
            )
            groups = [
                len(np.unique(setup.operator.batch_order_key({k: v[b] for k, v in setup.theta.items()})))
                for b in measured
            ]
            emit(
                "cno",
                dtype=dtype,
                features=features,
                operators=n,
                seconds=round(seconds, 3),
                operators_per_s=round(n / seconds, 3),
                tflop_per_operator=round(flop / n / 1e12, 2),
                tflops_real=round(flop / seconds / 1e12, 1),
                tflops_executed=round(exec_flop / seconds / 1e12, 1) if exec_flop else None,
                mean_groups_per_batch=round(float(np.mean(groups)), 2),
                peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2)
                if torch.cuda.is_available()
                else None,
            )
    # baseline: one operator at a time (the prototype's pattern), same θ, same run
    setup = _setup([*base, "generate.dtype=bfloat16", "features=[summary]"], device)
    alone = [np.array([i]) for i in range(args.baseline_samples)]
    _run_batches(setup, alone[:1])
    seconds = _run_batches(setup, alone[1:])
    emit(
        "cno_baseline_one_at_a_time",
        dtype="bfloat16",
        features="[summary]",
        operators=len(alone) - 1,
        operators_per_s=round((len(alone) - 1) / seconds, 3),
    )


def gray_scott(args, device) -> None:
    for batch in args.gs_batches:
        setup = _setup(
            [
                "operator=gray_scott",
                f"generate.n_samples={batch}",
                f"generate.batch_size={batch}",
                f"generate.grid={args.gs_grid}",
                f"generate.steps={args.gs_steps}",
                "features=[]",
                "generate.dtype=float32",
            ],
            device,
        )
        rows = np.arange(batch)
        _run_batches(setup, [rows])
        seconds = _run_batches(setup, [rows])
        substeps = setup.operator.config.substeps
        emit(
            "gray_scott",
            grid=args.gs_grid,
            batch=batch,
            stored_steps=args.gs_steps,
            substeps=substeps,
            seconds=round(seconds, 3),
            solver_steps_per_s=round(batch * args.gs_steps * substeps / seconds),
            stored_states_per_s=round(batch * args.gs_steps / seconds),
        )


def features(args, device) -> None:
    """Each family alone on ready trajectories (64x64, 256 states, 5 realizations)."""
    from spinlock_core import registry
    from spinlock_core.interfaces import FeatureBatch

    setup = _setup(
        [
            f"scale={args.scale}",
            f"generate.n_samples={args.batch}",
            f"generate.batch_size={args.batch}",
            "features=[]",
            "generate.dtype=bfloat16",
        ],
        device,
    )
    rows = np.arange(args.batch)
    theta = {k: v[rows] for k, v in setup.theta.items()}
    _, u0 = setup.ics.sample(0, rows, 3, setup.grid, device, torch.float32, theta=theta)
    t, m = setup.cfg.steps + 1, setup.realizations
    traj = (
        torch.randn(args.batch, m, t, 3, *setup.grid.shape, device=device).cumsum(2) * 0.05
        + u0[:, None, None]
    )
    batch = FeatureBatch(
        domain=setup.info,
        theta=theta,
        u0=u0,
        trajectories=traj,
        time=torch.arange(t, device=device, dtype=torch.float32),
        derived=setup.operator.derived_columns(theta, setup.grid),
    )
    for name in ("initial", "architecture", "summary", "temporal"):
        family = registry.load("features", name).create(None)
        family.extract(batch)
        _sync()
        start = time.perf_counter()
        out = family.extract(batch)
        _sync()
        seconds = time.perf_counter() - start
        emit(
            "features",
            family=name,
            batch=args.batch,
            columns=int(out.shape[-1]),
            samples_per_s=round(args.batch / seconds, 1),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="generate-benchmark.json")
    parser.add_argument("--only", choices=("cno", "gray_scott", "features"), default=None)
    parser.add_argument("--scale", default="production", help="size preset (small for a CPU smoke test)")
    parser.add_argument("--cno-samples", type=int, default=256)
    parser.add_argument("--baseline-samples", type=int, default=9)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--cno-variants",
        type=lambda s: tuple(s.split(":", 1)),
        nargs="+",
        default=[
            ("bfloat16", "[]"),
            ("bfloat16", "[summary]"),
            ("bfloat16", "[initial,architecture,summary,temporal]"),
            ("float32", "[]"),
        ],
        help="dtype:features pairs, e.g. bfloat16:[summary]",
    )
    parser.add_argument("--gs-grid", type=int, default=128)
    parser.add_argument("--gs-steps", type=int, default=20)
    parser.add_argument("--gs-batches", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    emit("device", device=device_string(device), torch=torch.__version__)
    for name, fn in (("cno", cno), ("gray_scott", gray_scott), ("features", features)):
        if args.only in (None, name):
            fn(args, device)
    with open(args.out, "w") as f:
        json.dump(RESULTS, f, indent=2)


if __name__ == "__main__":
    main()
