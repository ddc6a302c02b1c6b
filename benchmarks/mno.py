"""Benchmark MNO training: throughput, achieved TFLOP/s and MFU, peak memory, parameter counts.

One *sample* is one trajectory of ``--steps`` steps trained by one optimizer step: the backbone
is rolled out on its own predictions over the whole horizon with truncated BPTT, then AdamW
(with clipping) steps. The step is the ``mno`` stage's own, :func:`spinlock_core.mno.loop.train_step`
with the stage's default losses, precision (``mno.precision``: autocast around the rollout) and
``torch.compile`` of the backbone (``mno.compile``), so what is timed is what
``spinlock run stage=mno`` runs. Random data (throughput does not depend on values). Variants:

* ``windowed``: every window of ``--window`` steps supervised, the state detached between
  windows (the ``mno`` stage's default), for the u_afno presets at each resolution, in bf16
  autocast or fp32, eager or ``torch.compile``;
* ``prototype``: the prototype's training pattern, the same-run baseline: batch 4,
  ``steps - window`` steps without gradient then one ``window``-step window with gradient,
  fp32 eager (the prototype also checkpointed every step, which only adds work);
* ``fno``: neuraloperator's FNO (``backbone=fno``) widened to the u_afno preset's parameter
  count, if neuraloperator imports.

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` on one window with gradient
(forward + backward) and one step without, scaled to the horizon (each step of a rollout costs
the same); FFTs and elementwise ops are not counted, so TFLOP/s is a lower bound. MFU is against
989 TFLOP/s (H100 SXM dense bf16 spec); ``pct_of_784`` against the 784 TFLOP/s measured for an
8192^3 bf16 matmul on the same GPU (docs/benchmarks.md). Parameter counts are real scalars
(a complex weight counts 2); ``effective`` counts those with a non-zero gradient after one
backward pass at that resolution.

Each variant runs in its own try/except (an OOM halves the batch and retries), times steps for
``--seconds-per-variant`` after warm-up, and prints one JSON line; all lines go to
``OUT/mno.jsonl``, a table to ``OUT/summary.md`` and a chart to ``OUT/throughput.png``.

    python benchmarks/mno.py --quick --out OUT                # ~5 min on an H100
    python benchmarks/mno.py --out OUT --presets large --resolutions 128
    python benchmarks/mno.py --tiny --out OUT                 # CPU smoke test (~1 min)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import time
import traceback
from pathlib import Path

import attrs
import numpy as np
import torch

from spinlock_core.mno.loop import autocast_for

H100_BF16_DENSE = 989.0  # TFLOP/s, spec sheet (SXM, dense)
H100_BF16_MEASURED = 784.0  # TFLOP/s, 8192^3 bf16 matmul measured on the project's H100

RESULTS: list[dict] = []
SINK: list[Path] = []  # OUT/mno.jsonl, appended row by row so a killed run keeps what it measured


@attrs.frozen(kw_only=True)
class Variant:
    """One measured configuration."""

    label: str
    backbone: str = "u_afno"  # u_afno | fno
    preset: str = "small"
    resolution: int = 64
    batch: int = 8
    steps: int = 256
    window: int = 32
    mode: str = "windowed"  # windowed | last
    precision: str = "bf16"  # bf16 | fp32
    compile: bool = False
    role: str = "measured"  # measured | baseline


def emit(row: dict) -> dict:
    RESULTS.append(row)
    line = json.dumps(row)
    print(line, flush=True)
    for path in SINK:
        with path.open("a") as f:
            f.write(line + "\n")
    return row


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------------------------- setup


def parameter_space():
    """The CNO family's θ space (what the MNO is conditioned on); a small stand-in if unavailable."""
    try:
        from spinlock_core import registry
        from spinlock_core.config import compose

        config = compose(["domain=reaction_diffusion", "stage=generate"])
        op = registry.load("operators", config.get("operator.name")).create(config.sections.get("operator"))
        return op.parameter_space
    except Exception:
        from spinlock_core.params import CategoricalParam, ContinuousParam, ParameterSpace

        return ParameterSpace(
            [
                ContinuousParam(name="a", low=1e-3, high=1.0, log=True),
                ContinuousParam(name="b", low=-1.0, high=1.0),
                CategoricalParam(name="c", choices=("x", "y", "z")),
            ]
        )


def theta_batch(space, n: int, device, seed: int = 0) -> dict:
    """``n`` decoded θ as float64 tensors; categorical columns cycle through every choice
    (so every embedding row is used when counting effective parameters)."""
    from spinlock_core.sampling import sample_space

    n_pow2 = 1 << max(0, (n - 1).bit_length())
    _, theta = sample_space(space, n_pow2, seed)
    theta = {k: v[:n] for k, v in theta.items()}
    for p in space.params:
        if p.kind == "categorical":
            theta[p.name] = np.arange(n) % len(p.choices)
    return {k: torch.as_tensor(np.asarray(v, dtype=np.float64), device=device) for k, v in theta.items()}


def build(backbone: str, preset: str, space, device, hidden: int | None = None):
    """``(model, config)`` through the plugin factories (``hidden`` overrides the FNO width)."""
    from spinlock_u_afno.backbone import build_backbone, build_fno
    from spinlock_u_afno.specs import FNOOptions, UAFNOOptions

    if backbone == "u_afno":
        return build_backbone(
            UAFNOOptions(preset=preset), channels=1, history=1, parameter_space=space, device=device
        )
    overrides = {"hidden_channels": hidden} if hidden else {}
    return build_fno(
        FNOOptions(preset=preset, overrides=overrides),
        channels=1,
        history=1,
        parameter_space=space,
        device=device,
    )


def real_parameters(model) -> int:
    from spinlock_u_afno.model import real_numel

    return sum(real_numel(p) for p in model.parameters() if p.requires_grad)


def matched_fno_width(preset: str, target: int, space) -> int:
    """The FNO width (the preset's ``n_modes`` and depth) whose real parameter count is closest to ``target``."""

    def count(width: int) -> int:
        with torch.device("meta"):
            return real_parameters(build("fno", preset, space, None, width)[0])

    lo, hi = 4, 4096
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if count(mid) <= target else (lo, mid)
    return lo if abs(count(lo) - target) <= abs(count(hi) - target) else hi


class Step(torch.nn.Module):
    """The backbone's one step under bf16 autocast (or not), returning fp32 states.

    Autocast lives inside ``forward`` so ``torch.compile`` captures it and backward runs outside it.
    """

    def __init__(self, model, precision: str, device):
        super().__init__()
        self.model, self.bf16, self.device_type = model, precision == "bf16", device.type

    def forward(self, state, theta, noise):
        with torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.bf16):
            return self.model(state, theta, noise).float()


def _mse(pred, target, _window):
    return (pred - target).square().mean()


def stage_losses(model, steps: int, device) -> dict:
    """The ``mno`` stage's default losses (``mno.loss.traj=1``, default options), built as the
    stage builds them (:func:`spinlock_core.mno.train.build_losses`)."""
    import types

    from spinlock_core.interfaces import LossSetup
    from spinlock_core.mno.train import build_losses
    from spinlock_core.stages.config import MNOConfig

    setup = LossSetup(
        run_dir=None, dataset=None, domain=None, model=model, device=device, horizon=steps, normaliser={}
    )
    return build_losses(types.SimpleNamespace(sections={}), MNOConfig(), setup)


def train_step(
    step_fn, params, optimizer, u0, theta, targets, window: int, mode: str, autocast=None, losses=None
) -> float:
    """One optimizer step over the horizon, exactly as the ``mno`` stage runs it
    (:func:`spinlock_core.mno.loop.train_step`: TBPTT windows, clipping to 1, AdamW)."""
    from spinlock_core.mno.loop import train_step as stage_step

    if losses is None:
        losses = stage_losses(step_fn, targets.shape[1], u0.device)
    result = stage_step(
        step_fn,
        u0,
        targets,
        theta,
        losses,
        window=window,
        mode=mode,
        optimizer=optimizer,
        params=params,
        grad_clip=1.0,
        autocast=autocast,
    )
    return result.loss


def step_flops(step_fn, u0, theta, targets, window: int, mode: str) -> int:
    """FLOPs of one training step (forward + backward of the rollout), from one window with
    gradient of each length that occurs and one step without, scaled to the horizon (steps of a
    rollout cost the same; a window's first step costs less, as its input needs no gradient)."""
    from torch.utils.flop_counter import FlopCounterMode

    from spinlock_core.mno.loop import tbptt_windows

    def grad_window(length: int) -> int:
        with FlopCounterMode(display=False) as counter:
            state, preds = u0, []
            for _ in range(length):
                state = step_fn(state, theta, None)
                preds.append(state)
            _mse(torch.stack(preds, 1), targets[:, :length], None).backward()
        for p in step_fn.parameters():
            p.grad = None
        return counter.get_total_flops()

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        step_fn(u0, theta, None)
    nograd_step = counter.get_total_flops()
    lengths = [stop - start for start, stop in tbptt_windows(targets.shape[1], window)]
    if mode == "last":
        return nograd_step * (targets.shape[1] - lengths[-1]) + grad_window(lengths[-1])
    per_length = {n: grad_window(n) for n in set(lengths)}
    return sum(per_length[n] for n in lengths)


def effective_parameters(model, resolution: int, space, device) -> dict:
    from spinlock_u_afno.model import parameter_report

    theta = theta_batch(space, 8, device, seed=1)
    state = torch.randn(8, 1, resolution, resolution, device=device)
    report = parameter_report(model, (state, theta, None))
    return {"params_total": report.total, "params_effective": report.effective}


# ----------------------------------------------------------------------------------- measuring


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _free(device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def measure(v: Variant, args, space, device, flop_cache: dict, fno_width: dict) -> dict:
    """Build, warm up, time and count one variant; returns its figures."""
    torch.manual_seed(0)
    hidden = fno_width.get(v.preset) if v.backbone == "fno" else None
    model, config = build(v.backbone, v.preset, space, device, hidden)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, fused=device.type == "cuda")
    eager = Step(model, "fp32", device)  # for counting FLOPs (autocast does not change them)
    step_fn = torch.compile(model) if v.compile else model  # as the stage: mno.compile
    autocast = autocast_for(v.precision, device)  # as the stage: mno.precision
    losses = stage_losses(model, v.steps, device)
    r = v.resolution
    gen = torch.Generator(device="cpu").manual_seed(0)
    u0 = torch.randn(v.batch, 1, r, r, generator=gen).to(device)
    targets = torch.randn(v.batch, v.steps, 1, r, r, generator=gen).to(device)
    theta = theta_batch(space, v.batch, device)

    _sync(device)
    start = time.perf_counter()
    for _ in range(2 if v.compile else 1):  # compile (and the no-grad graph of `last`) or warm-up
        train_step(step_fn, params, optimizer, u0, theta, targets, v.window, v.mode, autocast, losses)
    _sync(device)
    warmup_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times: list[float] = []
    deadline = time.perf_counter() + args.seconds_per_variant
    while len(times) < 2 or (time.perf_counter() < deadline and len(times) < args.max_steps):
        _sync(device)
        t0 = time.perf_counter()
        loss = train_step(step_fn, params, optimizer, u0, theta, targets, v.window, v.mode, autocast, losses)
        _sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None

    key = (v.backbone, v.preset, hidden, r, v.batch, v.steps, v.window, v.mode)
    if key not in flop_cache:
        flop_cache[key] = step_flops(eager, u0, theta, targets, v.window, v.mode)
    flops = flop_cache[key]
    step_s = statistics.median(times)
    tflops = flops / step_s / 1e12
    supervised = v.steps if v.mode == "windowed" else min(v.window, v.steps)
    figures = {
        "samples_per_s": v.batch / step_s,
        "supervised_steps_per_s": v.batch * supervised / step_s,
        "step_s": step_s,
        "step_s_min": min(times),
        "timed_steps": len(times),
        "warmup_s": warmup_s,
        "flops_per_step": flops,
        "tflops": tflops,
        "mfu": tflops / H100_BF16_DENSE,
        "pct_of_784": 100 * tflops / H100_BF16_MEASURED,
        "peak_mem_gb": peak,
        "params": real_parameters(model),
        "final_loss": loss,
    }
    if v.backbone == "fno":
        figures["fno_config"] = attrs.asdict(config)
    del model, optimizer, step_fn, eager, params, losses
    return figures


def run_variant(v: Variant, args, space, device, flop_cache, fno_width) -> dict:
    """``measure`` in a try/except; an OOM halves the batch (down to 1) and retries."""
    base = {"benchmark": "mno_train", **attrs.asdict(v), "device": args.device_name}
    batch = v.batch
    while True:
        try:
            figures = measure(attrs.evolve(v, batch=batch), args, space, device, flop_cache, fno_width)
            return emit({**base, "batch": batch, "status": "ok", **figures})
        except Exception as exc:  # one failing variant must not lose the others
            oom = _is_oom(exc)
            _free(device)
            if oom and batch > 1:
                batch //= 2
                continue
            return emit(
                {
                    **base,
                    "batch": batch,
                    "status": "oom" if oom else "error",
                    "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:400],
                    "traceback": traceback.format_exc(limit=4)[-1500:],
                }
            )
        finally:
            _free(device)


# ----------------------------------------------------------------------------------- plan


def plan(args) -> list[Variant]:
    """The variants to run, baseline first; ``--quick`` keeps the headline comparisons only."""
    batch = dict(args.batch)
    big = args.presets[-1]  # the largest requested preset carries the headline comparisons
    res0 = args.resolutions[0]
    proto = Variant(
        label=f"prototype pattern ({big}@{res0}, b4, no-grad {args.steps - args.window} + 1 window, fp32 eager)",
        preset=big,
        resolution=res0,
        batch=4,
        steps=args.steps,
        window=args.window,
        mode="last",
        precision="fp32",
        compile=False,
        role="baseline",
    )
    out = [proto]

    def windowed(preset, res, precision, compile_, backbone="u_afno"):
        what = f"{backbone}:{preset}" if backbone == "fno" else preset
        return Variant(
            label=f"{what}@{res} windowed {precision}{' compiled' if compile_ else ''}",
            backbone=backbone,
            preset=preset,
            resolution=res,
            batch=batch.get(res, 4),
            steps=args.steps,
            window=args.window,
            precision=precision,
            compile=compile_,
        )

    compile_options = [True, False] if args.compile == "both" else [args.compile == "on"]
    if args.quick:  # most important first: whatever the --budget cuts is recorded as skipped
        out.append(windowed(big, res0, "bf16", compile_options[0]))
        if len(compile_options) > 1:
            out.append(windowed(big, res0, "bf16", False))
        out.append(windowed(big, res0, "fp32", False))
        if args.fno:
            out.append(windowed(big, res0, "bf16", False, backbone="fno"))
            out.append(windowed(big, res0, "fp32", False, backbone="fno"))
        out += [windowed(p, res0, "bf16", False) for p in args.presets[:-1]]
        out += [windowed(big, r, "bf16", compile_options[0]) for r in args.resolutions[1:]]
        return out
    for preset in args.presets:
        for res in args.resolutions:
            for precision in args.precisions:
                for compile_ in compile_options:
                    out.append(windowed(preset, res, precision, compile_))
    if args.fno:
        for preset in args.presets:
            for precision in args.precisions:
                out.append(windowed(preset, res0, precision, False, backbone="fno"))
    return out


# ----------------------------------------------------------------------------------- report


def _fmt(x, spec=".3g"):
    return "—" if x is None else format(x, spec)


def write_summary(out: Path, rows: list[dict]) -> None:
    train = [r for r in rows if r.get("benchmark") == "mno_train"]
    base = next((r for r in train if r["role"] == "baseline" and r["status"] == "ok"), None)
    lines = [
        f"# MNO training benchmark ({rows[0]['device'] if rows else '?'})",
        "",
        "One sample = one trajectory of the horizon trained by one optimizer step. TFLOP/s counts "
        "matmuls and convolutions only (FlopCounterMode); MFU vs 989 TFLOP/s (H100 dense bf16 spec), "
        "% of 784 vs the measured bf16 matmul ceiling.",
        "",
        "| variant | batch | samples/s | x baseline | supervised steps/s | TFLOP/s | MFU | % of 784 | peak GB | params | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in train:
        ok = r["status"] == "ok"
        ratio = r["samples_per_s"] / base["samples_per_s"] if ok and base else None
        lines.append(
            f"| {r['label']} | {r['batch']} | {_fmt(r.get('samples_per_s'))} | {_fmt(ratio)} | "
            f"{_fmt(r.get('supervised_steps_per_s'))} | {_fmt(r.get('tflops'))} | "
            f"{_fmt(r['mfu'] * 100 if ok else None, '.1f')}% | {_fmt(r.get('pct_of_784'), '.1f')} | "
            f"{_fmt(r.get('peak_mem_gb'))} | {_fmt(r.get('params'), ',')} | "
            f"{r['status'] if ok else r['status'] + ': ' + r.get('error', '')[:80]} |"
        )
    counts = [r for r in rows if r.get("benchmark") == "mno_params"]
    if counts:
        lines += [
            "",
            "## Parameters (real scalars; effective = non-zero gradient at that resolution)",
            "",
            "| backbone | preset | resolution | total | effective |",
            "|---|---|---|---|---|",
        ]
        for r in counts:
            lines.append(
                f"| {r['backbone']}{' (width ' + str(r['hidden']) + ')' if r.get('hidden') else ''} | "
                f"{r['preset']} | {r['resolution']} | {_fmt(r.get('params_total'), ',')} | "
                f"{_fmt(r.get('params_effective'), ',')} |"
            )
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def write_chart(out: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("benchmark") == "mno_train" and r["status"] == "ok"]
    if not ok:
        return
    fig, ax = plt.subplots(1, 2, figsize=(12, 0.45 * len(ok) + 1.5))
    y = np.arange(len(ok))
    colors = ["tab:gray" if r["role"] == "baseline" else "tab:blue" for r in ok]
    ax[0].barh(y, [r["samples_per_s"] for r in ok], color=colors)
    ax[0].set_yticks(y, [r["label"] for r in ok], fontsize=7)
    ax[0].set(xlabel="samples/s (trajectories trained per second)", xscale="log")
    ax[1].barh(y, [100 * r["mfu"] for r in ok], color=colors)
    ax[1].set_yticks(y, [""] * len(ok))
    ax[1].set(xlabel="MFU % (vs 989 TFLOP/s)")
    for a in ax:
        a.invert_yaxis()
    fig.suptitle(f"MNO training ({ok[0]['device']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------- main


def _batches(text: str) -> list[tuple[int, int]]:
    try:
        return [(int(a), int(b)) for a, b in (part.split("=") for part in text.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--batch takes RES=BATCH pairs like 64=16,128=4, got {text!r}"
        ) from None


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--out", type=Path, required=True, help="directory for mno.jsonl, summary.md, throughput.png"
    )
    p.add_argument("--quick", action="store_true", help="headline comparisons only (~5 min on an H100)")
    p.add_argument("--tiny", action="store_true", help="CPU smoke test: small preset, 16x16, 8 steps")
    p.add_argument("--presets", nargs="+", default=["small", "base", "large"])
    p.add_argument("--resolutions", nargs="+", type=int, default=[64, 128])
    p.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["bf16", "fp32"])
    p.add_argument("--compile", choices=["on", "off", "both"], default="both")
    p.add_argument(
        "--batch", type=_batches, default=[(64, 16), (128, 4)], help="per resolution, e.g. 64=16,128=4"
    )
    p.add_argument("--steps", type=int, default=256, help="rollout horizon")
    p.add_argument("--window", type=int, default=32, help="TBPTT window")
    p.add_argument("--seconds-per-variant", type=float, default=20.0, help="timed seconds after warm-up")
    p.add_argument("--max-steps", type=int, default=50, help="most timed optimizer steps per variant")
    p.add_argument(
        "--budget", type=float, default=540.0, help="skip variants once this many seconds have passed"
    )
    p.add_argument("--no-fno", dest="fno", action="store_false", help="skip the neuraloperator FNO baseline")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)
    if args.tiny:
        args.presets, args.resolutions, args.batch = ["small"], [16], [(16, 2)]
        args.steps, args.window, args.compile, args.precisions = 8, 4, "off", ["bf16", "fp32"]
        args.seconds_per_variant, args.max_steps = min(args.seconds_per_variant, 1.0), 3
    if args.quick:
        args.seconds_per_variant = min(args.seconds_per_variant, 8.0)
        args.max_steps = min(args.max_steps, 10)
    if args.steps < args.window:
        p.error("--steps must be at least --window")
    return args


def main(argv=None) -> list[dict]:
    args = parse(argv)
    RESULTS.clear()
    device = torch.device(args.device)
    from spinlock_core.device import device_string

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(1)  # CPU runs are smoke tests; threads fight over shared cores
    args.device_name = device_string(device)
    args.out.mkdir(parents=True, exist_ok=True)
    SINK[:] = [args.out / "mno.jsonl"]
    SINK[0].write_text("")
    started = time.perf_counter()
    space = parameter_space()
    emit(
        {
            "benchmark": "mno_setup",
            "device": args.device_name,
            "torch": torch.__version__,
            "theta_dim": space.dim,
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        }
    )
    fno_width: dict[str, int] = {}
    if args.fno:
        try:
            build("fno", "small", space, "meta")
        except Exception as exc:
            args.fno = False
            emit({"benchmark": "mno_fno", "device": args.device_name, "status": "skipped", "error": str(exc)})
    for preset in args.presets:
        with torch.device("meta"):
            target = real_parameters(build("u_afno", preset, space, None)[0])
        if args.fno:
            fno_width[preset] = matched_fno_width(preset, target, space)
        for res in args.resolutions:
            for backbone, hidden in [("u_afno", None)] + ([("fno", fno_width[preset])] if args.fno else []):
                row = {"benchmark": "mno_params", "device": args.device_name, "backbone": backbone}
                row |= {"preset": preset, "resolution": res, "hidden": hidden}
                try:
                    model = build(backbone, preset, space, device, hidden)[0]
                    row |= effective_parameters(model, res, space, device)
                    del model
                except Exception as exc:
                    row |= {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:400]}
                finally:
                    _free(device)
                emit(row)
    flop_cache: dict = {}
    for v in plan(args):
        if time.perf_counter() - started > args.budget:
            emit(
                {
                    "benchmark": "mno_train",
                    **attrs.asdict(v),
                    "device": args.device_name,
                    "status": "skipped: budget",
                }
            )
            continue
        run_variant(v, args, space, device, flop_cache, fno_width)
    SINK.clear()
    write_summary(args.out, RESULTS)
    with contextlib.suppress(Exception):
        write_chart(args.out, RESULTS)
    print(f"# {len(RESULTS)} rows in {time.perf_counter() - started:.0f} s -> {args.out}", flush=True)
    return RESULTS


if __name__ == "__main__":
    main()
