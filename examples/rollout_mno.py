"""Roll out a trained MNO from (θ, u0) and compare it with the operator's own trajectory.

    python examples/rollout_mno.py --tiny

Trains the MNO on a tiny dataset first (`spinlock run stage=mno`; skipped when it is already
trained with the same config), then loads the checkpoint with `load_mno` (weights only; the
backbone is rebuilt through its plugin from the config saved in the checkpoint), rolls it out
from a stored sample's initial condition and θ, and prints the relative L2 error per step next
to the persistence baseline u(t) = u0. A PNG of true vs predicted states is written next to it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from spinlock_core.config import compose
from spinlock_core.mno.validate import load_mno
from spinlock_core.params import ParameterSpace
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


@torch.no_grad()
def rollout(model, u0: torch.Tensor, theta: dict, steps: int, mean, std, history: int) -> torch.Tensor:
    """``[B, steps + 1, C, H, W]`` in physical units: the model steps normalised fields."""
    mu = torch.as_tensor(mean, dtype=torch.float32)[None, :, None, None]
    sd = torch.as_tensor(std, dtype=torch.float32)[None, :, None, None]
    u = (u0 - mu) / sd
    state, channels, states = torch.cat([u] * history, dim=1), u.shape[1], [u]
    for _ in range(steps):
        nxt = model(state, theta, None).float()
        states.append(nxt)
        state = torch.cat([state[:, channels:], nxt], dim=1)  # keep the last `history` states
    return torch.stack(states, dim=1) * sd[:, None] + mu[:, None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/examples"))
    parser.add_argument("--tiny", action="store_true", help="1 epoch on 8 tiny samples: seconds on a CPU")
    parser.add_argument("--sample", type=int, default=0, help="Which stored sample to roll out.")
    args = parser.parse_args()

    overrides = ["domain=reaction_diffusion", "stage=mno", "device=cpu", f"run.dir={args.run_dir}"]
    tiny = [*TINY, "mno.epochs=1", "mno.batch_size=4", "mno.eval_figures=0"] if args.tiny else []
    Runner(compose(overrides + tiny)).run()

    with Dataset(args.run_dir / "dataset") as ds:
        if ds.read("samples/status", [args.sample])[0] != STATUS["ok"]:
            raise SystemExit(f"sample {args.sample} did not simulate cleanly; pick another with --sample")
        space = ParameterSpace.from_description(json.loads(ds.attrs["parameter_space"]))
        truth = torch.as_tensor(ds.read("trajectories", [args.sample])[0, 0])  # [T, C, H, W], the IC first
        theta_row = ds.read("theta/values", [args.sample])
    model, meta, mean, std = load_mno(args.run_dir / "mno" / "model.pt", "cpu", space)
    theta = {
        k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in space.from_matrix(theta_row).items()
    }
    history = meta["config"]["mno"]["history"]
    pred = rollout(model, truth[None, 0], theta, truth.shape[0] - 1, mean, std, history)[0]

    def rel_l2(a, b):
        return float((a - b).norm() / b.norm())

    print(f"MNO {meta['name']} after {meta['epoch']} epoch(s), sample {args.sample}:")
    print("step  MNO rel. L2  persistence")
    for t in range(1, truth.shape[0]):
        print(f"{t:>4}  {rel_l2(pred[t], truth[t]):>11.4f}  {rel_l2(truth[0], truth[t]):>11.4f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = np.unique(np.linspace(0, truth.shape[0] - 1, min(4, truth.shape[0])).round().astype(int))
    fig, axes = plt.subplots(2, len(times), figsize=(2.2 * len(times), 4.4), squeeze=False)
    lo, hi = float(truth[:, 0].min()), float(truth[:, 0].max())
    for col, t in enumerate(times):
        for row, (field, label) in enumerate(((truth, "true"), (pred, "MNO"))):
            axes[row, col].imshow(field[t, 0].numpy(), vmin=lo, vmax=hi, cmap="viridis")
            axes[row, col].set(xticks=[], yticks=[], title=f"{label}, t = {t}")
    out = args.run_dir / "example_rollout.png"
    fig.savefig(out, dpi=80)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
