"""Generate a dataset with the Python API, then read it back with the storage reader.

    python examples/generate_and_load.py --tiny            # seconds on a CPU
    python examples/generate_and_load.py --run-dir runs/my # the small default (scale=small)

The same as `spinlock run stage=generate`, from Python: compose a config (group selections and
dotted overrides, as on the command line), run the stage with the Runner (it skips the stage
when the dataset is already there and was made with the same config), and open the dataset
with `spinlock_core.storage.Dataset`, which joins the shards and addresses samples by index.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from spinlock_core.config import compose
from spinlock_core.runner import Runner
from spinlock_core.storage import STATUS, Dataset

#: Tiny sizes, the same in every example so that they share one dataset.
TINY = [
    "generate.n_samples=8",
    "generate.grid=16",
    "generate.steps=4",
    "generate.realizations=1",
    "features=[initial,architecture,summary]",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/examples"))
    parser.add_argument("--tiny", action="store_true", help="8 samples of 16x16, 4 steps: seconds on a CPU")
    args = parser.parse_args()

    overrides = ["domain=reaction_diffusion", "operator=cno", "stage=generate", f"run.dir={args.run_dir}"]
    config = compose(overrides + (TINY if args.tiny else []))
    Runner(config).run()

    with Dataset(args.run_dir / "dataset") as ds:
        space = json.loads(ds.attrs["parameter_space"])
        status = ds.read("samples/status")
        theta = ds.read("theta/values")  # [N, D] decoded θ; categoricals as the index of the choice
        print(
            f"{len(ds)} samples of {ds.attrs['domain']}/{ds.attrs['operator']}, channels {ds.attrs['channels']}"
        )
        print("status:", {name: int((status == code).sum()) for name, code in STATUS.items()})
        for j, p in enumerate(space[:4]):
            first = theta[:3, j]
            shown = (
                [p["choices"][int(v)] for v in first]
                if p["kind"] == "categorical"
                else first.round(4).tolist()
            )
            print(f"  θ {p['name']:<16} {p['kind']:<12} first samples: {shown}")
        trajectory = ds.read("trajectories", [0])[0]  # [M, T, C, H, W] of sample 0
        print(f"sample 0: trajectory {list(trajectory.shape)}, IC type {ds.read('samples/ic_type', [0])[0]}")
        rms = np.sqrt((trajectory[0].astype(np.float64) ** 2).mean(axis=(1, 2, 3)))
        print(f"sample 0, realization 0: spatial RMS over time {np.round(rms, 4).tolist()}")
        inline = [name for name in ds.array_names() if name.startswith("features/")]
        print(f"inline feature tables: {', '.join(f'{n} {list(ds.shape(n))}' for n in inline)}")


if __name__ == "__main__":
    main()
