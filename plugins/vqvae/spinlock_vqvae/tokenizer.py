"""The public tokenizer object: ``CategoricalVQVAE``.

``fit`` splits rows (seeded), fits the preprocessing on the training rows, discovers (or pins)
categories, builds the model and trains it; ``encode`` maps a *raw* feature table to tokens
``[N, categories x levels]`` (category-major, local ids per codebook) by replaying the saved
preprocessing; ``decode`` maps tokens to scaled features; ``save``/``load`` go through the core's
pickle-free checkpoint, with everything (preprocessing, category map, model spec, config,
metrics, and the training state for resume) as plain values and tensors.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import torch

from spinlock_core.api import (
    CheckpointError,
    CodebookLayout,
    CodebookTokenizer,
    DatasetError,
    Tokenizer,
    generator_for,
    load_checkpoint,
    save_checkpoint,
)

from .categories import adjusted_rand_index, discover_categories, pinned_categories
from .config import CategoricalVQVAEConfig
from .metrics import evaluate, pca_kmeans_baseline
from .model import CategoricalRVQ, build_spec
from .preprocessing import Preprocessor, as_numpy, spearman_matrix
from .train import Trainer

__all__ = ["CategoricalVQVAE", "FORMAT"]

#: Layout of the checkpoint ``state`` written by :meth:`CategoricalVQVAE.save`.
FORMAT = "categorical_vqvae/1"


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DatasetError("tokenizer.device is 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return torch.device(name)


def split_rows(n: int, config, operators=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded (train, validation, test) row indices, each sorted, split by operator.

    ``operators[i]`` names the operator of row ``i`` (default: one operator per row, as in
    ``features.h5``, whose rows are samples with their realizations aggregated); all rows of an
    operator land on the same side. Validation gets ``round(val_fraction * operators)`` operators,
    test ``round(test_fraction * operators)``, both at least one; training keeps the rest.
    """
    operators = np.arange(n) if operators is None else np.asarray(operators)
    if operators.shape != (n,):
        raise DatasetError(f"operators must give one id per row ({n}), got shape {operators.shape}")
    ids, inverse = np.unique(operators, return_inverse=True)
    g = len(ids)
    n_val = max(1, round(config.val_fraction * g))
    n_test = max(1, round(config.test_fraction * g))
    if g - n_val - n_test < 2:
        raise DatasetError(
            f"tokenizer needs at least 2 training operators after holding out {n_val} for validation and "
            f"{n_test} for testing (tokenizer.val_fraction={config.val_fraction}, "
            f"tokenizer.test_fraction={config.test_fraction}), but the table has {g} operators; "
            f"generate more samples or lower the fractions"
        )
    perm = torch.randperm(g, generator=generator_for(config.seed, 0, "tokenizer/split")).numpy()
    side = np.zeros(g, dtype=np.int8)  # 0 train, 1 validation, 2 test
    side[perm[:n_val]] = 1
    side[perm[n_val : n_val + n_test]] = 2
    row_side = side[inverse]
    return tuple(np.flatnonzero(row_side == k) for k in (0, 1, 2))


class CategoricalVQVAE(Tokenizer, CodebookTokenizer):
    """Categorical residual VQ-VAE tokenizer of feature tables (a
    :class:`spinlock_core.interfaces.Tokenizer`, with the optional codebook members of
    :class:`~spinlock_core.interfaces.CodebookTokenizer` that ``compare-codebooks`` reads)."""

    name = "categorical_vqvae"

    def __init__(self, config: CategoricalVQVAEConfig | None = None):
        self.config = config or CategoricalVQVAEConfig()
        self.preprocessor: Preprocessor | None = None
        self.model: CategoricalRVQ | None = None
        self._categories: dict[str, list[str]] = {}
        self.category_report: dict = {}
        self.metrics: dict = {}
        self._training: dict | None = None
        self._split: dict | None = None
        self._baselines: dict | None = None
        self._stability: dict | None = None

    # ------------------------------------------------------------------ fit
    def fit(
        self, table, columns, config=None, *, checkpoint=None, resume=False, stop_after=None, operators=None
    ):
        """Fit on a raw table ``[N, D]`` with column names; returns ``self``.

        Rows are split into training, validation (early stopping, best-epoch choice) and test
        (only the reported ``metrics["final"]``) by operator: ``operators`` gives each row's
        operator id (default: one per row).

        ``checkpoint``: path written after every epoch (and at the end). ``resume``: continue from
        it when it exists (preprocessing, categories and split come from the checkpoint).
        ``stop_after``: stop once this many epochs are done, as an interruption would.
        """
        if config is not None:
            self.config = config
        cfg = self.config
        x = as_numpy(table)
        columns = [str(c) for c in columns]
        device = _device(cfg.device)
        ckpt = Path(checkpoint) if checkpoint is not None else None
        state = None
        if resume and ckpt is not None and ckpt.is_file():
            state, _ = load_checkpoint(ckpt)
            self._restore(state)
            if state["split"]["n_rows"] != x.shape[0]:
                raise CheckpointError(
                    f"{ckpt}: checkpoint was fit on {state['split']['n_rows']} rows, table has {x.shape[0]}"
                )
            if "test" not in state["split"]:
                raise CheckpointError(
                    f"{ckpt}: checkpoint predates the test split; fit afresh without resume"
                )
            train_rows, val_rows, test_rows = (state["split"][k].numpy() for k in ("train", "val", "test"))
        else:
            train_rows, val_rows, test_rows = split_rows(x.shape[0], cfg, operators)
            gen = generator_for(cfg.seed, 0, "tokenizer/correlation")
            corr_rows = np.sort(
                train_rows[torch.randperm(len(train_rows), generator=gen).numpy()[: cfg.correlation_rows]]
            )
            self.preprocessor = Preprocessor.fit(x, columns, train_rows, corr_rows, cfg)
            scaled = self.preprocessor.transform(x[corr_rows], columns)
            names = self.preprocessor.output_columns
            absr = np.abs(spearman_matrix(scaled)) if len(names) > 1 else np.ones((1, 1))
            if cfg.categories is not None:
                self._categories, self.category_report = pinned_categories(
                    cfg.categories, names, absr, self.preprocessor.dropped
                )
            else:
                self._categories, self.category_report = discover_categories(names, absr, cfg)
            pos = {c: i for i, c in enumerate(names)}
            groups = [[pos[c] for c in cols] for cols in self._categories.values()]
            self.model = CategoricalRVQ(
                build_spec(groups, len(names), cfg, len(train_rows)),
                generator_for(cfg.seed, 0, "tokenizer/init"),
            )
        self._split = {
            "n_rows": int(x.shape[0]),
            "train": torch.as_tensor(train_rows),
            "val": torch.as_tensor(val_rows),
            "test": torch.as_tensor(test_rows),
            "by": "operator" if operators is not None else "row (one operator per row)",
        }
        xs = torch.from_numpy(self.preprocessor.transform(x, columns))
        self.model.to(device)
        trainer = Trainer(self.model, xs[train_rows], xs[val_rows], cfg, device)
        if state is not None and state.get("training") is not None:
            trainer.load_state_dict(state["training"])

        def save_progress(tr: Trainer) -> None:
            self._training = tr.state_dict()
            self._collect_metrics(tr, final=None)
            if ckpt is not None:
                self.save(ckpt)

        trainer.run(stop_after=stop_after, on_epoch_end=save_progress)
        self._training = trainer.state_dict()
        final = evaluate(self.model, xs[test_rows], cfg, device) if trainer.finished else None
        if final is not None:
            final["rows"] = len(test_rows)
            self._baselines = {
                "pca_kmeans": pca_kmeans_baseline(
                    xs[train_rows].numpy(), xs[test_rows].numpy(), self.vocabulary_size, cfg.seed
                )
            }
            if cfg.categories is None:
                self._stability = self._category_stability(x, columns, operators)
        self._collect_metrics(trainer, final)
        if ckpt is not None:
            self.save(ckpt)
        return self

    def _discover(self, x: np.ndarray, columns: list[str], train_rows: np.ndarray, cfg):
        """Categories discovered from a seeded subsample of ``train_rows`` (scaled by the preprocessor)."""
        gen = generator_for(cfg.seed, 0, "tokenizer/correlation")
        corr_rows = np.sort(
            train_rows[torch.randperm(len(train_rows), generator=gen).numpy()[: cfg.correlation_rows]]
        )
        names = self.preprocessor.output_columns
        scaled = self.preprocessor.transform(x[corr_rows], columns)
        absr = np.abs(spearman_matrix(scaled)) if len(names) > 1 else np.ones((1, 1))
        return discover_categories(names, absr, cfg)[0]

    def _category_stability(self, x: np.ndarray, columns: list[str], operators) -> dict:
        """Agreement (adjusted Rand index) of this fit's categories with those another seed discovers.

        The other seed draws its own split and correlation subsample; the preprocessing stays this
        fit's, so both partition the same columns.
        """
        other = attrs.evolve(self.config, seed=self.config.seed + 1)
        train_rows = split_rows(x.shape[0], other, operators)[0]
        alt = self._discover(x, columns, train_rows, other)
        label = {c: i for i, cols in enumerate(self._categories.values()) for c in cols}
        label_alt = {c: i for i, cols in enumerate(alt.values()) for c in cols}
        names = self.preprocessor.output_columns
        return {
            "seeds": [self.config.seed, other.seed],
            "categories": [len(self._categories), len(alt)],
            "adjusted_rand_index": adjusted_rand_index(
                [label[c] for c in names], [label_alt[c] for c in names]
            ),
        }

    def _collect_metrics(self, trainer: Trainer, final: dict | None) -> None:
        self.metrics = {
            "final": final,
            "evaluated_on": "test rows (never used for training, early stopping or the best epoch)",
            "split_sizes": {k: len(self._split[k]) for k in ("train", "val", "test")},
            "baselines": self._baselines,
            "category_stability": self._stability,
            "history": trainer.history,
            "best_epoch": trainer.best_epoch,
            "epochs_run": trainer.epoch,
            "stopped_early": trainer.stopped_early,
            "finished": trainer.finished,
            "categories": self.category_report,
            "dropped_columns": dict(self.preprocessor.dropped),
        }

    # ------------------------------------------------------------- tokens
    def _require_fit(self) -> None:
        if self.model is None or self.preprocessor is None:
            raise DatasetError("this tokenizer is not fit; call fit(...) or CategoricalVQVAE.load(path)")

    @property
    def category_map(self) -> dict[str, list[str]]:
        """Category name -> its (preprocessed) columns, in token order."""
        return {k: list(v) for k, v in self._categories.items()}

    @property
    def feature_names(self) -> list[str]:
        """Names of the scaled features that ``decode`` returns, in order."""
        self._require_fit()
        return list(self.preprocessor.output_columns)

    @property
    def codebook_sizes(self) -> list[list[int]]:
        """``[category][level]`` codes per codebook."""
        self._require_fit()
        return [list(k) for k in self.model.spec["codebook_sizes"]]

    @property
    def token_names(self) -> list[str]:
        """Name of each token position: ``<category>/L<level>``."""
        return [f"{c}/L{lvl}" for c in self._categories for lvl in range(self.model.levels)]

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct global token ids."""
        return int(sum(sum(k) for k in self.codebook_sizes))

    def global_ids(self, tokens: torch.Tensor) -> torch.Tensor:
        """Local ids ``[N, C*L]`` -> ids unique across codebooks (offset by earlier codebooks' sizes)."""
        sizes = torch.tensor([k for row in self.codebook_sizes for k in row], dtype=torch.long)
        offsets = torch.cumsum(sizes, 0) - sizes
        return torch.as_tensor(tokens, dtype=torch.long) + offsets.to(tokens.device)

    def scale(self, table, columns=None) -> torch.Tensor:
        """The preprocessed (scaled) features of a raw table, exactly as the model sees them."""
        self._require_fit()
        return torch.from_numpy(self.preprocessor.transform(table, columns))

    @torch.no_grad()
    def encode(self, table, columns=None) -> torch.Tensor:
        """Tokens ``[N, C*L]`` (long, local ids, category-major) of a raw feature table."""
        xs = self.scale(table, columns)
        dev = next(self.model.parameters()).device
        self.model.eval()
        bs = self.config.batch_size
        return torch.cat([self.model(xs[s : s + bs].to(dev))["codes"].cpu() for s in range(0, len(xs), bs)])

    @torch.no_grad()
    def decode(self, tokens, levels: int | None = None) -> torch.Tensor:
        """Scaled features ``[N, D']`` from tokens; ``levels`` decodes only the first (coarse) levels."""
        self._require_fit()
        tokens = torch.as_tensor(tokens, dtype=torch.long)
        expected = self.model.n_categories * self.model.levels
        if tokens.ndim != 2 or tokens.shape[1] != expected:
            raise DatasetError(f"tokens must be [N, {expected}], got {tuple(tokens.shape)}")
        dev = next(self.model.parameters()).device
        self.model.eval()
        bs = self.config.batch_size
        out = [
            self.model.decode_codes(tokens[s : s + bs].to(dev), upto=levels).float().cpu()
            for s in range(0, len(tokens), bs)
        ]
        return torch.cat(out)

    def reconstruct(self, table, columns=None, raw: bool = False) -> torch.Tensor:
        """``decode(encode(table))``; scaled features, or raw units when ``raw``."""
        rec = self.decode(self.encode(table, columns))
        return torch.from_numpy(self.preprocessor.unscale(rec)) if raw else rec

    # ----------------------------------------------- codebooks (CodebookTokenizer)
    def codebooks(self) -> CodebookLayout:
        """Categories, ``[category][level]`` codebook sizes and the columns each category decodes."""
        self._require_fit()
        pre, out = self.preprocessor, list(self.preprocessor.output_columns)
        return CodebookLayout(
            categories=list(self._categories),
            sizes=self.codebook_sizes,
            input_columns=pre.input_columns,
            output_columns=out,
            category_columns=[
                [out[j] for j in self.model.group(i).tolist()] for i in range(len(self._categories))
            ],
            neutral=dict(zip(pre.input_columns, pre.state["impute"], strict=True)),
        )

    @torch.no_grad()
    def prototypes(self, level: int, usage) -> torch.Tensor:
        """Scaled prototypes ``[codes of level, D']``, category-major.

        The prototype of code ``k`` of category ``c`` at ``level``: the latent
        ``e_level[k] + sum_{l != level} m_l`` decoded by category ``c``'s decoder, where ``m_l`` is
        the usage-weighted mean code of level ``l`` (``usage``: ``[category][level]`` code counts).
        So a level-0 code is decoded on top of the *mean* refinement of the finer levels, and a
        residual code on top of the *mean* coarse code (not of zero, a latent the decoder never
        sees): "a typical sample carrying this code". Columns of the other categories sit at their
        own decoded mean latent, so a prototype differs from that background only in its own
        category's columns."""
        self._require_fit()
        model = self.model.eval()
        books = [[cb.embedding for cb in vq.levels] for vq in model.quantizers]
        means = [
            [
                torch.as_tensor(np.asarray(u) / max(float(np.sum(u)), 1.0), dtype=e.dtype, device=e.device)
                @ e
                for u, e in zip(uses, embs, strict=True)
            ]
            for uses, embs in zip(usage, books, strict=True)
        ]
        background = [sum(m) for m in means]  # each category's mean latent, all levels
        base = torch.zeros(len(self.preprocessor.output_columns), device=books[0][0].device)
        for i, dec in enumerate(model.decoders):
            base[model.group(i)] = dec(background[i][None])[0]
        rows = []
        for i, dec in enumerate(model.decoders):
            latents = background[i] - means[i][level] + books[i][level]  # [K, d]
            block = base.repeat(len(latents), 1)
            block[:, model.group(i)] = dec(latents)
            rows.append(block)
        return torch.cat(rows).double().cpu()

    def unscale(self, scaled) -> np.ndarray:
        """Scaled output columns back to raw units (the preprocessing undone)."""
        self._require_fit()
        return self.preprocessor.unscale(scaled)

    @torch.no_grad()
    def column_weights(self, category: int) -> np.ndarray:
        """Per column of the category (its ``category_columns``, in order): the L2 norm of its
        weights in the first layer of the category's encoder."""
        self._require_fit()
        first = self.model.encoders[category][0]
        return first.weight.detach().double().norm(dim=0).cpu().numpy()

    def describe(self) -> str:
        """Readable category map with sizes and codebooks (for ``spinlock inspect``)."""
        lines = [f"categorical_vqvae: {len(self._categories)} categories x {self.model.levels} levels"]
        for (name, cols), sizes in zip(self._categories.items(), self.codebook_sizes, strict=True):
            lines.append(f"  {name} ({len(cols)} columns, codes per level {sizes}):")
            lines.extend(f"    {c}" for c in cols)
        return "\n".join(lines)

    # ------------------------------------------------------------ persist
    def state(self) -> dict:
        """The plain checkpoint ``state`` of this tokenizer."""
        self._require_fit()
        return {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "preprocessing": self.preprocessor.state,
            "categories": self.category_map,
            "category_report": self.category_report,
            "spec": self.model.spec,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "metrics": self.metrics,
            "training": self._training,
            "split": self._split,
        }

    def save(self, path) -> Path:
        """Write a ``weights_only``-loadable checkpoint (and its JSON sidecar) to ``path``."""
        final = (self.metrics or {}).get("final") or {}
        summary = {
            k: final.get(k)
            for k in (
                "quality",
                "mse",
                "r2_overall",
                "utilization_mean",
                "perplexity_mean",
                "dead_codes",
                "total_codes",
                "topographic",
            )
        }
        if final:
            summary["test_rows"] = final.get("rows")
        base = ((self.metrics or {}).get("baselines") or {}).get("pca_kmeans") or {}
        for key, name in (
            ("r2_overall", "pca_kmeans_r2_overall"),
            ("utilization", "pca_kmeans_utilization"),
            ("codes", "pca_kmeans_codes"),
            ("pca_r2_overall", "pca_only_r2_overall"),
        ):
            if key in base:
                summary[name] = base[key]
        stability = (self.metrics or {}).get("category_stability") or {}
        if "adjusted_rand_index" in stability:
            summary["category_seed_agreement_ari"] = stability["adjusted_rand_index"]
        meta = {"kind": "tokenizer", "name": self.name, "config": self.config.to_dict(), "metrics": summary}
        return save_checkpoint(Path(path), self.state(), meta, notify=False)

    def _restore(self, state: dict) -> None:
        if state.get("format") != FORMAT:
            raise CheckpointError(f"not a {FORMAT} checkpoint (format {state.get('format')!r})")
        self.config = CategoricalVQVAEConfig.from_dict(state["config"])
        self.preprocessor = Preprocessor(state["preprocessing"])
        self._categories = {k: list(v) for k, v in state["categories"].items()}
        self.category_report = state["category_report"]
        self.model = CategoricalRVQ(state["spec"], torch.Generator().manual_seed(0))
        self.model.load_state_dict(state["model"])
        self.metrics = state["metrics"]
        self._training = state["training"]
        self._split = state["split"]

    @classmethod
    def load(cls, path, device: str | None = None) -> CategoricalVQVAE:
        """A tokenizer from a checkpoint written by :meth:`save`, on ``device`` (default: config's)."""
        state, _ = load_checkpoint(path)
        tok = cls()
        tok._restore(state)
        tok.model.to(_device(device or tok.config.device))
        tok.model.eval()
        return tok
