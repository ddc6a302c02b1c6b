"""The u_afno presets by size and cost: parameters, FLOPs per sample-step, a rough CPU speed.

Per preset (and, for comparison, the presets as they were until 2026-12-04):

* parameters: total, and receiving a non-zero gradient after one backward pass on a batch of 3
  (every categorical choice, both booleans) at 64x64 and at 128x128 (``parameter_report``;
  real scalars); the share held by the AFNO blocks at the coarsest grid;
* FLOP per sample-step forward (batch 1) at 32x32, 64x64 and 128x128: matmuls and convolutions
  from ``torch.utils.flop_counter.FlopCounterMode`` (the model built under ``FakeTensorMode``,
  nothing allocated), plus the AFNO FFTs, which the counter skips, added analytically: each
  ``rfft2``/``irfft2`` of a real ``h x w`` field counts as one complex transform of
  ``N = h w / 2`` points at ``5 N log2 N``, per channel (``spinlock_u_afno.model.forward_flops``);
* CPU forward + backward samples/s at 64x64 (``--speed-presets``, default small and base, new and
  old), fp32, ``--threads`` threads: a rough CPU figure only, not a GPU number.

The θ space is the docs' test space (continuous-log, integer, 3-way categorical, boolean), one
channel, ``history=1``.

    python benchmarks/mno_presets.py --out benchmarks/results/2026-12-05-cpu-mno-presets.json
    python benchmarks/mno_presets.py --no-grad --no-speed     # FLOPs and sizes only (seconds)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import attrs
import torch

from spinlock_core.params import (
    BooleanParam,
    CategoricalParam,
    ContinuousParam,
    IntegerParam,
    ParameterSpace,
)
from spinlock_u_afno import UAFNOConfig, build_u_afno, parameter_report, preset
from spinlock_u_afno.model import forward_flops, real_numel

GRIDS = (32, 64, 128)
GRAD_GRIDS = (64, 128)

#: the presets until 2026-12-04 (0.29M / 17.1M / 188.1M), for comparison
PREVIOUS = {
    "small (until 2026-12-04)": UAFNOConfig(
        width=16, levels=2, afno_blocks=2, num_afno_blocks=4, cond_dim=64, theta_hidden=64
    ),
    "base (until 2026-12-04)": UAFNOConfig(width=64, levels=3, afno_blocks=4, num_afno_blocks=8),
    "large (until 2026-12-04)": UAFNOConfig(
        width=160, levels=3, afno_blocks=8, num_afno_blocks=16, mlp_ratio=4, cond_dim=256, theta_hidden=256
    ),
}


def theta_space() -> ParameterSpace:
    return ParameterSpace(
        [
            ContinuousParam(name="diffusion", low=1e-3, high=1e-1, log=True),
            IntegerParam(name="order", low=1, high=4),
            CategoricalParam(name="kernel", choices=("gauss", "box", "ring")),
            BooleanParam(name="forced"),
        ]
    )


def theta_batch(n: int) -> dict[str, torch.Tensor]:
    """``n`` decoded θ cycling through every categorical choice and both booleans."""
    i = torch.arange(n)
    return {
        "diffusion": torch.logspace(-3, -1, n, dtype=torch.float64),
        "order": 1 + i % 4,
        "kernel": i % 3,
        "forced": i % 2 == 0,
    }


def coarse_share(config: UAFNOConfig, space: ParameterSpace) -> float:
    """Fraction of the parameters in the AFNO blocks (the coarsest grid, ``H / 2**levels``)."""
    model = build_u_afno(config, space, device="meta")
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.bottleneck.parameters()) / total


def grad_counts(config: UAFNOConfig, space: ParameterSpace, grid: int) -> dict:
    torch.manual_seed(0)
    model = build_u_afno(config, space)
    report = parameter_report(model, (torch.randn(3, 1, grid, grid), theta_batch(3), None))
    return {"effective": report.effective, "dead_tensors": list(report.dead)}


def cpu_speed(config: UAFNOConfig, space: ParameterSpace, grid: int, batch: int, repeats: int) -> dict:
    """Forward + backward (mean-square loss) samples/s; the best of ``repeats`` after one warm-up."""
    torch.manual_seed(0)
    model = build_u_afno(config, space)
    x, theta = torch.randn(batch, 1, grid, grid), theta_batch(batch)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        model(x, theta, None).square().mean().backward()
        times.append(time.perf_counter() - t0)
    timed = times[1:]
    return {
        "grid": grid,
        "batch": batch,
        "samples_per_s_best": batch / min(timed),
        "samples_per_s_median": batch / statistics.median(timed),
    }


def measure(name: str, config: UAFNOConfig, space: ParameterSpace, args) -> dict:
    model = build_u_afno(config, space, device="meta")
    total = sum(real_numel(p) for p in model.parameters())
    row: dict = {
        "preset": name,
        "config": attrs.asdict(config),
        "parameters": total,
        "coarse_share": coarse_share(config, space),
        "bottleneck_grid_at_64": 64 // config.downsample_factor,
        "flops": {},
    }
    for grid in GRIDS:
        f = forward_flops(config, space, grid)
        row["flops"][str(grid)] = {"counted": f.counted, "fft": f.fft, "total": f.total}
    if args.grad:
        row["effective"] = {str(g): grad_counts(config, space, g) for g in GRAD_GRIDS}
    if args.speed and name.split(" (")[0] in args.speed_presets:
        row["cpu_fwd_bwd"] = cpu_speed(config, space, 64, args.batch, args.repeats)
    return row


def fmt_row(r: dict) -> str:
    eff = r.get("effective", {})
    grads = " / ".join(f"{eff[g]['effective']:,}" for g in map(str, GRAD_GRIDS) if g in eff) or "-"
    f = r["flops"]
    speed = r.get("cpu_fwd_bwd", {}).get("samples_per_s_best")
    return (
        f"| {r['preset']} | {r['parameters']:,} | {grads} | {r['coarse_share']:.0%} | "
        f"{f['32']['total']:.2e} | {f['64']['total']:.2e} | {f['128']['total']:.2e} | "
        f"{f['64']['fft']:.1e} | {f'{speed:.1f}' if speed else '-'} |"
    )


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="write the rows as JSON here")
    p.add_argument("--presets", nargs="+", default=["small", "base", "large"])
    p.add_argument("--no-previous", dest="previous", action="store_false", help="skip the old presets")
    p.add_argument("--no-grad", dest="grad", action="store_false", help="skip the gradient counts")
    p.add_argument("--no-speed", dest="speed", action="store_false", help="skip the CPU timing")
    p.add_argument(
        "--speed-presets", nargs="+", default=["small", "base"], help="time these (and their old versions)"
    )
    p.add_argument("--batch", type=int, default=8, help="batch of the CPU timing")
    p.add_argument("--repeats", type=int, default=3, help="timed forward+backward passes")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    space = theta_space()
    configs = {name: preset(name) for name in args.presets}
    if args.previous:
        configs.update(PREVIOUS)
    rows = []
    print(
        "| preset | parameters | with gradient at 64² / 128² | in the AFNO blocks | "
        "FLOP/sample-step 32² | 64² | 128² | of which FFT at 64² | CPU fwd+bwd samples/s at 64² |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, config in configs.items():
        row = measure(name, config, space, args)
        rows.append(row)
        print(fmt_row(row), flush=True)
    if args.out:
        doc = {
            "benchmark": "mno_presets",
            "date": date.today().isoformat(),
            "device": "cpu",
            "cpu": platform.processor() or platform.machine(),
            "threads": args.threads,
            "torch": torch.__version__,
            "theta_space": [type(q).__name__ for q in space.params],
            "flop_convention": (
                "forward, batch 1; FlopCounterMode (matmul, conv, linear; multiply-add = 2) plus "
                "FFT analytic: each rfft2/irfft2 of a real h x w field = one complex transform of "
                "N = h*w/2 points at 5 N log2 N, per channel"
            ),
            "effective": "parameters with a non-zero gradient after one backward pass, batch 3",
            "speed_note": "CPU fp32 forward+backward, a rough figure; GPU samples/s not measured",
            "rows": rows,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
