"""Grid error of the gray_scott operator: each grid against a finer run from the same ICs.

For The Well's spots, maze and worms parameter sets, the operator exactly as ``generate``
runs it (dt = 1, 10 solver steps per stored state, 2/3 dealiasing) runs at every grid of
``--grids`` from the same initial conditions: The Well's two IC types (``well_gaussian``,
``well_fourier``) are closed-form functions of position, so each grid evaluates the same
draw (``generator_for(seed, i, "ic")``) at its own points, as ``generate`` does at its grid.
At each time of ``--times`` every coarser state is compared with the finest grid's state
(``--grids``' last) in two ways:

* ``spectral``: the coarse state's Fourier series evaluated on the fine grid (zero-padded
  ``rfft2``, the Nyquist modes split evenly), i.e. the continuous field the coarse run
  represents, against the fine state;
* ``points``: the fine state at the coarse grid's points (both grids start at the domain's
  corner, so every k-th fine point is a coarse point).

The error of a trajectory is ``||coarse - fine|| / ||fine||`` over both channels (A, B).

CPU (about 15 s at OMP_NUM_THREADS=1):
    python domains/reaction_diffusion/benchmarks/gray_scott_grid.py \\
        --out benchmarks/results/2026-12-05-cpu-gray-scott-grid.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from spinlock_core.api import generator_for
from spinlock_reaction_diffusion.gray_scott import GrayScottOperator
from spinlock_reaction_diffusion.ics import IC_TYPES

#: The Well's parameter sets compared by issue #17 (``(F, k)``, The Well's dataset card).
REGIMES = {"spots": (0.030, 0.062), "maze": (0.029, 0.057), "worms": (0.058, 0.065)}
IC_NAMES = ("well_gaussian", "well_fourier")


def upsample(u: torch.Tensor, size: int) -> torch.Tensor:
    """The trigonometric interpolant of ``u [..., n, n]`` on a ``size x size`` grid (same extent)."""
    n = u.shape[-1]
    if size == n:
        return u
    h = n // 2
    c = torch.fft.rfft2(u)
    out = c.new_zeros((*u.shape[:-2], size, size // 2 + 1))
    out[..., :h, :h] = c[..., :h, :h]
    out[..., size - h + 1 :, :h] = c[..., h + 1 :, :h]
    out[..., h, :h] = c[..., h, :h] / 2  # Nyquist row: half at +n/2, half at -n/2
    out[..., size - h, :h] = c[..., h, :h] / 2
    col = c[..., h] / 2  # Nyquist column: half here, half in the implied conjugate column
    out[..., :h, h] = col[..., :h]
    out[..., size - h + 1 :, h] = col[..., h + 1 :]
    out[..., h, h] = col[..., h] / 2
    out[..., size - h, h] = col[..., h] / 2
    return torch.fft.irfft2(out, s=(size, size)) * (size * size) / (n * n)


def run(grid_size: int, args, theta: dict, indices: list[int], kinds: list[str]) -> torch.Tensor:
    """States at ``args.times`` from the ICs drawn on this grid: ``[B, T, 2, n, n]`` float64."""
    op = GrayScottOperator()
    grid = op.grid_for((grid_size, grid_size))
    fields = []
    for b, (i, kind) in enumerate(zip(indices, kinds, strict=True)):
        ic = IC_TYPES[kind]()
        th = {name: float(v[b]) for name, v in theta.items()}
        fields.append(ic.sample(generator_for(args.seed, i, "ic"), 2, grid, "cpu", torch.float64, theta=th))
    u = torch.stack(fields)[:, None]
    stepper = op.build(theta, indices, args.seed, grid, torch.device("cpu"), torch.float64)
    out, t = [], 0
    stops = [round(tt / op.stored_dt) for tt in args.times]
    with torch.no_grad():
        for step in range(max(stops)):
            u = stepper.step(u, step)
            t = step + 1
            if t in stops:
                out.append(u[:, 0])
    return torch.stack(out, dim=1)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--grids", default="32,64,128,256", help="comma-separated; the last is the reference")
    parser.add_argument("--times", default="10,50,100", help="times compared (multiples of 10)")
    parser.add_argument("--samples", type=int, default=2, help="ICs of each type per regime")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    grids = [int(g) for g in args.grids.split(",")]
    args.times = [float(t) for t in args.times.split(",")]
    for g in grids[:-1]:
        if grids[-1] % g:
            parser.error(f"grid {g} does not divide the reference grid {grids[-1]}")

    rows = [(r, kind) for r in REGIMES for kind in IC_NAMES for _ in range(args.samples)]
    indices = list(range(len(rows)))
    kinds = [kind for _, kind in rows]
    theta = {
        "F": np.array([REGIMES[r][0] for r, _ in rows]),
        "k": np.array([REGIMES[r][1] for r, _ in rows]),
    }
    start = time.perf_counter()
    states, seconds = {}, {}
    for g in grids:
        t0 = time.perf_counter()
        states[g] = run(g, args, theta, indices, kinds)
        seconds[g] = time.perf_counter() - t0
    ref = states[grids[-1]]
    for g in grids[:-1]:  # the interpolant must pass through the coarse points
        back = upsample(states[g], grids[-1])[..., :: grids[-1] // g, :: grids[-1] // g]
        assert torch.allclose(back, states[g], atol=1e-10), "spectral upsampling is not interpolating"

    def rel(a, b):
        return ((a - b).flatten(2).norm(dim=2) / b.flatten(2).norm(dim=2)).numpy()  # [B, T]

    trajectories = []
    for g in grids[:-1]:
        s = grids[-1] // g
        spectral = rel(upsample(states[g], grids[-1]), ref)
        points = rel(states[g], ref[..., ::s, ::s])
        for b, (regime, kind) in enumerate(rows):
            trajectories.append(
                {
                    "grid": g,
                    "regime": regime,
                    "F": REGIMES[regime][0],
                    "k": REGIMES[regime][1],
                    "ic": kind,
                    "index": indices[b],
                    "rel_l2_spectral": dict(zip(map(str, args.times), spectral[b].tolist(), strict=True)),
                    "rel_l2_points": dict(zip(map(str, args.times), points[b].tolist(), strict=True)),
                }
            )
    summary = {}
    for g in grids[:-1]:
        for t in map(str, args.times):
            for how in ("spectral", "points"):
                vals = [r[f"rel_l2_{how}"][t] for r in trajectories if r["grid"] == g]
                per_regime = {
                    regime: [
                        min(
                            r[f"rel_l2_{how}"][t]
                            for r in trajectories
                            if r["grid"] == g and r["regime"] == regime
                        ),
                        max(
                            r[f"rel_l2_{how}"][t]
                            for r in trajectories
                            if r["grid"] == g and r["regime"] == regime
                        ),
                    ]
                    for regime in REGIMES
                }
                summary[f"{g}/t={t}/{how}"] = {"min": min(vals), "max": max(vals), "per_regime": per_regime}
    result = {
        "what": "gray_scott grid error vs the finest grid, same ICs evaluated on each grid",
        "device": platform.processor() or "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "dtype": "float64",
        "dt": 1.0,
        "stored_dt": GrayScottOperator().stored_dt,
        "reference_grid": grids[-1],
        "regimes": REGIMES,
        "ic_types": list(IC_NAMES),
        "samples_per_ic_type": args.samples,
        "seed": args.seed,
        "times": args.times,
        "error": "||coarse - fine|| / ||fine|| over (A, B) per trajectory; spectral: coarse state's "
        "Fourier interpolant on the fine grid; points: fine state at the coarse points",
        "seconds_per_grid": {str(g): s for g, s in seconds.items()},
        "seconds_total": time.perf_counter() - start,
        "summary": summary,
        "trajectories": trajectories,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for key, v in summary.items():
        regimes = ", ".join(f"{r} {lo:.3f}-{hi:.3f}" for r, (lo, hi) in v["per_regime"].items())
        print(f"{key:28s} {v['min']:.3f}-{v['max']:.3f}  ({regimes})")
    print(f"{result['seconds_total']:.1f} s; wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
