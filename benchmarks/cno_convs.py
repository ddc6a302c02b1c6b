"""Time every convolution of one CNO step, by shape: where a production step spends its time.

The batches of the first generate chunk (as ``generate.py`` cuts them) are built per variant; each
runs ``--steps`` eager steps (timed as a whole), then one step in which every ``F.conv2d`` call
is timed alone (CUDA events on a GPU, a synchronised wall clock on a CPU). Calls are grouped by
(input shape, weight shape, groups, padding, memory format); each group gets its calls, ms per
step and achieved TFLOP/s. Written to ``--out/cno_convs.json``; the top rows are printed.

GPU: ``python benchmarks/cno_convs.py --out OUT`` (production scale, bf16, 64 of a chunk of 256,
about a minute on an H200). CPU smoke test: ``--scale small --batch 8 --chunk 16 --steps 1``.

``--sweep`` times single convolutions of the shapes that dominate a production step (or
``--sweep-shapes``) under each way of running them: cuDNN deterministic heuristic (what the
generate stage asks for), cuDNN's heuristic without the deterministic flag, cuDNN autotuning (the
best cuDNN has, as a reference), the output-channel split, the input-channel split (two partial
sums added), ``channels_last``, im2col + batched matmul (``operator.gemm_cout``) and one dense
conv per group (a Python loop, for reference only). Each mode also states whether ``--reps`` repeats of the same
call are bitwise equal, and its max abs difference from the deterministic heuristic.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F
from generate import _chunk, _subset  # benchmarks/ is on sys.path as the script's folder

#: name -> config overrides (every variant steps eagerly: a CUDA graph hides the calls).
VARIANTS = {
    "default": ["operator.cuda_graph=off"],
    "channels_last": ["operator.cuda_graph=off", "operator.channels_last=true"],
    "split": ["operator.cuda_graph=off", "operator.split_cout=128"],
    "heuristic": ["operator.cuda_graph=off", "generate.deterministic=false"],
    "gemm": ["operator.cuda_graph=off", "operator.gemm_cout=128"],  # its matmuls are not conv calls
}


#: (batch*realizations, C_in total, side incl. padding, C_out per group, kernel, groups)
SWEEP_SHAPES = [
    (5, 2048, 70, 256, 7, 8),
    (5, 1536, 70, 256, 7, 6),
    (5, 1024, 70, 256, 7, 8),
    (5, 1920, 70, 192, 7, 10),
    (5, 1024, 70, 128, 7, 8),
]


class ConvTimer:
    """Replaces ``F.conv2d`` while active and records each call's shape and duration."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.calls: list[tuple[str, float, float]] = []
        self._pending: list = []

    def __enter__(self):
        self._real = F.conv2d
        F.conv2d = self._timed
        return self

    def __exit__(self, *exc):
        F.conv2d = self._real
        if self.cuda:
            torch.cuda.synchronize()
        for key, flop, start, end in self._pending:
            ms = start.elapsed_time(end) if self.cuda else (end - start) * 1e3
            self.calls.append((key, ms, flop))

    def _clock(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def _timed(self, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        start = self._clock()
        y = self._real(x, w, b, stride, padding, dilation, groups)
        end = self._clock()
        nhwc = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        key = f"x{list(x.shape)} w{list(w.shape)} g{groups} p{padding}{' nhwc' if nhwc else ''}"
        flop = 2.0 * y.numel() * w.shape[1] * w.shape[2] * w.shape[3]
        self._pending.append((key, flop, start, end))
        return y


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def profile_variant(args, device, overrides: list[str]) -> dict:
    """Whole-step times and the per-shape convolution table of one variant."""
    setup, batches = _chunk(args, args.batch, args.chunk, device, overrides)
    seed = setup.config.core.seed
    shapes = defaultdict(lambda: [0, 0.0, 0.0])
    step_ms = []
    with torch.no_grad():
        for rows in batches:
            theta = _subset(setup.theta, rows)
            stepper = setup.operator.build(theta, rows, seed, setup.grid, device, setup.dtype)
            _, u0 = setup.ics.sample(seed, rows, 3, setup.grid, device, torch.float32, theta=theta)
            u = u0.unsqueeze(1).expand(-1, setup.realizations, -1, -1, -1).contiguous()
            u = stepper.step(u, 0)  # warm-up (cuDNN plans)
            _sync(device)
            start = time.perf_counter()
            for t in range(1, 1 + args.steps):
                u = stepper.step(u, t)
            _sync(device)
            step_ms.append((time.perf_counter() - start) / args.steps * 1e3)
            with ConvTimer(device) as timer:
                stepper.step(u, args.steps + 1)
            for key, ms, flop in timer.calls:
                row = shapes[key]
                row[0] += 1
                row[1] += ms
                row[2] += flop
    table = sorted(
        (
            {"conv": k, "calls": n, "ms": round(ms, 3), "tflops": round(flop / ms / 1e9, 1)}
            for k, (n, ms, flop) in shapes.items()
        ),
        key=lambda r: -r["ms"],
    )
    return {
        "overrides": overrides,
        "eager_step_ms_per_batch": [round(s, 2) for s in step_ms],
        "eager_step_ms": round(sum(step_ms), 2),
        "conv_ms": round(sum(r["ms"] for r in table), 2),
        "convs": table,
    }


def _cudnn_mode(mode: str) -> None:
    b = torch.backends.cudnn
    b.deterministic, b.benchmark = {"deterministic": (True, False), "heuristic": (False, False)}.get(
        mode, (False, True)
    )


def _split_in(x, w, groups):
    """The grouped conv as two convs over halves of each group's input channels, summed."""
    n, cin, h, wd = x.shape
    g_in = cin // groups
    half = g_in // 2
    xv = x.view(n, groups, g_in, h, wd)
    wv = w.view(groups, -1, g_in, *w.shape[2:])
    parts = [
        F.conv2d(
            xv[:, :, sl].reshape(n, groups * (sl.stop - sl.start), h, wd),
            wv[:, :, sl].reshape(-1, sl.stop - sl.start, *w.shape[2:]),
            groups=groups,
        )
        for sl in (slice(0, half), slice(half, g_in))
    ]
    return parts[0] + parts[1]


def _dense_loop(x, w, groups):
    """The grouped conv as one dense conv per group (what cuDNN does with ungrouped shapes)."""
    xs, ws = x.chunk(groups, 1), w.chunk(groups, 0)
    return torch.cat([F.conv2d(a, b) for a, b in zip(xs, ws, strict=True)], 1)


def _modes(x, w, groups, grouped_conv) -> dict:
    """name -> (cuDNN mode, call) for one shape; each call computes the same convolution."""
    split = grouped_conv(w, None, groups, split_cout=128)
    gemm = grouped_conv(w, None, groups, gemm_cout=128)
    xl, wl = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    return {
        "deterministic": ("deterministic", lambda: F.conv2d(x, w, groups=groups)),
        "heuristic": ("heuristic", lambda: F.conv2d(x, w, groups=groups)),
        "autotune": ("autotune", lambda: F.conv2d(x, w, groups=groups)),
        "split_cout_128": ("deterministic", lambda: split(x)),
        "split_cin_half": ("deterministic", lambda: _split_in(x, w, groups)),
        "channels_last": ("deterministic", lambda: F.conv2d(xl, wl, groups=groups)),
        "gemm_im2col": ("deterministic", lambda: gemm(x)),
        "dense_loop": ("deterministic", lambda: _dense_loop(x, w, groups)),
    }


def sweep(shapes, device, dtype, reps: int) -> list[dict]:
    """Per shape and mode: ms per call, TFLOP/s, bitwise repeatability, difference from default."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "domains" / "reaction_diffusion"))
    from spinlock_reaction_diffusion._cno_conv import GroupedConv

    rows = []
    gen = torch.Generator(device=device).manual_seed(0)
    for n, cin, side, cout_g, k, groups in shapes:
        x = torch.randn(n, cin, side, side, device=device, generator=gen).to(dtype)
        w = (torch.randn(groups * cout_g, cin // groups, k, k, device=device, generator=gen) * 0.02).to(dtype)
        flop = 2.0 * n * groups * cout_g * (side - k + 1) ** 2 * (cin // groups) * k * k
        modes = _modes(x, w, groups, GroupedConv)
        ref = None
        for name, (mode, fn) in modes.items():
            _cudnn_mode(mode)
            with torch.no_grad():
                first = fn()
                for _ in range(2):
                    fn()
                _sync(device)
                t0 = time.perf_counter()
                same = True
                for _ in range(reps):
                    same &= bool(torch.equal(fn(), first))
                _sync(device)
            ms = (time.perf_counter() - t0) / reps * 1e3
            ref = first if ref is None else ref
            rows.append(
                {
                    "shape": f"x[{n}, {cin}, {side}, {side}] w[{groups * cout_g}, {cin // groups}, {k}, {k}] g{groups}",
                    "mode": name,
                    "ms": round(ms, 3),
                    "tflops": round(flop / ms / 1e9, 1),
                    "repeatable": same,
                    "max_abs_diff_vs_deterministic": float((first.float() - ref.float()).abs().max()),
                }
            )
            print(
                f"  {rows[-1]['shape']:48s} {name:15s} {ms:8.3f} ms {rows[-1]['tflops']:7.1f} TFLOP/s"
                f" repeatable={same} diff={rows[-1]['max_abs_diff_vs_deterministic']:.3g}",
                flush=True,
            )
    _cudnn_mode("deterministic")
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--scale", default="production")
    ap.add_argument("--n-samples", type=int, default=4096)
    ap.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float32"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3, help="eager steps timed as a whole per batch")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--top", type=int, default=12, help="rows printed per variant")
    ap.add_argument("--sweep", action="store_true", help="also time single convolutions by mode")
    ap.add_argument(
        "--sweep-shapes",
        nargs="+",
        default=None,
        metavar="N,CIN,SIDE,COUT_PER_GROUP,K,GROUPS",
        help="shapes for --sweep (default: the production step's heaviest)",
    )
    ap.add_argument("--reps", type=int, default=10, help="timed calls per shape and mode in --sweep")
    args = ap.parse_args(argv)
    args.dtype_now = args.dtype  # what generate._chunk reads
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True  # as the generate stage runs
    result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu"}
    result.update(torch=torch.__version__, scale=args.scale, dtype=args.dtype, batch=args.batch)
    result.update(chunk=args.chunk, variants={})
    if args.sweep:
        shapes = (
            [tuple(int(v) for v in s.split(",")) for s in args.sweep_shapes]
            if args.sweep_shapes
            else SWEEP_SHAPES
        )
        result["sweep"] = sweep(shapes, device, getattr(torch, args.dtype), args.reps)
    for name in args.variants:
        if device.type == "cuda":
            _cudnn_mode("heuristic" if "generate.deterministic=false" in VARIANTS[name] else "deterministic")
        report = profile_variant(args, device, VARIANTS[name])
        result["variants"][name] = report
        print(
            f"{name}: eager step {report['eager_step_ms']} ms, convolutions {report['conv_ms']} ms",
            flush=True,
        )
        for row in report["convs"][: args.top]:
            print(f"  {row['ms']:9.3f} ms  {row['tflops']:7.1f} TFLOP/s  x{row['calls']:<3d} {row['conv']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cno_convs.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
