"""Issue #9's tokenizer benchmark on real CNO feature tables, side by side, in one process.

1. **Feature table.** Made by the real generate code (``GenerationSetup`` + ``generate_chunk``,
   the functions the ``generate`` stage runs): rd-domain's CNO at ``--scale``, every feature
   family computed inline on the device, no trajectories stored. θ is the scrambled Sobol design
   of ``--design-samples`` points (4096 by default) and samples are made from index 0 up, in
   aligned chunks, so the first ``n`` samples are the same whatever ``n``, the number of calls or
   GPUs. Finished chunks are part files in ``--work`` (keyed by the generation config's
   fingerprint): a killed run resumes. ``--time-budget-minutes`` stops *before* a chunk that would
   end past the budget; the table then holds the samples finished, and the JSON says how many.
   ``--features-h5 A.h5 [B.h5 ...]`` reuses tables (no generation); with ``--extend`` it also
   generates the samples they lack, so a table can be grown call by call (each call brings the
   last ``features.h5`` back in and returns a bigger one). Only per-sample families are stored
   (``features.h5``, the ``features`` stage's layout, readable by ``spinlock_core.stages.
   tokenizer.feature_table``), with each sample's status; θ is row ``index`` of the design the
   stored config names. Failed samples (all-NaN rows) are dropped before fitting; diverged ones
   are kept, as the tokenizer stage would see them. ``--cost-probe N`` first times N samples as
   configured, with one realization, with a quarter of the steps and with no inline features.
2. **Three models on one split** (``categorical_vqvae``'s seeded split and preprocessing):

   * ``categorical_vqvae``: the plugin with the tokenizer config of ``--scale`` (production: the
     library defaults), only ``--epochs``/``--val-fraction``/``tokenizer.*`` overrides changed.
   * ``flat_vqvae``: the *same* class and training (optimizer, schedule, epochs, early stopping,
     EMA codebooks, k-means init, restarts, same preprocessing, checked identical) configured as
     one pinned category holding every kept column, one level, and one codebook of K codes, K =
     the categorical model's vocabulary (sum of its codebook sizes). Its MLP hidden width is
     chosen so that its parameter count matches the categorical model's (same depth and
     activation); its latent width is the library rule for a category of that size.
   * ``pca_kmeans``: numpy SVD of the scaled training rows, the fewest components holding
     ``--pca-variance`` of the training variance, ``scipy.cluster.vq.kmeans2`` (k-means++) with K
     codes in PCA space; a row's reconstruction is its centroid mapped back through the PCA.

   k-means cannot place more centroids than there are training rows: there K is capped (the JSON
   says so). The flat VQ-VAE keeps all K codes; the unused ones count as dead.
3. **Same metrics for all**, on the test rows (never seen by training or early stopping), from the codes: quality = clamp(1 - MSE, 0,
   1) on the scaled features, R^2 overall and per category of the categorical map, per-codebook
   utilization and perplexity, dead codes, topographic similarity (the plugin's
   ``topographic_similarity`` on the same seeded subsample of the test rows as its ``evaluate``).
   Utilization is bounded by the number of test rows: next to it stands the utilization that V
   uniform draws over K codes would give, ``1 - (1 - 1/K)^V``.

Writes into ``--out`` at most seven files: ``results.json``, ``table.md``, ``features.h5`` (when
under 16 MB) and four of the tokenizer's dashboards (``--dashboards``).

CPU smoke test (a few minutes on two cores): ``python benchmarks/tokenizer_cno.py --tiny --out /tmp/tc``.
GPU (production scale), generation only, within a 10-minute call:
``python benchmarks/tokenizer_cno.py --out $OUT --generate-only --time-budget-minutes 8``; grow the
table in later calls with ``--features-h5 PREV.h5 --extend``; train and compare with
``--features-h5 PREV.h5``. ``--gpus N`` runs one generation worker per GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TINY = {"scale": "small", "n_samples": 32, "design_samples": 32, "val_fraction": 0.25}
ISSUE_SPEC = {"operator": "cno", "grid": 64, "steps": 255, "realizations": 5, "n_samples": 4096}
PER_SAMPLE_FAMILIES_ONLY = "per-timestep families are not stored (the tokenizer stage skips them)"
MAX_FILE_BYTES = 16 * 2**20


def log(message: str) -> None:
    from spinlock_core.console import info

    info(message)


def plain(value):
    """JSON-safe copy: numpy scalars and arrays to Python, NaN and inf to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def index_ranges(index: np.ndarray) -> list[list[int]]:
    """Sorted indices as inclusive ``[first, last]`` runs, e.g. ``[[0, 447]]``."""
    index = np.sort(np.asarray(index, dtype=np.int64))
    if not len(index):
        return []
    breaks = np.flatnonzero(np.diff(index) != 1)
    starts = np.r_[index[0], index[breaks + 1]]
    ends = np.r_[index[breaks], index[-1]]
    return [[int(a), int(b)] for a, b in zip(starts, ends, strict=True)]


# --------------------------------------------------------------------------- configuration


def _base_overrides(args) -> list[str]:
    base = [
        f"scale={args.scale}",
        f"seed={args.seed}",
        f"generate.n_samples={args.design_samples}",
        "generate.store_trajectories=false",
        "generate.inline_features=true",
    ]
    if args.val_fraction is not None:
        base.append(f"tokenizer.val_fraction={args.val_fraction}")
    if args.epochs is not None:
        base.append(f"tokenizer.epochs={args.epochs}")
    return base


def compose_config(args):
    """The resolved config of generation and tokenizer: the scale preset plus this run's options."""
    from spinlock_core.config import compose

    base = _base_overrides(args)
    config = compose([*base, *args.override])
    chunk = args.chunk_size or config.section("generate").batch_size
    return compose([*base, f"generate.chunk_size={chunk}", *args.override])


def generation_fingerprint(config) -> str:
    """The ``generate`` stage's own fingerprint of this config (what makes the samples)."""
    from spinlock_core.runner import Runner

    return Runner(config, Path(".")).fingerprint("generate")


def spec_deviations(made: dict, n_used: int) -> list[str]:
    """How a table made with the resolved config ``made`` (a plain dict) and ``n_used`` samples
    differs from issue #9's benchmark specification (empty: it meets it)."""
    gen = made.get("generate", {})
    have = {
        "operator": (made.get("operator") or {}).get("name"),
        "grid": gen.get("grid"),
        "steps": gen.get("steps"),
        "realizations": gen.get("realizations"),
    }
    out = [f"{k}={have[k]} (issue: {ISSUE_SPEC[k]})" for k in have if have[k] != ISSUE_SPEC[k]]
    if n_used < ISSUE_SPEC["n_samples"]:
        out.append(f"{n_used} samples (issue: at least {ISSUE_SPEC['n_samples']})")
    return out


# --------------------------------------------------------------------------- generation


def chunk_estimate(timings: list[dict], size: int) -> float | None:
    """Seconds a chunk of ``size`` samples should take: the slowest per-sample rate seen, the
    first chunk (compilation, cuDNN plans) left out once another has finished."""
    if not timings:
        return None
    seen = timings[1:] or timings
    return size * max(t["seconds"] / t["samples"] for t in seen)


def generate_chunks(setup, chunks: list[range], parts_dir: Path, deadline: float | None, label: str) -> dict:
    """Make ``chunks`` in order, stopping before one that would end past ``deadline`` (epoch s)."""
    import torch

    from spinlock_core.console import progress
    from spinlock_core.stages.build import generate_chunk

    timings, stopped, error = [], False, None
    total = sum(len(c) for c in chunks)
    with progress(total, f"generate {label}", unit="samples") as advance:
        for chunk in chunks:
            estimate = chunk_estimate(timings, len(chunk))
            now = time.time()
            if deadline is not None and (now >= deadline or (estimate and now + estimate > deadline)):
                stopped = True
                break
            start = time.perf_counter()
            try:
                generate_chunk(setup, np.arange(chunk.start, chunk.stop), parts_dir, advance)
                if setup.device.type == "cuda":
                    torch.cuda.synchronize(setup.device)
            except Exception as exc:  # a systematic failure: keep the chunks already made
                error = f"{type(exc).__name__}: {exc}"
                log(f"[red]generation stopped at chunk {chunk.start}: {error}[/red]")
                break
            timings.append(
                {
                    "first": chunk.start,
                    "samples": len(chunk),
                    "seconds": round(time.perf_counter() - start, 3),
                }
            )
    made = {t["first"] for t in timings}
    return {
        "chunks": timings,
        "stopped_by_budget": stopped,
        "error": error,
        "not_made": [[c.start, c.stop - 1] for c in chunks if c.start not in made],
    }


def _setup(config, device):
    from spinlock_core.stages.build import GenerationSetup

    return GenerationSetup.from_config(config, device)


def run_workers(args, chunks: list[range], parts_dir: Path, deadline: float | None) -> list[dict]:
    """One generation process per GPU (``CUDA_VISIBLE_DEVICES``), chunks dealt round-robin."""
    import torch

    if torch.cuda.is_available() and args.gpus > torch.cuda.device_count():
        raise SystemExit(f"--gpus {args.gpus} but this machine has {torch.cuda.device_count()} GPU(s)")
    procs = []
    for r in range(args.gpus):
        plan = parts_dir.parent / f"plan-{r}.json"
        mine = [[c.start, c.stop] for c in chunks[r :: args.gpus]]
        plan.write_text(json.dumps({"rank": r, "chunks": mine, "deadline": deadline}))
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(r)}
        cmd = [sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--worker-plan", str(plan)]
        procs.append((r, plan, subprocess.Popen(cmd, env=env)))
    reports = []
    for r, plan, proc in procs:
        code = proc.wait()
        result = plan.with_suffix(".result.json")
        if code != 0 or not result.is_file():
            log(
                f"[yellow]generation worker {r} exited with {code}; its finished chunks are still used[/yellow]"
            )
            reports.append(
                {
                    "rank": r,
                    "exit_code": code,
                    "chunks": [],
                    "stopped_by_budget": False,
                    "error": f"worker exited with code {code}",
                    "not_made": [],
                }
            )
            continue
        reports.append({"rank": r, "exit_code": code, **json.loads(result.read_text())})
    return reports


def worker_main(args) -> None:
    """A generation worker started by :func:`run_workers` (quiet unless it is rank 0)."""
    from spinlock_core.console import set_verbosity
    from spinlock_core.device import select_device

    plan = json.loads(Path(args.worker_plan).read_text())
    if plan["rank"]:
        set_verbosity(-1)
    config = compose_config(args)
    setup = _setup(config, select_device(config.core.device))  # "cuda" is the one GPU it sees
    chunks = [range(a, b) for a, b in plan["chunks"]]
    report = generate_chunks(
        setup, chunks, Path(args.worker_plan).parent / "parts", plan["deadline"], f"(worker {plan['rank']})"
    )
    Path(args.worker_plan).with_suffix(".result.json").write_text(json.dumps(report))


def check_work_dir(work: Path, fingerprint: str, config) -> Path:
    """``work/parts``, after checking that parts already there were made by this very config."""
    stamp = work / "generation.json"
    if stamp.is_file():
        old = json.loads(stamp.read_text())["fingerprint"]
        if old != fingerprint:
            raise SystemExit(
                f"{work} holds parts made with another generation config (fingerprint {old}, this one "
                f"{fingerprint}); pass another --work or delete {work}"
            )
    work.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "config": config.to_yaml()}))
    return work / "parts"


def generate(args, config, fingerprint: str, have: set[int]) -> dict:
    """Make the samples of ``[0, n_samples)`` that neither ``have`` nor the parts hold yet."""
    from spinlock_core.device import device_string, select_device
    from spinlock_core.stages.generate import chunks_for
    from spinlock_core.storage import completed_indices

    gen = config.section("generate")
    parts = check_work_dir(Path(args.work), fingerprint, config)
    done = completed_indices(parts) | have
    chunks = chunks_for(range(args.n_samples), gen.chunk_size, done)
    budget = args.time_budget_minutes
    deadline = time.time() + 60 * budget if budget is not None else None
    todo = sum(len(c) for c in chunks)
    log(f"generate: {todo} samples to make, {len(done & set(range(args.n_samples)))} already made ({parts})")
    start = time.perf_counter()
    if not chunks:
        reports, device = [], select_device(config.core.device)
    elif args.gpus > 1:
        reports, device = run_workers(args, chunks, parts, deadline), select_device(config.core.device)
    else:
        device = select_device(config.core.device)
        reports = [{"rank": 0, **generate_chunks(_setup(config, device), chunks, parts, deadline, "")}]
    seconds = time.perf_counter() - start
    timings = [t for r in reports for t in r["chunks"]]
    made = sum(t["samples"] for t in timings)
    warm = [t for r in reports for t in r["chunks"][1:]] or timings
    per_sample = sum(t["seconds"] for t in warm) / max(1, sum(t["samples"] for t in warm))
    return {
        "device": device_string(device),
        "gpus": args.gpus,
        "parts_dir": str(parts),
        "time_budget_minutes": budget,
        "wall_seconds": round(seconds, 1),
        "samples_made_this_call": made,
        "samples_per_second_wall": round(made / seconds, 4) if seconds > 0 and made else None,
        "seconds_per_sample_per_gpu": round(per_sample, 4) if timings else None,
        "stopped_by_budget": any(r["stopped_by_budget"] for r in reports),
        "errors": [r["error"] for r in reports if r.get("error")],
        "not_made": [c for r in reports for c in r["not_made"]],
        "workers": reports,
    }


def cost_per_sample(setup, index: np.ndarray, seconds_per_sample: float | None) -> dict:
    """What one sample costs: operator FLOPs for ``realizations x steps`` rollouts, and time."""
    gen = setup.cfg
    derived = setup.operator.derived_columns({k: v[index] for k, v in setup.theta.items()}, setup.grid)
    out = {
        "realizations": setup.realizations,
        "steps": gen.steps,
        "rollout_steps_per_sample": setup.realizations * gen.steps,
        "why": "a sample is realizations x steps operator steps; the four inline feature families cost "
        "~0.025 s per sample on an H100 (docs/benchmarks.md), ~2% of the present generation time",
    }
    if "flops_per_step" in derived and len(index):
        tflop = (
            np.asarray(derived["flops_per_step"], dtype=np.float64) * gen.steps * setup.realizations / 1e12
        )
        out["tflop_per_sample_mean"] = float(f"{tflop.mean():.4g}")
        out["tflop_per_sample_p90"] = float(f"{np.percentile(tflop, 90):.4g}")
    if seconds_per_sample:
        out["seconds_per_sample_per_gpu"] = round(seconds_per_sample, 4)
        out["minutes_for_4096_per_gpu"] = round(4096 * seconds_per_sample / 60, 1)
    return out


def cost_probe(args, config, n: int) -> list[dict]:
    """Seconds per sample of the first ``n`` design samples as configured, with 1 realization,
    with a quarter of the steps, and with no inline features: what a sample's cost is made of.

    Each variant runs twice on the same samples and the second run is timed (the first pays
    for compilation and cuDNN plans). Nothing is stored.
    """
    import torch

    from spinlock_core.config import compose
    from spinlock_core.device import select_device
    from spinlock_core.stages.build import simulate

    gen = config.section("generate")
    variants = {
        "as configured": [],
        "realizations=1": ["generate.realizations=1"],
        f"steps={max(1, gen.steps // 4)}": [f"generate.steps={max(1, gen.steps // 4)}"],
        "no inline features": ["features=[]"],
    }
    device = select_device(config.core.device)
    rows = np.arange(min(n, gen.n_samples))
    out = []
    for name, extra in variants.items():
        try:
            over = [*_base_overrides(args), f"generate.chunk_size={gen.chunk_size}", *args.override, *extra]
            setup = _setup(compose(over), device)
            theta = {k: v[rows] for k, v in setup.theta.items()}
            for _ in range(2):
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                start = time.perf_counter()
                simulate(setup, rows, theta)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                seconds = time.perf_counter() - start
            out.append(
                {
                    "variant": name,
                    "samples": len(rows),
                    "realizations": setup.realizations,
                    "steps": setup.cfg.steps,
                    "seconds_per_sample": round(seconds / len(rows), 4),
                }
            )
        except Exception as exc:  # one variant must not lose the others
            out.append({"variant": name, "error": f"{type(exc).__name__}: {exc}"})
        log(f"cost probe: {out[-1]}")
    return out


# --------------------------------------------------------------------------- feature tables


def read_parts(parts: Path, wanted: range, families: dict) -> dict | None:
    """The per-sample tables, status and unit θ of the part files holding indices in ``wanted``."""
    import h5py

    files = sorted(parts.glob("part-*.h5")) if parts.is_dir() else []
    pieces = []
    for path in files:
        with h5py.File(path, "r") as f:
            index = f["index"][...]
            keep = (index >= wanted.start) & (index < wanted.stop)
            if not keep.any():
                continue
            pieces.append(
                {
                    "index": index[keep],
                    "status": f["samples/status"][...][keep],
                    "tables": {name: f[f"features/{name}"][...][keep] for name in families},
                }
            )
    return _concat_tables(pieces) if pieces else None


def _concat_tables(pieces: list[dict]) -> dict:
    out = {
        "index": np.concatenate([p["index"] for p in pieces]),
        "status": np.concatenate([p["status"] for p in pieces]),
        "tables": {k: np.concatenate([p["tables"][k] for p in pieces]) for k in pieces[0]["tables"]},
    }
    order = np.argsort(out["index"], kind="stable")
    _, first = np.unique(out["index"][order], return_index=True)
    keep = order[first]  # sorted by index, the first copy of any index kept
    return {
        "index": out["index"][keep],
        "status": out["status"][keep],
        "tables": {k: v[keep] for k, v in out["tables"].items()},
    }


def write_features(path: Path, data: dict, manifests: dict, attrs: dict) -> Path:
    """``features.h5`` in the ``features`` stage's layout (``index`` and one group per family, so
    ``spinlock_core.stages.tokenizer.feature_table`` reads it). The status of every sample that is
    not ``ok`` is the root attribute ``status_not_ok`` (JSON ``{index: code}``); θ is not stored:
    it is row ``index`` of the Sobol design that the stored config and fingerprint name."""
    import h5py

    from spinlock_core.storage import temporary_name

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    bad = np.flatnonzero(data["status"] != 0)
    with h5py.File(tmp, "w") as f:
        f.create_dataset("index", data=data["index"])
        f.attrs["status_not_ok"] = json.dumps({int(data["index"][i]): int(data["status"][i]) for i in bad})
        for name, table in data["tables"].items():
            g = f.create_group(name)
            g.create_dataset("table", data=table.astype(np.float32), compression="gzip", shuffle=True)
            g.attrs["columns"] = json.dumps(manifests[name])
            nan = np.isnan(table).sum(0)
            g.attrs["nan_counts"] = json.dumps(
                {c["name"]: int(k) for c, k in zip(manifests[name], nan, strict=True)}
            )
        for key, value in attrs.items():
            f.attrs[key] = value
    os.replace(tmp, path)
    return path


def read_features(paths: list[Path]) -> tuple[dict, dict, dict]:
    """``(data, manifests, attrs)`` of one or more ``features.h5`` made by this script.

    Every file must come from the same generation config (same fingerprint) and hold the same
    columns; an index held twice is the same sample and is kept once.
    """
    import h5py

    pieces, manifests, attrs, prints = [], None, None, set()
    for path in paths:
        with h5py.File(path, "r") as f:
            if "status_not_ok" not in f.attrs or "generation_fingerprint" not in f.attrs:
                raise SystemExit(
                    f"{path} is not a features.h5 written by benchmarks/tokenizer_cno.py (no status or "
                    f"generation fingerprint); train on it with `spinlock run stage=tokenizer` instead"
                )
            families = [k for k in f if k != "index"]
            index = f["index"][...]
            status = np.zeros(len(index), np.int8)
            pos = {int(i): j for j, i in enumerate(index)}
            for i, code in json.loads(f.attrs["status_not_ok"]).items():
                status[pos[int(i)]] = code
            mans = {k: json.loads(f[k].attrs["columns"]) for k in families}
            if manifests is not None and mans != manifests:
                raise SystemExit(
                    f"{path} holds other feature columns than {paths[0]}; tables cannot be joined"
                )
            manifests, attrs = mans, dict(f.attrs)
            prints.add(f.attrs["generation_fingerprint"])
            pieces.append(
                {
                    "index": index,
                    "status": status,
                    "tables": {k: f[k]["table"][...] for k in families},
                }
            )
    if len(prints) > 1:
        raise SystemExit(
            f"the tables {[str(p) for p in paths]} come from different generation configs {prints}"
        )
    return _concat_tables(pieces), manifests, attrs


def training_table(data: dict, manifests: dict) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``(table, columns, index)`` the tokenizers see: per-sample families side by side, sorted by
    family as the tokenizer stage orders them, failed samples (no features at all) dropped."""
    from spinlock_core.storage import STATUS

    ok = data["status"] != STATUS["failed"]
    tables, names = [], []
    for family in sorted(data["tables"]):
        tables.append(data["tables"][family][ok])
        names += [f"{family}/{c['name']}" for c in manifests[family]]
    return np.concatenate(tables, axis=1), names, data["index"][ok]


# --------------------------------------------------------------------------- models and metrics


def param_count(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def flat_hidden_width(target_params: int, n_columns: int, latent: int) -> int:
    """Hidden width h whose two 3-layer MLPs (``D->h->h->d`` and back) hold ``target_params``.

    Parameters: ``2h^2 + h(2D + 2d + 4) + D + d``; the positive root, rounded, at least 8.
    """
    a, b, c = 2.0, 2.0 * n_columns + 2.0 * latent + 4.0, float(n_columns + latent - target_params)
    h = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return max(8, int(round(h)))


def flat_config(cat_tok, base_cfg):
    """The flat one-codebook config: one pinned category of every kept column, one level, K codes."""
    import attrs as attrs_

    from spinlock_vqvae.model import default_latent_dim

    names = cat_tok.feature_names
    k_total = cat_tok.vocabulary_size
    latent = default_latent_dim(len(names), base_cfg)
    hidden = flat_hidden_width(param_count(cat_tok.model), len(names), latent)
    cfg = attrs_.evolve(
        base_cfg, categories={"all": tuple(names)}, levels=1, codebook_size=k_total, hidden_dim=hidden
    )
    return cfg, {"codes": k_total, "hidden_dim": hidden, "latent_dim": latent}


def codebook_stats(codes: np.ndarray, k: int) -> dict:
    """Use of one codebook by the test codes: utilization, perplexity, dead codes, and the
    utilization V uniform draws would give (the ceiling a test set of V rows allows)."""
    hist = np.bincount(codes, minlength=k).astype(np.float64)
    used = int((hist > 0).sum())
    p = hist[hist > 0] / hist.sum()
    v = len(codes)
    return {
        "codes": k,
        "used": used,
        "utilization": used / k,
        "perplexity": float(np.exp(-(p * np.log(p)).sum())),
        "dead": k - used,
        "uniform_utilization": 1 - (1 - 1 / k) ** v,
    }


def reconstruction_stats(recon: np.ndarray, x: np.ndarray, groups: dict[str, list[int]]) -> dict:
    """quality = clamp(1 - MSE, 0, 1), MSE, R^2 overall and per column group (SST about val means)."""

    def r2(idx):
        t = x[:, idx]
        sst = float(((t - t.mean(0)) ** 2).sum())
        return 1 - float(((recon[:, idx] - t) ** 2).sum()) / sst if sst > 0 else float("nan")

    mse = float(((recon - x) ** 2).mean())
    per = {name: r2(idx) for name, idx in groups.items()}
    vals = [v for v in per.values() if math.isfinite(v)]
    return {
        "quality": min(1.0, max(0.0, 1 - mse)),
        "mse": mse,
        "r2_overall": r2(list(range(x.shape[1]))),
        "r2_by_category": per,
        "r2_category_min": min(vals) if vals else None,
        "r2_category_mean": float(np.mean(vals)) if vals else None,
    }


def topo_rows(n_val: int, cfg) -> np.ndarray:
    """The test subsample the plugin's ``evaluate`` uses for topographic similarity."""
    import torch

    from spinlock_core.seeding import generator_for

    n = min(cfg.topo_samples, n_val)
    return torch.randperm(n_val, generator=generator_for(cfg.seed, 0, "tokenizer/topo"))[:n].numpy()


def summarize(name, recon, x_val, groups, codebooks, emb, tokens, rows, extra) -> dict:
    """One model's row: the same metrics, computed the same way, for every model."""
    from spinlock_vqvae.metrics import topographic_similarity

    stats = [codebook_stats(c, k) for c, k in codebooks]
    topo, topo_h = topographic_similarity(x_val[rows].astype(np.float64), emb.astype(np.float64), tokens)
    ks = [s["codes"] for s in stats]
    return {
        "model": name,
        **reconstruction_stats(recon, x_val, groups),
        "codebooks": len(stats),
        "total_codes": int(sum(ks)),
        "tokens_per_sample": len(stats),
        "bits_per_sample": float(sum(math.log2(k) for k in ks)),
        "utilization_mean": float(np.mean([s["utilization"] for s in stats])),
        "uniform_utilization_mean": float(np.mean([s["uniform_utilization"] for s in stats])),
        "perplexity_mean": float(np.mean([s["perplexity"] for s in stats])),
        "dead_codes": int(sum(s["dead"] for s in stats)),
        "topographic": topo,
        "topographic_hamming": topo_h,
        "per_codebook": stats,
        **extra,
    }


def vqvae_row(name: str, tok, table, columns, val_rows, groups, rows, seconds, extra) -> dict:
    """Row of a fitted ``CategoricalVQVAE`` (categorical or flat), from its codes of the test rows."""
    import torch

    codes = tok.encode(table[val_rows], columns)
    recon = tok.decode(codes).numpy()
    x_val = tok.scale(table[val_rows], columns).numpy()
    with torch.no_grad():
        dev = next(tok.model.parameters()).device
        emb = torch.cat(tok.model.quantized_from_codes(codes[rows].to(dev)), dim=1).float().cpu().numpy()
    sizes = [k for row in tok.codebook_sizes for k in row]
    c = codes.numpy()
    final = tok.metrics.get("final") or {}
    return summarize(
        name,
        recon,
        x_val,
        groups,
        [(c[:, j], k) for j, k in enumerate(sizes)],
        emb,
        c[rows],
        rows,
        {
            "parameters": param_count(tok.model),
            "fit_seconds": round(seconds, 1),
            "epochs_run": tok.metrics.get("epochs_run"),
            "best_epoch": tok.metrics.get("best_epoch"),
            "quality_by_level": final.get("quality_by_level"),
            "restarts": final.get("restarts"),
            "plugin_final_metrics": final,
            **extra,
        },
    )


def pca_kmeans(x_train: np.ndarray, x_val: np.ndarray, k: int, variance: float, seed: int) -> dict:
    """The tokenizer's own PCA + k-means baseline (``spinlock_vqvae.metrics.fit_pca_kmeans``).

    Returns the test codes, the centroids in PCA space, the reconstruction (centroid mapped
    back) and what was chosen.
    """
    from spinlock_vqvae.metrics import fit_pca_kmeans

    fit = fit_pca_kmeans(x_train, k, seed, variance)
    codes = fit.codes(x_val)
    return {
        "codes": codes,
        "centroids": fit.centroids,
        "recon": fit.reconstruct(codes),
        "components": fit.components,
        "explained_variance": fit.explained_variance,
        "k": fit.k,
    }


# --------------------------------------------------------------------------- report


def markdown_table(rows: list[dict]) -> str:
    head = (
        "| model | codebooks | codes | bits/sample | quality | R² overall | R² per category min / mean | "
        "utilization (uniform-use ceiling) | perplexity | dead / total | topographic (Hamming) | fit |"
    )
    lines = [head, "|" + "---|" * 12]

    def f(v, d=3):
        return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{d}f}"

    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | failed: {r['error'][:120]} |" + " |" * 10)
            continue
        lines.append(
            f"| {r['model']} | {r['codebooks']} | {r['total_codes']} | {r['bits_per_sample']:.1f} | "
            f"{f(r['quality'], 4)} | {f(r['r2_overall'])} | {f(r['r2_category_min'])} / {f(r['r2_category_mean'])} | "
            f"{100 * r['utilization_mean']:.1f}% ({100 * r['uniform_utilization_mean']:.1f}%) | "
            f"{f(r['perplexity_mean'], 1)} | {r['dead_codes']} / {r['total_codes']} | "
            f"{f(r['topographic'])} ({f(r['topographic_hamming'])}) | {r.get('fit_seconds', 'n/a')} s |"
        )
    return "\n".join(lines)


def goals(row: dict, n_test: int) -> dict:
    """Issue #22's goals for the categorical tokenizer, checked on its row (test rows)."""
    if "error" in row:
        return {"met": False, "why": row["error"]}
    return {
        "quality_at_least_0.99": row["quality"] >= 0.99,
        "mean_utilization_at_least_80pct": row["utilization_mean"] >= 0.80,
        "uniform_use_ceiling_of_utilization": row["uniform_utilization_mean"],
        "test_rows": n_test,
        "topographic_reported": row["topographic"] is not None,
    }


def fit_all(args, config, table, columns, work: Path, out: Path) -> tuple[list[dict], dict]:
    """Fit the three models on one split; every model in its own try so one failure keeps the rest."""
    from spinlock_core.device import device_string
    from spinlock_vqvae import CategoricalVQVAE, write_dashboards

    base = config.sections.get("tokenizer")
    rows, info = [], {}
    t0 = time.perf_counter()
    try:
        cat = CategoricalVQVAE().fit(table, columns, base)
    except Exception as exc:  # the baselines take their split and code budget from it
        log(f"[red]categorical_vqvae failed: {type(exc).__name__}: {exc}[/red]")
        why = f"{type(exc).__name__}: {exc}"
        rows = [{"model": "categorical_vqvae", "error": why}]
        rows += [
            {"model": m, "error": "not run: needs categorical_vqvae's split and code budget"}
            for m in ("flat_vqvae", "pca_kmeans")
        ]
        return rows, {"error": why}
    cat_seconds = time.perf_counter() - t0
    cat.save(work / "categorical_vqvae.pt")
    train_rows = cat._split["train"].numpy()
    # Every figure is measured on the test rows: neither training nor early stopping saw them.
    val_rows = cat._split["test"].numpy()
    names = cat.feature_names
    pos = {c: i for i, c in enumerate(names)}
    groups = {k: [pos[c] for c in v] for k, v in cat.category_map.items()}
    trows = topo_rows(len(val_rows), base)
    x_all = cat.scale(table, columns).numpy()
    info = {
        "train_rows": len(train_rows),
        "test_rows": len(val_rows),
        "split": "categorical_vqvae's seeded split by sample (the same rows for every model)",
        "raw_columns": len(columns),
        "kept_columns": len(names),
        "dropped_columns": cat.metrics.get("dropped_columns"),
        "categories": {k: len(v) for k, v in cat.category_map.items()},
        "category_report": cat.category_report,
        "codebook_sizes": cat.codebook_sizes,
        "tokenizer_config": base.to_dict(),
        "device": device_string(next(cat.model.parameters()).device),
    }
    rows.append(vqvae_row("categorical_vqvae", cat, table, columns, val_rows, groups, trows, cat_seconds, {}))
    if args.dashboards:
        try:
            dash = work / "dashboards"
            write_dashboards(cat, dash)
            for name in args.dashboards:
                shutil.copy(dash / f"{name}.png", out / f"{name}.png")
        except Exception as exc:  # a figure must not lose the numbers
            log(f"[yellow]dashboards failed: {type(exc).__name__}: {exc}[/yellow]")
    try:
        cfg, chosen = flat_config(cat, base)
        t0 = time.perf_counter()
        flat = CategoricalVQVAE().fit(table, columns, cfg)
        seconds = time.perf_counter() - t0
        same_split = np.array_equal(flat._split["test"].numpy(), val_rows)
        if flat.feature_names != names or not same_split:
            raise RuntimeError("flat VQ-VAE did not get the categorical model's preprocessing and split")
        extra = {"configuration": chosen, "capacity_matched_to_parameters": param_count(cat.model)}
        if chosen["codes"] > len(train_rows):
            extra["note"] = f"K={chosen['codes']} codes for {len(train_rows)} training rows"
        rows.append(vqvae_row("flat_vqvae", flat, table, columns, val_rows, groups, trows, seconds, extra))
    except Exception as exc:
        log(f"[red]flat_vqvae failed: {type(exc).__name__}: {exc}[/red]")
        rows.append({"model": "flat_vqvae", "error": f"{type(exc).__name__}: {exc}"})
    try:
        k = cat.vocabulary_size
        t0 = time.perf_counter()
        pk = pca_kmeans(x_all[train_rows], x_all[val_rows], k, args.pca_variance, base.seed)
        seconds = time.perf_counter() - t0
        extra = {
            "fit_seconds": round(seconds, 1),
            "pca_components": pk["components"],
            "pca_explained_variance_train": pk["explained_variance"],
            "pca_variance_target": args.pca_variance,
            "codes_requested": k,
            "codes_capped_to_training_rows": pk["k"] < k,
        }
        rows.append(
            summarize(
                "pca_kmeans",
                pk["recon"],
                x_all[val_rows],
                groups,
                [(pk["codes"], pk["k"])],
                pk["centroids"][pk["codes"][trows]],
                pk["codes"][trows][:, None],
                trows,
                extra,
            )
        )
    except Exception as exc:
        log(f"[red]pca_kmeans failed: {type(exc).__name__}: {exc}[/red]")
        rows.append({"model": "pca_kmeans", "error": f"{type(exc).__name__}: {exc}"})
    return rows, info


# --------------------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--out", type=Path, required=True, help="folder for results.json, table.md, features.h5, PNGs"
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=None,
        help="generation parts and checkpoints (default runs/tokenizer_cno/<fingerprint>)",
    )
    ap.add_argument("--scale", default="production", help="size preset of generation and tokenizer")
    ap.add_argument("--n-samples", type=int, default=4096, help="make samples [0, n) of the design")
    ap.add_argument(
        "--design-samples", type=int, default=None, help="Sobol design size (default: max(n-samples, 4096))"
    )
    ap.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="samples per resumable chunk (default: generate.batch_size)",
    )
    ap.add_argument(
        "--time-budget-minutes",
        type=float,
        default=None,
        help="stop generating before a chunk that would end later",
    )
    ap.add_argument("--gpus", type=int, default=1, help="generation workers, one per GPU")
    ap.add_argument(
        "--features-h5", type=Path, nargs="+", default=None, help="reuse these tables (no generation)"
    )
    ap.add_argument(
        "--extend", action="store_true", help="with --features-h5: also make the samples they lack"
    )
    ap.add_argument("--generate-only", action="store_true", help="write features.h5 and stop")
    ap.add_argument(
        "--cost-probe",
        type=int,
        default=0,
        metavar="N",
        help="first time N samples as configured, with 1 realization, 1/4 of the steps, no features",
    )
    ap.add_argument("--epochs", type=int, default=None, help="tokenizer.epochs (both VQ-VAEs)")
    ap.add_argument("--val-fraction", type=float, default=None, help="tokenizer.val_fraction")
    ap.add_argument("--pca-variance", type=float, default=0.99, help="training variance the PCA keeps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--override", nargs="*", default=[], help="more config overrides, e.g. tokenizer.lr=3e-4")
    ap.add_argument(
        "--dashboards",
        nargs="*",
        default=["training_curves", "utilization", "reconstruction", "feature_category"],
        help="which tokenizer dashboards to copy into --out",
    )
    ap.add_argument("--tiny", action="store_true", help="CPU smoke test: scale=small, 32 samples")
    ap.add_argument("--worker-plan", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.tiny:
        args.scale = TINY["scale"]
        args.n_samples = TINY["n_samples"]
        args.design_samples = args.design_samples or TINY["design_samples"]
        args.val_fraction = args.val_fraction or TINY["val_fraction"]
    args.design_samples = args.design_samples or max(args.n_samples, ISSUE_SPEC["n_samples"])
    if args.n_samples > args.design_samples:
        ap.error(f"--n-samples {args.n_samples} exceeds --design-samples {args.design_samples}")
    if args.extend and not args.features_h5:
        ap.error("--extend grows tables given with --features-h5")
    if len(args.dashboards) + 3 > 8:
        ap.error("at most 8 files come back from the GPU machine: ask for at most 5 dashboards")
    return args


def per_sample_manifests(setup) -> dict:
    """Column manifests of the enabled per-sample families (what the tokenizers read)."""
    families = [n for n, f in setup.families.items() if f.scope != "timestep"]
    return {n: m for n, m in setup.feature_columns().items() if n in families}


def load_data(args, config, fingerprint: str, setup) -> tuple[dict, dict, dict]:
    """``(data, manifests, provenance)``: the tables given, grown or made as the options say.

    ``setup`` is a callable giving the (CPU) generation setup, built only when it is needed.
    """
    data, made_with, made_yaml, sources, generation = None, fingerprint, config.to_yaml(), [], None
    manifests = None
    if args.features_h5:
        data, manifests, attrs = read_features(args.features_h5)
        made_with, made_yaml = attrs["generation_fingerprint"], attrs.get("config", "")
        sources = [str(p) for p in args.features_h5]
        if args.extend and made_with != fingerprint:
            raise SystemExit(
                f"--extend: {args.features_h5[0]} was made with generation fingerprint {made_with}, these "
                f"options give {fingerprint}; pass the options it was made with"
            )
    if not args.features_h5 or args.extend:
        have = set(data["index"].tolist()) if data is not None else set()
        generation = generate(args, config, fingerprint, have)
        manifests = manifests or per_sample_manifests(setup())
        fresh = read_parts(Path(generation["parts_dir"]), range(args.n_samples), manifests)
        pieces = [d for d in (data, fresh) if d is not None]
        if not pieces:
            raise SystemExit("no sample was finished within the time budget; raise --time-budget-minutes")
        data = _concat_tables(pieces)
        sources.append(generation["parts_dir"])
    provenance = {"sources": sources, "fingerprint": made_with, "config": made_yaml, "generation": generation}
    return data, manifests, provenance


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args.worker_plan:
        worker_main(args)
        return None
    import torch

    from spinlock_core.config._yaml import load_yaml
    from spinlock_core.storage import STATUS

    config = compose_config(args)
    fingerprint = generation_fingerprint(config)
    args.work = Path(args.work or Path("runs/tokenizer_cno") / fingerprint)
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    cache = {}

    def setup():  # column manifests, θ and FLOP counts only: nothing runs on it
        if "setup" not in cache:
            cache["setup"] = _setup(config, "cpu")
        return cache["setup"]

    probe = cost_probe(args, config, args.cost_probe) if args.cost_probe else None
    data, manifests, made = load_data(args, config, fingerprint, setup)
    generated_here = made["fingerprint"] == fingerprint
    features_path = write_features(
        args.work / "features.h5",
        data,
        manifests,
        {
            "config": made["config"],
            "generation_fingerprint": made["fingerprint"],
            "written_by": "benchmarks/tokenizer_cno.py",
            "note": PER_SAMPLE_FAMILIES_ONLY,
        },
    )
    if features_path.stat().st_size < MAX_FILE_BYTES:
        shutil.copy(features_path, args.out / "features.h5")
    table, columns, index = training_table(data, manifests)
    generation = made["generation"]
    made_config = load_yaml(made["config"]) if made["config"] else {}
    timed = generation["seconds_per_sample_per_gpu"] if generation else None
    report = {
        "benchmark": "tokenizer_cno (issue #9)",
        "torch": torch.__version__,
        "command": " ".join(sys.argv),
        "data": {
            "sources": made["sources"],
            "generation_fingerprint": made["fingerprint"],
            "options_match_the_table": generated_here,
            "scale": args.scale,
            "design_samples": args.design_samples,
            "requested_samples": args.n_samples,
            "samples_in_table": int(len(data["index"])),
            "samples_used": int(len(index)),
            "status": {name: int((data["status"] == code).sum()) for name, code in STATUS.items()},
            "index_ranges": index_ranges(data["index"]),
            "generate_config": made_config.get("generate"),
            "operator": made_config.get("operator"),
            "stored_families": sorted(manifests),
            "spec_deviations": spec_deviations(made_config, int(len(index))),
            "generation_this_call": generation,
            "cost_per_sample": cost_per_sample(setup(), data["index"], timed) if generated_here else None,
            "cost_probe": probe,
        },
    }
    (args.out / "results.json").write_text(json.dumps(plain(report), indent=2))
    log(f"features: {len(index)} samples x {len(columns)} columns -> {features_path}")
    if args.generate_only:
        return report
    rows, info = fit_all(args, config, table, columns, args.work, args.out)
    report["split"] = info
    report["models"] = {r["model"]: r for r in rows}
    report["goals"] = goals(rows[0], info.get("test_rows"))
    table_md = markdown_table(rows)
    report["table_markdown"] = table_md
    if "error" in info:
        head = f"{len(index)} CNO samples ({args.scale} scale); categorical_vqvae failed: {info['error']}\n"
    else:
        head = (
            f"{len(index)} CNO samples ({args.scale} scale), {info['train_rows']} train / "
            f"{info['test_rows']} test rows, {info['kept_columns']} scaled features in "
            f"{len(info['categories'])} categories; tokenizers trained on {info['device']}.\n"
        )
    if generation and (generation["stopped_by_budget"] or generation["errors"]):
        why = "the time budget" if generation["stopped_by_budget"] else "; ".join(generation["errors"])
        head += f"Generation was stopped by {why}: {len(index)} of {args.n_samples} requested samples.\n"
    deviations = report["data"]["spec_deviations"]
    if deviations:
        head += "Differs from the issue's specification: " + "; ".join(deviations) + ".\n"
    (args.out / "table.md").write_text(head + "\n" + table_md + "\n")
    (args.out / "results.json").write_text(json.dumps(plain(report), indent=2))
    print(head + "\n" + table_md)
    return report


if __name__ == "__main__":
    main()
