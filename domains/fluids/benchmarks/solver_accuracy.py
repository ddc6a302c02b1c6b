"""Accuracy and cost of the navier_stokes solver against the FNO paper's own recipe.

Reference: the paper's generator as published (256², dt = 1e-4, explicit Euler + Crank-Nicolson,
IC drawn on 256²), stored every 4th point (64²). Candidates: the operator exactly as ``generate``
runs it (IC drawn on 256² and subsampled to the stored grid, solver at ``solver_grid`` with
``dt`` and ``scheme``). Both use the same samples (``generator_for(seed, i, "ic")``), ν = 1e-3
and the paper's forcing unless told otherwise. Reported per candidate: relative L2 of the stored
vorticity against the reference at every time unit (mean and max over samples) and, when
``--timing-batch`` > 0, solver throughput (sample-steps/s) and the minutes 1200 trajectories of
50 time units would take.

GPU (H100, ~3 min):
    python domains/fluids/benchmarks/solver_accuracy.py --out $OUT/solver_accuracy
CPU smoke test (seconds):
    python domains/fluids/benchmarks/solver_accuracy.py --device cpu --samples 2 --t-end 0.04 \\
        --ref-grid 32 --ref-dt 1e-3 --stored-grid 16 --candidates 16:4e-3:euler,32:2e-3:heun \\
        --timing-batch 4 --out /tmp/solver_accuracy
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from spinlock_core.api import rollout
from spinlock_fluids.config import FluidsConfig, NavierStokesConfig
from spinlock_fluids.domain import FluidsDomain, unit_torus
from spinlock_fluids.navier_stokes import NavierStokesOperator

#: The last one is the reference's own grid and step started from the stored-grid IC: its error
#: is that of the IC alone (the paper's solver also saw the IC's modes above the stored grid).
DEFAULT_CANDIDATES = (
    "64:1e-3:euler,64:2e-3:euler,128:5e-4:euler,128:1e-3:euler,256:5e-4:euler,"
    "64:2e-3:heun,64:5e-3:heun,128:2e-3:heun,256:1e-4:euler"
)


def parse_candidates(text: str) -> list[dict]:
    """``"grid:dt:scheme,..."`` -> ``[{"grid", "dt", "scheme"}]``."""
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        grid, dt, scheme = item.split(":")
        out.append({"grid": int(grid), "dt": float(dt), "scheme": scheme})
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _theta(b: int, nu: float, amplitude: float) -> dict[str, np.ndarray]:
    return {
        "nu": np.full(b, nu),
        "amplitude": np.full(b, amplitude),
        "forcing_wavenumber": np.ones(b, dtype=np.int64),
        "forcing_orientation": np.zeros(b, dtype=np.int64),  # diagonal: the paper's forcing
    }


def trajectory(
    stored: int, solver: int, dt: float, scheme: str, args, device, dtype, indices
) -> torch.Tensor:
    """Vorticity at t = 0, 1, ..., t_end (time units of ``args.record``), ``[B, T, stored, stored]``."""
    config = NavierStokesConfig(
        nu_range=(args.nu, args.nu),
        amplitude_range=(args.amplitude, args.amplitude),
        wavenumber_range=(1, 1),
        orientations=("diagonal",),
        dt=dt,
        solver_grid=solver,
        time_per_state=args.record,
        scheme=scheme,
    )
    op = NavierStokesOperator(config)
    domain = FluidsDomain(FluidsConfig(ic_grid=args.ref_grid))
    grid = unit_torus(stored)
    _, u0 = domain.initial_conditions(op).sample(args.seed, indices, 1, grid, device, torch.float32)
    stepper = op.build(_theta(len(indices), args.nu, args.amplitude), indices, args.seed, grid, device, dtype)
    steps = round(args.t_end / args.record)
    with torch.no_grad():
        states = rollout(stepper, u0.to(dtype), steps=steps, realizations=1, bound=1e30).states
    return states[:, 0, :, 0].double()


def throughput(grid: int, dt: float, scheme: str, args, device, dtype) -> dict:
    """Solver sample-steps/s over one stored step of ``--timing-steps`` steps, batch ``--timing-batch``."""
    b = args.timing_batch
    steps = args.timing_steps
    config = NavierStokesConfig(
        nu_range=(args.nu, args.nu),
        amplitude_range=(args.amplitude, args.amplitude),
        wavenumber_range=(1, 1),
        orientations=("diagonal",),
        dt=dt,
        solver_grid=grid,
        time_per_state=dt * steps,
        scheme=scheme,
    )
    op = NavierStokesOperator(config)
    u0 = 0.3 * torch.randn(b, 1, 1, grid, grid, device=device, dtype=dtype)
    stepper = op.build(_theta(b, args.nu, args.amplitude), list(range(b)), 0, unit_torus(grid), device, dtype)
    with torch.no_grad():
        stepper.step(u0, 0)  # warm-up (plans, allocator)
        _sync(device)
        start = time.perf_counter()
        stepper.step(u0, 0)
        _sync(device)
        seconds = time.perf_counter() - start
    rate = b * steps / seconds
    per_trajectory = 50 / dt  # 50 time units
    return {
        "batch": b,
        "timed_steps": steps,
        "sample_steps_per_s": rate,
        "minutes_1200_trajectories_x_50_time_units": 1200 * per_trajectory / rate / 60,
    }


def _plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for c in result["candidates"]:
        if "rel_l2_mean_vs_time" not in c:
            continue
        t = np.asarray(c["times"])
        err = np.maximum(np.asarray(c["rel_l2_mean_vs_time"]), 1e-12)
        ax.semilogy(t[1:], err[1:], marker="o", ms=3, label=f"{c['grid']}², dt {c['dt']:g}, {c['scheme']}")
    ref = result["reference"]
    ax.set_xlabel("time")
    ax.set_ylabel("relative L2 vs reference (mean over samples)")
    ax.set_title(f"navier_stokes vs {ref['grid']}², dt {ref['dt']:g} ({ref['scheme']}), ν = {result['nu']:g}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="directory for accuracy.json and accuracy.png"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nu", type=float, default=1e-3)
    parser.add_argument("--amplitude", type=float, default=0.1)
    parser.add_argument("--t-end", type=float, default=10.0, help="compare up to this time (paper table: 10)")
    parser.add_argument("--record", type=float, default=1.0, help="time between compared states")
    parser.add_argument("--ref-grid", type=int, default=256)
    parser.add_argument("--ref-dt", type=float, default=1e-4)
    parser.add_argument("--ref-scheme", default="euler", choices=["euler", "heun"])
    parser.add_argument("--stored-grid", type=int, default=64)
    parser.add_argument("--candidates", default=DEFAULT_CANDIDATES, help="grid:dt:scheme,...")
    parser.add_argument(
        "--timing-batch", type=int, default=None, help="0: no timing (default 1200 on CUDA, 0 on CPU)"
    )
    parser.add_argument("--timing-steps", type=int, default=200)
    args = parser.parse_args(argv)
    if args.t_end / args.record != round(args.t_end / args.record):
        parser.error("--t-end must be a whole number of --record")

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else args.device)
    if args.device == "auto" and device.type != "cuda":
        device = torch.device("cpu")
    if args.timing_batch is None:
        args.timing_batch = 1200 if device.type == "cuda" else 0
    dtype = getattr(torch, args.dtype)
    args.out.mkdir(parents=True, exist_ok=True)
    indices = list(range(args.samples))
    result: dict = {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch": torch.__version__,
        "dtype": args.dtype,
        "samples": args.samples,
        "nu": args.nu,
        "amplitude": args.amplitude,
        "t_end": args.t_end,
        "stored_grid": args.stored_grid,
        "reference": {"grid": args.ref_grid, "dt": args.ref_dt, "scheme": args.ref_scheme},
        "ic": "drawn on the reference grid; the reference starts from it, candidates from its "
        "every-k-th-point subsample on the stored grid (as generate does), lifted to their solver grid",
        "candidates": [],
    }
    start = time.perf_counter()
    ref = trajectory(args.ref_grid, args.ref_grid, args.ref_dt, args.ref_scheme, args, device, dtype, indices)
    stride = args.ref_grid // args.stored_grid
    ref = ref[..., ::stride, ::stride]
    _sync(device)
    result["reference"]["seconds"] = time.perf_counter() - start
    times = [k * args.record for k in range(ref.shape[1])]
    result["reference"]["vorticity_rms_vs_time"] = ref.pow(2).mean(dim=(0, 2, 3)).sqrt().tolist()
    print(
        f"reference {args.ref_grid}², dt {args.ref_dt:g}: {result['reference']['seconds']:.1f} s", flush=True
    )

    for cand in parse_candidates(args.candidates):
        entry = dict(cand)
        try:
            t0 = time.perf_counter()
            traj = trajectory(
                args.stored_grid, cand["grid"], cand["dt"], cand["scheme"], args, device, dtype, indices
            )
            _sync(device)
            entry["seconds"] = time.perf_counter() - t0
            err = (traj - ref).flatten(2).norm(dim=2) / ref.flatten(2).norm(dim=2).clamp_min(1e-30)  # [B, T]
            entry["times"] = times
            entry["rel_l2_mean_vs_time"] = err.mean(0).tolist()
            entry["rel_l2_max_vs_time"] = err.max(0).values.tolist()
            entry["rel_l2_at_t_end"] = {"mean": err[:, -1].mean().item(), "max": err[:, -1].max().item()}
            entry["finite"] = bool(torch.isfinite(traj).all())
            if args.timing_batch > 0:
                entry["timing"] = throughput(cand["grid"], cand["dt"], cand["scheme"], args, device, dtype)
            print(
                f"{cand['grid']:>4}², dt {cand['dt']:<7g} {cand['scheme']:<5}: rel L2 at t={args.t_end:g} "
                f"{entry['rel_l2_at_t_end']['mean']:.2e} (max {entry['rel_l2_at_t_end']['max']:.2e})"
                + (
                    f", {entry['timing']['sample_steps_per_s'] / 1e6:.2f}M sample-steps/s, "
                    f"{entry['timing']['minutes_1200_trajectories_x_50_time_units']:.1f} min for 1200x50"
                    if "timing" in entry
                    else ""
                ),
                flush=True,
            )
        except Exception as exc:  # one failing candidate must not lose the others
            entry["error"] = f"{type(exc).__name__}: {exc}"
            entry["traceback"] = traceback.format_exc(limit=5)
            print(f"{cand}: FAILED {entry['error']}", flush=True)
        result["candidates"].append(entry)
        (args.out / "accuracy.json").write_text(json.dumps(result, indent=2))
    try:
        _plot(result, args.out / "accuracy.png")
    except Exception as exc:
        result["plot_error"] = f"{type(exc).__name__}: {exc}"
    result["total_seconds"] = time.perf_counter() - start
    (args.out / "accuracy.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
