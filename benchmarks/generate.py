"""Benchmark the generate path on the device: CNO operators/s by stepper variant, Gray-Scott
trajectory-steps/s (solver and initial conditions timed apart), and the feature families.

Every figure comes with its baselines measured in the same process: the CNO stepper as it was
before the launch-count work (``_cno_legacy.py``), one operator at a time (the prototype's
pattern), the current exact eager step, and the CUDA-graph and compiled variants. Each variant
runs in its own try/except, so one failure leaves the others (its error text is recorded).

CNO timing, per variant and batch configuration: the batches of the first generate chunk
(production θ, sorted and cut exactly as the generate stage does), each built, given its ICs,
rolled out for ``--warm`` steps (CUDA-graph capture included) and then for ``--timed`` steps;
operators/s counts build + ICs + warm-up + ``steps - warm`` steps at the timed rate (with
``--timed`` = ``steps - warm``, as in the full mode, that is the whole rollout). Device work
only: no disk, no inline features. Also recorded: groups per batch, dispatcher ops per step
(eager variants), CUDA kernels per step and device-busy time (profiler, heaviest batch), peak
memory, TFLOP/s, and whether the variants' trajectories agree (max abs difference against the
exact eager step on the same samples).

    python benchmarks/generate.py --quick --out bench       # about 4 minutes on an H100
    python benchmarks/generate.py --out bench               # longer, stops at --budget-s
    python benchmarks/generate.py --quick --scale small --out /tmp/b   # CPU smoke test

The CNO timing covers every batch of a chunk (``--max-batches 0``, the default): a chunk's
batches differ in cost by 6x, so its first two are not what a run sees. ``--only stage`` (also
part of the default set) runs the generate stage end to end as a user does, inline features,
storage and manifest included, without trajectories and then with them per compression
(``--e2e-samples``, ``--e2e-compressions``).

Writes ``generate.jsonl`` (one JSON line per measurement, also printed), ``profile-*.txt``
(profiler tables) into ``--out`` and prints a summary table last.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from pathlib import Path

import numpy as np
import torch
from _opcount import dispatch_ops, profile_step  # benchmarks/ is on sys.path as the script's folder

from spinlock_core.config import compose
from spinlock_core.device import device_string
from spinlock_core.rollout import rollout
from spinlock_core.stages.build import GenerationSetup, chunk_batches

CUDA = torch.cuda.is_available()
RESULTS: list[dict] = []
OUT: Path = Path(".")
DEADLINE = float("inf")

#: name -> (stepper implementation, config overrides, cuDNN mode). Order = priority. cuDNN mode:
#: "deterministic" (the generate stage's default: deterministic flag, heuristic choice),
#: "heuristic" (heuristic choice without the deterministic flag), "autotune" (cudnn.benchmark).
VARIANTS: dict[str, tuple[str, list[str], str]] = {
    "graph": ("current", ["operator.cuda_graph=on"], "deterministic"),
    "eager": ("current", ["operator.cuda_graph=off"], "deterministic"),
    "legacy": ("legacy", [], "deterministic"),
    "graph_compiled": ("current", ["operator.cuda_graph=on", "operator.compile=true"], "deterministic"),
    "graph_channels_last": (
        "current",
        ["operator.cuda_graph=on", "operator.channels_last=true"],
        "deterministic",
    ),
    "graph_split": ("current", ["operator.cuda_graph=on", "operator.split_cout=128"], "deterministic"),
    "graph_gemm": ("current", ["operator.cuda_graph=on", "operator.gemm_cout=128"], "deterministic"),
    "graph_heuristic": ("current", ["operator.cuda_graph=on", "generate.deterministic=false"], "heuristic"),
    "graph_split_heuristic": (
        "current",
        ["operator.cuda_graph=on", "operator.split_cout=128", "generate.deterministic=false"],
        "heuristic",
    ),
    "graph_cudnn_benchmark": (
        "current",
        ["operator.cuda_graph=on", "generate.deterministic=false"],
        "autotune",
    ),
    "compiled": ("current", ["operator.cuda_graph=off", "operator.compile=true"], "deterministic"),
    "eager_channels_last": (
        "current",
        ["operator.cuda_graph=off", "operator.channels_last=true"],
        "deterministic",
    ),
    "graph_compiled_channels_last": (
        "current",
        ["operator.cuda_graph=on", "operator.compile=true", "operator.channels_last=true"],
        "deterministic",
    ),
}


def emit(name: str, **figures) -> dict:
    row = {"benchmark": name, **figures}
    RESULTS.append(row)
    print(json.dumps(row), flush=True)
    with open(OUT / "generate.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def _sig(x: float, digits: int = 4) -> float:
    """``x`` to significant digits (a fast step stays > 0, unlike ``round(x, 3)``)."""
    return float(f"{x:.{digits}g}")


def _sync():
    if CUDA:
        torch.cuda.synchronize()


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:600]


def _out_of_time(what: str) -> bool:
    if time.monotonic() > DEADLINE:
        emit("skipped", what=what, reason="--budget-s reached")
        return True
    return False


def _setup(overrides: list[str], device) -> GenerationSetup:
    return GenerationSetup.from_config(compose(["stage=generate", *overrides]), device)


def _subset(theta: dict, rows) -> dict:
    return {k: v[rows] for k, v in theta.items()}


def _builder(setup: GenerationSetup, impl: str):
    seed = setup.config.core.seed
    if impl == "legacy":
        from _cno_legacy import build_legacy

        return lambda theta, rows: build_legacy(
            setup.operator, theta, rows, seed, setup.grid, setup.device, setup.dtype
        )
    return lambda theta, rows: setup.operator.build(theta, rows, seed, setup.grid, setup.device, setup.dtype)


class _Cudnn:
    """Set cuDNN's flags for one variant (see ``VARIANTS``) and restore them after."""

    FLAGS = {"deterministic": (False, True), "heuristic": (False, False), "autotune": (True, False)}

    def __init__(self, mode: str):
        self.mode = mode

    def __enter__(self):
        b = torch.backends.cudnn
        self.saved = (b.benchmark, b.deterministic)
        b.benchmark, b.deterministic = self.FLAGS[self.mode]

    def __exit__(self, *exc):
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = self.saved


# ---------------------------------------------------------------------------------- CNO


def _chunk(args, batch: int, chunk: int, device, extra: list[str]) -> tuple[GenerationSetup, list]:
    """The setup and the batches of the first ``chunk`` samples, as the generate stage cuts them."""
    setup = _setup(
        [
            f"scale={args.scale}",
            f"generate.n_samples={max(args.n_samples, chunk)}",
            f"generate.batch_size={batch}",
            f"generate.chunk_size={chunk}",
            f"generate.dtype={args.dtype_now}",
            "features=[]",
            *extra,
        ],
        device,
    )
    indices = np.arange(min(chunk, setup.cfg.n_samples))
    theta = _subset(setup.theta, indices)
    return setup, [indices[r] for r in chunk_batches(setup, indices, theta)]


def _rollout(setup, stepper, u0, steps):
    return rollout(
        stepper,
        u0.to(setup.dtype),
        steps=steps,
        realizations=setup.realizations,
        bound=setup.cfg.divergence_bound,
    )


def _time_batches(setup, build, batches, args, max_timed: int | None = None) -> dict:
    """Build, ICs, warm-up and timed steps per batch; see the module docstring.

    ``operators_per_s`` counts everything (warm-up, CUDA-graph capture, first-call compiles);
    ``operators_per_s_steady`` counts the warm-up steps at the timed rate instead (what a
    long run approaches once every structure is compiled; capture is per batch, so the
    truth for a graph variant lies between the two).
    """
    seed, steps = setup.config.core.seed, setup.cfg.steps
    warm, timed = min(args.warm, steps), min(args.timed, max_timed or args.timed, max(steps - args.warm, 1))
    totals = dict(build=0.0, ic=0.0, warm=0.0, steps=0.0)
    groups, flops, executed, n = [], 0.0, 0.0, 0
    derived = setup.operator.derived_columns(setup.theta, setup.grid)
    exec_flops = getattr(setup.operator, "executed_flops", None)
    exec_all = exec_flops(setup.theta, setup.grid) if exec_flops else None
    last = None
    with torch.no_grad():
        for rows in batches:
            theta = _subset(setup.theta, rows)
            _sync()
            t0 = time.perf_counter()
            stepper = build(theta, rows)
            _sync()
            t1 = time.perf_counter()
            _, u0 = setup.ics.sample(seed, rows, 3, setup.grid, setup.device, torch.float32, theta=theta)
            _sync()
            t2 = time.perf_counter()
            _rollout(setup, stepper, u0, warm)
            _sync()
            t3 = time.perf_counter()
            _rollout(setup, stepper, u0, timed)
            _sync()
            t4 = time.perf_counter()
            totals["build"] += t1 - t0
            totals["ic"] += t2 - t1
            totals["warm"] += t3 - t2
            totals["steps"] += (t4 - t3) / timed * (steps - warm)
            groups.append(len(getattr(stepper, "groups", [None])))
            m = setup.realizations
            flops += float(np.sum(derived["flops_per_step"][rows])) * steps * m
            if exec_all is not None:
                executed += float(np.sum(exec_all[rows])) * steps * m
            n += len(rows)
            last = (stepper, u0, rows)
    seconds = sum(totals.values())
    steady = totals["build"] + totals["ic"] + totals["steps"] * steps / (steps - warm)
    return {
        "operators": n,
        "seconds_estimated": round(seconds, 3),
        "operators_per_s": round(n / seconds, 3),
        "operators_per_s_steady": round(n / steady, 3),
        "step_ms_mean": round(totals["steps"] / (steps - warm) / len(batches) * 1e3, 2),
        "share": {k: round(v / seconds, 3) for k, v in totals.items()},
        "timed_steps": timed,
        "groups_per_batch": groups,
        "tflop_per_operator": round(flops / n / 1e12, 2),
        "tflops_real": round(flops / seconds / 1e12, 1),
        "tflops_executed": round(executed / seconds / 1e12, 1) if exec_all is not None else None,
        "_last": last,
    }


def _trajectory(setup, build, rows, steps: int) -> torch.Tensor:
    theta = _subset(setup.theta, rows)
    with torch.no_grad():
        _, u0 = setup.ics.sample(
            setup.config.core.seed, rows, 3, setup.grid, setup.device, torch.float32, theta=theta
        )
        return _rollout(setup, build(theta, rows), u0, steps).states.float().cpu()


def _compare(a: torch.Tensor, b: torch.Tensor) -> dict:
    finite = torch.isfinite(a) & torch.isfinite(b)
    same_nan = torch.equal(torch.isnan(a), torch.isnan(b))
    diff = (a - b).abs()[finite]
    return {
        "bitwise": bool(same_nan and torch.equal(a[finite], b[finite])),
        "max_abs_diff": float(diff.max()) if diff.numel() else 0.0,
        "max_abs_value": float(a[finite].abs().max()) if diff.numel() else 0.0,
    }


def cno_config(args, device, batch: int, chunk: int, variants: list[str]) -> None:
    """All ``variants`` on the batches of one (batch size, chunk size) configuration.

    Agreement is measured against the exact eager step (``operator.cuda_graph=off``) on the
    first ``--verify-samples`` samples of the heaviest batch.
    """
    reference = None
    try:
        setup, batches = _chunk(args, batch, chunk, device, ["operator.cuda_graph=off"])
        verify_rows = batches[-1][: args.verify_samples]
        reference = ("eager", _trajectory(setup, _builder(setup, "current"), verify_rows, args.verify_steps))
    except Exception as exc:
        emit("cno_reference", batch=batch, chunk=chunk, error=_error(exc))
    for name in variants:
        if _out_of_time(f"cno {args.dtype_now} batch {batch} chunk {chunk} {name}"):
            continue
        impl, overrides, cudnn_mode = VARIANTS[name]
        tag = f"{name}-{args.dtype_now}-b{batch}-c{chunk}"
        record = dict(variant=name, dtype=args.dtype_now, batch=batch, chunk=chunk)
        try:
            with _Cudnn(cudnn_mode):
                setup, batches = _chunk(args, batch, chunk, device, overrides)
                if args.max_batches:
                    batches = batches[: args.max_batches]
                build = _builder(setup, impl)
                if CUDA:
                    torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                # the old stepper is slow: extrapolate it from at most 16 steps per batch
                figures = _time_batches(setup, build, batches, args, 16 if impl == "legacy" else None)
                stepper, u0, rows = figures.pop("_last")
                record.update(figures, wall_s=round(time.perf_counter() - t0, 1))
                if CUDA:
                    record["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
                u = u0.unsqueeze(1).expand(-1, setup.realizations, *u0.shape[1:]).to(setup.dtype)
                u = u.contiguous()
                if name in ("legacy", "eager", "eager_channels_last"):
                    try:
                        record["dispatch_ops_per_step"] = dispatch_ops(stepper.step, u)
                    except Exception as exc:
                        record["dispatch_ops_error"] = _error(exc)
                if CUDA:
                    try:
                        record["profile"] = profile_step(
                            stepper.step, u, table_path=OUT / f"profile-{tag}.txt"
                        )
                    except Exception as exc:
                        record["profile_error"] = _error(exc)
                del stepper
                if reference is not None:
                    states = _trajectory(setup, build, verify_rows, args.verify_steps)
                    record["agreement"] = {"against": reference[0], **_compare(reference[1], states)}
        except Exception as exc:
            record["error"] = _error(exc)
            (OUT / f"error-{tag}.txt").write_text(traceback.format_exc())
        emit("cno", **record)
        if CUDA:
            torch.cuda.empty_cache()


def cno_one_at_a_time(args, device) -> None:
    """The prototype's pattern: one operator per batch (legacy stepper), samples spread over the chunk."""
    if _out_of_time("cno one at a time"):
        return
    for name in args.baseline_variants:
        impl, overrides, cudnn_mode = VARIANTS[name]
        record = dict(variant=name, dtype=args.dtype_now, batch=1)
        try:
            with _Cudnn(cudnn_mode):
                setup, batches = _chunk(args, 1, args.chunk_sizes[0], device, overrides)
                rows = np.concatenate(batches)
                pick = rows[:: max(1, len(rows) // args.baseline_samples)][: args.baseline_samples]
                alone = [np.array([i]) for i in pick]
                figures = _time_batches(setup, _builder(setup, impl), alone, args, 16)
                figures.pop("_last")
                record.update(figures)
        except Exception as exc:
            record["error"] = _error(exc)
        emit("cno_one_at_a_time", **record)


# ---------------------------------------------------------------------------------- Gray-Scott


def gray_scott(args, device) -> None:
    """Solver steps/s with the ICs timed apart, eager and replayed from a CUDA graph."""
    from spinlock_reaction_diffusion._cuda_graph import GraphedStep

    for batch in args.gs_batches:
        if _out_of_time(f"gray_scott batch {batch}"):
            continue
        record = dict(grid=args.gs_grid, batch=batch, stored_steps=args.gs_steps)
        try:
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
            theta = _subset(setup.theta, rows)
            seed = setup.config.core.seed
            substeps = setup.operator.config.substeps
            with torch.no_grad():
                setup.ics.sample(
                    seed, rows[:2], 2, setup.grid, device, torch.float32, theta=_subset(theta, [0, 1])
                )
                _sync()
                t0 = time.perf_counter()
                _, u0 = setup.ics.sample(seed, rows, 2, setup.grid, device, torch.float32, theta=theta)
                _sync()
                ic_s = time.perf_counter() - t0
                stepper = setup.operator.build(theta, rows, seed, setup.grid, device, torch.float32)
                u0 = u0.unsqueeze(1).contiguous()
                record.update(
                    substeps=substeps,
                    ic_seconds=_sig(ic_s),
                    ic_ms_per_sample=_sig(ic_s / batch * 1e3),
                )
                variants = {"eager": stepper.step}
                if CUDA:
                    variants["graph"] = GraphedStep(
                        lambda u, t, s=stepper: s.step(u, 0), strict=True, name="gs step"
                    )
                finals = {}
                for name, step in variants.items():
                    try:
                        u = step(u0, 0)  # warm-up (capture)
                        _sync()
                        t0 = time.perf_counter()
                        u = u0
                        for t in range(args.gs_steps):
                            u = step(u, t)
                        _sync()
                        s = time.perf_counter() - t0
                        finals[name] = u.float().cpu()
                        record[name] = {
                            "solver_seconds": round(s, 3),
                            "trajectory_solver_steps_per_s": round(batch * args.gs_steps * substeps / s),
                            "stored_states_per_s": round(batch * args.gs_steps / s),
                            "ic_share_of_trajectory": round(ic_s / (ic_s + s), 3),
                        }
                    except Exception as exc:
                        record[name] = {"error": _error(exc)}
                if "graph" in finals:
                    record["graph_vs_eager"] = _compare(finals["eager"], finals["graph"])
        except Exception as exc:
            record["error"] = _error(exc)
        emit("gray_scott", **record)


# ---------------------------------------------------------------------------------- features


def features(args, device) -> None:
    """Each family alone on ready trajectories (the scale's grid and steps, 5 realizations)."""
    from spinlock_core import registry
    from spinlock_core.interfaces import FeatureBatch

    if _out_of_time("features"):
        return
    batch = 64
    setup = _setup(
        [
            f"scale={args.scale}",
            f"generate.n_samples={batch}",
            f"generate.batch_size={batch}",
            "features=[]",
            "generate.dtype=bfloat16",
        ],
        device,
    )
    rows = np.arange(batch)
    theta = _subset(setup.theta, rows)
    _, u0 = setup.ics.sample(0, rows, 3, setup.grid, device, torch.float32, theta=theta)
    t, m = setup.cfg.steps + 1, setup.realizations
    traj = torch.randn(batch, m, t, 3, *setup.grid.shape, device=device).cumsum(2) * 0.05 + u0[:, None, None]
    fb = FeatureBatch(
        domain=setup.info,
        theta=theta,
        u0=u0,
        trajectories=traj,
        time=torch.arange(t, device=device, dtype=torch.float32),
        derived=setup.operator.derived_columns(theta, setup.grid),
    )
    for name in ("initial", "architecture", "summary", "temporal"):
        try:
            family = registry.load("features", name).create(None)
            family.extract(fb)
            _sync()
            start = time.perf_counter()
            out = family.extract(fb)
            _sync()
            seconds = time.perf_counter() - start
            emit(
                "features",
                family=name,
                batch=batch,
                columns=int(out.shape[-1]),
                samples_per_s=round(batch / seconds, 1),
            )
        except Exception as exc:
            emit("features", family=name, error=_error(exc))


def stage_end_to_end(args, device) -> None:
    """``spinlock run stage=generate`` as a user runs it: inline features, storage, manifest.

    One row per storage setting, in the same process: no trajectories (the baseline), then
    trajectories with each compression. Operators/s counts the whole stage (setup, every chunk,
    the writer thread's last writes, the manifest), the figure its own summary line prints.
    """
    import tempfile

    from spinlock_core.runner import Runner

    settings = [("no_trajectories", ["generate.store_trajectories=false"])]
    settings += [(f"trajectories_{c}", [f"generate.compression={c}"]) for c in args.e2e_compressions]
    for name, extra in settings:
        if _out_of_time(f"stage end to end {name}"):
            continue
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            overrides = [
                f"scale={args.scale}",
                "stage=generate",
                f"generate.n_samples={args.e2e_samples}",
                f"device={device.type}",
                f"run.dir={tmp}/run",
                *extra,
            ]
            record = dict(variant=name, n_samples=args.e2e_samples, overrides=overrides)
            try:
                t0 = time.perf_counter()
                Runner(compose(overrides)).run()
                seconds = time.perf_counter() - t0
                written = sum(p.stat().st_size for p in Path(tmp).rglob("*.h5"))
                record.update(
                    seconds=round(seconds, 2),
                    operators_per_s=_sig(args.e2e_samples / seconds),
                    bytes_written=written,
                    gb_per_s_written=_sig(written / seconds / 1e9),
                )
            except Exception as exc:  # recorded, not fatal
                record["error"] = _error(exc)
            emit("stage_end_to_end", **record)


# ---------------------------------------------------------------------------------- main


def _summary() -> None:
    print("\nsummary (operators/s all-in / steady; agreement: trajectories against the exact eager step)")
    for r in RESULTS:
        if r["benchmark"] in ("cno", "cno_one_at_a_time"):
            prof = r.get("profile", {})
            agree = r.get("agreement", {})
            ops = r.get("dispatch_ops_per_step", {}).get("non_view", "")
            print(
                f"  {r['benchmark'][:10]:10s} {r.get('variant', ''):28s} {r.get('dtype', ''):8s} "
                f"b{r.get('batch', '')}/c{r.get('chunk', '')}  "
                + (
                    f"ERROR {r['error'][:100]}"
                    if "error" in r
                    else f"{r.get('operators_per_s', '')}/{r.get('operators_per_s_steady', '')} op/s  "
                    f"step {r.get('step_ms_mean', '')} ms  "
                    f"groups {np.mean(r.get('groups_per_batch', [0])):.1f}  ops {ops}  "
                    f"kernels {prof.get('kernels_per_step', '')}  busy {prof.get('device_busy_ms_per_step', '')}"
                    f"/{prof.get('wall_ms_per_step', '')} ms  "
                    f"bitwise {agree.get('bitwise', '')} maxdiff {agree.get('max_abs_diff', '')}"
                )
            )
        elif r["benchmark"] == "gray_scott":
            eager, graph = r.get("eager", {}), r.get("graph", {})
            print(
                f"  gray_scott b{r.get('batch')} {r.get('grid')}²: IC {r.get('ic_ms_per_sample')} ms/sample; "
                f"solver traj-steps/s eager {eager.get('trajectory_solver_steps_per_s', eager.get('error'))}, "
                f"graph {graph.get('trajectory_solver_steps_per_s', graph.get('error', '-'))} "
                f"{r.get('error', '')}"
            )
        elif r["benchmark"] == "stage_end_to_end":
            print(
                f"  stage {r['variant']:24s} {r.get('operators_per_s', r.get('error', ''))} op/s end to end, "
                f"{r.get('gb_per_s_written', '')} GB/s written ({r.get('bytes_written', '')} bytes)"
            )
        elif r["benchmark"] in ("skipped", "features"):
            print(f"  {json.dumps(r)[:160]}")


def main() -> None:
    global OUT, DEADLINE
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="generate-benchmark", help="output directory")
    parser.add_argument("--quick", action="store_true", help="a subset that fits about 4 minutes on an H100")
    parser.add_argument("--only", choices=("cno", "gray_scott", "features", "stage"), default=None)
    parser.add_argument("--e2e-samples", type=int, default=256, help="operators of the end-to-end stage run")
    parser.add_argument(
        "--e2e-compressions", nargs="+", default=["none", "lzf"], choices=("none", "lzf", "gzip")
    )
    parser.add_argument("--scale", default="production", help="size preset (small for a CPU smoke test)")
    parser.add_argument("--n-samples", type=int, default=4096, help="θ sample the chunks are cut from")
    parser.add_argument("--configs", nargs="+", default=None, help="BATCH:CHUNK pairs, e.g. 64:256 256:1024")
    parser.add_argument("--variants", nargs="+", default=None, choices=list(VARIANTS))
    parser.add_argument("--dtypes", nargs="+", default=None, choices=("bfloat16", "float32"))
    parser.add_argument("--warm", type=int, default=2, help="steps before timing (capture included)")
    parser.add_argument("--timed", type=int, default=None, help="timed steps per batch (default: the rest)")
    parser.add_argument("--max-batches", type=int, default=0, help="batches per chunk (0: all)")
    parser.add_argument("--verify-samples", type=int, default=16)
    parser.add_argument("--verify-steps", type=int, default=4)
    parser.add_argument("--baseline-samples", type=int, default=4)
    parser.add_argument("--gs-grid", type=int, default=128)
    parser.add_argument("--gs-steps", type=int, default=20, help="stored steps timed")
    parser.add_argument("--gs-batches", type=int, nargs="+", default=None)
    parser.add_argument(
        "--budget-s", type=float, default=None, help="stop starting new measurements after this"
    )
    args = parser.parse_args()
    quick = args.quick
    args.configs = args.configs or (["64:256", "256:1024"] if quick else ["64:256", "64:1024", "256:1024"])
    args.dtypes = args.dtypes or (["bfloat16"] if quick else ["bfloat16", "float32"])
    args.timed = args.timed or (8 if quick else 10**9)
    args.gs_batches = args.gs_batches or ([256, 1024] if quick else [256, 1024, 4096])
    args.chunk_sizes = [int(c.split(":")[1]) for c in args.configs]
    args.baseline_variants = ["legacy", "graph"] if CUDA else ["legacy", "eager"]
    budget = args.budget_s or (180.0 if quick else 540.0)
    DEADLINE = time.monotonic() + budget
    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "generate.jsonl").write_text("")
    device = torch.device("cuda" if CUDA else "cpu")
    emit("device", device=device_string(device), torch=torch.__version__, quick=quick, budget_s=budget)

    if args.only in (None, "gray_scott"):
        gray_scott(args, device)
    if args.only in (None, "cno"):
        for i, dtype in enumerate(args.dtypes):
            args.dtype_now = dtype
            for j, pair in enumerate(args.configs):
                batch, chunk = (int(x) for x in pair.split(":"))
                if args.variants:
                    names = args.variants
                elif i > 0:  # further dtypes: the main variants on the first configuration
                    names = ["graph", "graph_compiled"] if j == 0 else []
                elif j == 0:
                    names = list(VARIANTS)[:6] if quick else list(VARIANTS)
                else:
                    names = ["graph", "graph_compiled", "graph_channels_last"] + (
                        [] if quick else ["eager", "legacy"]
                    )
                if not CUDA:  # compiling on a CPU takes minutes; graphs fail (and say so) quickly
                    names = [n for n in names if "compiled" not in n]
                if names:
                    cno_config(args, device, batch, chunk, names)
                if i == 0 and j == 0:
                    cno_one_at_a_time(args, device)
    if args.only in (None, "features") and not quick:
        features(args, device)
    if args.only in (None, "stage"):
        stage_end_to_end(args, device)
    with open(OUT / "generate.json", "w") as f:
        json.dump(RESULTS, f, indent=1)
    _summary()


if __name__ == "__main__":
    main()
