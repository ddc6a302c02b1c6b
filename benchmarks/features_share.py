"""The inline feature families' share of generation time at production shape (issue #17 point 6).

One production-shaped batch (64², 256 states, 5 realizations, 3 channels, ``--samples`` samples):

* **rollout**: the real CNO of ``scale=production`` (the first ``--samples`` θ of the Sobol
  sample) built and rolled out by ``simulate_states`` for 1 and for ``1 + --steps`` steps; the
  difference gives seconds per step, the rest is build + ICs, and the full 255-step rollout is
  extrapolated from them (a CPU cannot roll out 255 production steps in a benchmark's time).
* **features**: each family's ``extract`` on synthetic trajectories of the same shape (the ICs
  plus a random walk, as ``benchmarks/generate.py --only features``), every family on a batch
  of its own, then all four on one ``FeatureBatch`` as the generate stage calls them
  (``extract_guarded``), where SUMMARY and TEMPORAL share their per-state statistics.

share = features / (rollout + features). Results are appended, under ``--label``, to the JSON
file ``--out``::

    OMP_NUM_THREADS=1 python benchmarks/features_share.py --label after
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np
import torch

from spinlock_core.config import compose
from spinlock_core.interfaces import FeatureBatch
from spinlock_core.stages.build import GenerationSetup, simulate_states
from spinlock_core.stages.features import extract_guarded

OUT = Path(__file__).parent / "results" / "2026-12-05-cpu-features-share.json"


def _setup(samples: int, steps: int, device) -> GenerationSetup:
    overrides = [
        "stage=generate",
        "scale=production",
        f"generate.n_samples={samples}",
        f"generate.batch_size={samples}",
        f"generate.steps={steps}",
        f"device={device.type}",
    ]
    return GenerationSetup.from_config(compose(overrides), device)


def _timed(fn, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def rollout_seconds(samples: int, steps: int, full_steps: int, device) -> dict:
    """Build + ICs + steps of the real CNO, timed at 1 and 1 + ``steps`` steps, extrapolated."""
    figures = {}
    rows = np.arange(samples)
    for n in (1, 1 + steps):
        setup = _setup(samples, n, device)
        theta = {k: v[rows] for k, v in setup.theta.items()}
        figures[n] = _timed(lambda s=setup, th=theta: simulate_states(s, rows, th))
    per_step = (figures[1 + steps] - figures[1]) / steps
    fixed = figures[1] - per_step
    return {
        "timed_steps": [1, 1 + steps],
        "timed_seconds": [round(figures[1], 3), round(figures[1 + steps], 3)],
        "seconds_per_step": round(per_step, 4),
        "build_and_ics_seconds": round(fixed, 3),
        "full_steps": full_steps,
        "seconds": round(fixed + per_step * full_steps, 2),
    }


def feature_batch(setup: GenerationSetup, samples: int, states: int) -> FeatureBatch:
    """Synthetic trajectories ``[B, M, T, 3, 64, 64]``: the ICs plus a random walk."""
    rows = np.arange(samples)
    theta = {k: v[rows] for k, v in setup.theta.items()}
    gen = torch.Generator().manual_seed(0)
    _, u0 = setup.ics.sample(0, rows, 3, setup.grid, setup.device, torch.float32, theta=theta)
    m = setup.realizations
    walk = torch.randn(samples, m, states, 3, *setup.grid.shape, generator=gen).cumsum(2) * 0.05
    return FeatureBatch(
        domain=setup.info,
        theta=theta,
        u0=u0,
        trajectories=walk + u0[:, None, None],
        time=torch.arange(states, dtype=torch.float32) * setup.info.dt,
        derived=setup.operator.derived_columns(theta, setup.grid),
    )


def _fresh(batch: FeatureBatch) -> FeatureBatch:
    """The same batch with an empty per-batch cache (where ``FeatureBatch`` has one)."""
    fields = attrs.fields_dict(FeatureBatch)
    return attrs.evolve(batch, shared={}) if "shared" in fields else attrs.evolve(batch)


def feature_seconds(setup: GenerationSetup, batch: FeatureBatch, repeats: int) -> dict:
    """Each family on a batch of its own, then all on one batch (the generate stage's call)."""
    alone = {}
    for name, family in setup.families.items():
        alone[name] = round(_timed(lambda f=family: f.extract(_fresh(batch)), repeats), 3)
    together = _timed(lambda: extract_guarded(setup.families, _fresh(batch)), repeats)
    return {"alone": alone, "alone_total": round(sum(alone.values()), 3), "together": round(together, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--label", required=True, help="name of this measurement (e.g. before, after)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--steps", type=int, default=2, help="extra rollout steps timed (extrapolated)")
    parser.add_argument("--repeats", type=int, default=2, help="best of N for the features")
    parser.add_argument("--skip-rollout", action="store_true", help="reuse the rollout of an earlier label")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    device = torch.device("cpu")
    setup = _setup(args.samples, 255, device)
    states = setup.cfg.steps + 1
    runs = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    record = {
        "label": args.label,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": f"cpu ({platform.processor() or platform.machine()})",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "shape": {
            "samples": args.samples,
            "realizations": setup.realizations,
            "states": states,
            "channels": 3,
            "grid": list(setup.grid.shape),
        },
        "trajectories": "synthetic: ICs + 0.05 * cumulative sum of N(0, 1) over time",
    }
    if args.skip_rollout and runs:
        record["rollout"] = {**runs[-1]["rollout"], "from_label": runs[-1]["label"]}
    else:
        record["rollout"] = rollout_seconds(args.samples, args.steps, setup.cfg.steps, device)
    feats = feature_seconds(setup, feature_batch(setup, args.samples, states), args.repeats)
    record["features_seconds"] = feats
    roll = record["rollout"]["seconds"]
    record["share"] = {
        "alone": round(feats["alone_total"] / (roll + feats["alone_total"]), 4),
        "together": round(feats["together"] / (roll + feats["together"]), 4),
    }
    runs = [r for r in runs if r["label"] != args.label] + [record]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "features_share", "runs": runs}, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
