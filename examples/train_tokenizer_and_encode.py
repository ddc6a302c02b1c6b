"""Train a tokenizer on one run's feature tables, then encode the features of another run.

    python examples/train_tokenizer_and_encode.py --tiny

Two datasets of the same operator family with different seeds (so different θ and ICs): the
tokenizer is fitted on the first run's per-sample feature table and saved; a second run is
made and its features are encoded with the saved tokenizer, decoded back, and compared.
`spinlock run stage=tokenizer` does the fitting step (plus dashboards) from the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from spinlock_core.config import compose
from spinlock_core.runner import Runner
from spinlock_core.stages.tokenizer import feature_table
from spinlock_vqvae import CategoricalVQVAE, CategoricalVQVAEConfig

#: Tiny sizes, the same in every example so that they share one dataset.
TINY = [
    "generate.n_samples=8",
    "generate.grid=16",
    "generate.steps=4",
    "generate.realizations=1",
    "features=[initial,architecture,summary]",
]


def features_of(run_dir: Path, seed: int, tiny: bool) -> tuple[np.ndarray, list[str]]:
    """Make (or reuse) a run's feature tables; ``(table [N, D], column names)``."""
    overrides = ["domain=reaction_diffusion", "stage=features", f"seed={seed}", f"run.dir={run_dir}"]
    Runner(compose(overrides + (TINY if tiny else []))).run()
    return feature_table(run_dir / "features" / "features.h5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/examples"))
    parser.add_argument("--tiny", action="store_true", help="8 samples, 3 epochs: seconds on a CPU")
    args = parser.parse_args()

    table, columns = features_of(args.run_dir, seed=0, tiny=args.tiny)
    config = CategoricalVQVAEConfig(epochs=3 if args.tiny else 100, device="cpu")
    tokenizer = CategoricalVQVAE().fit(table, columns, config)
    path = tokenizer.save(args.run_dir / "example_tokenizer" / "model.pt")
    print(
        f"fitted on {table.shape[0]} samples x {table.shape[1]} columns -> {len(tokenizer.category_map)} categories"
    )
    print(f"saved {path}; final metrics: quality {tokenizer.metrics['final']['quality']:.3f}")

    new_table, new_columns = features_of(
        args.run_dir.with_name(args.run_dir.name + "_seed1"), seed=1, tiny=args.tiny
    )
    tokenizer = CategoricalVQVAE.load(path, device="cpu")
    tokens = tokenizer.encode(new_table, new_columns)  # [N, categories x levels], ids local to each codebook
    print(f"encoded {tokens.shape[0]} new samples into {tokens.shape[1]} tokens each; sample 0:")
    for name, token in list(zip(tokenizer.token_names, tokens[0].tolist(), strict=True))[:6]:
        print(f"  {name:<28} {token}")
    scaled = tokenizer.scale(new_table, new_columns)  # the tokenizer's own preprocessing
    decoded = tokenizer.decode(tokens)
    mse = float(((decoded - scaled) ** 2).mean())
    print(f"reconstruction MSE of the new samples (scaled features): {mse:.4f}")


if __name__ == "__main__":
    main()
