"""What the alignment needs from a tokenizer, and its adapter for ``categorical_vqvae``.

A :class:`CodebookView` exposes a trained tokenizer as codebooks ``(category, level)`` of
codes, each with a feature-space **prototype**, plus encode/decode of raw feature tables.

Prototype of code ``k`` of category ``c`` at level ``l`` (``categorical_vqvae``): the latent
``e_l[k] + sum_{l' != l} m_l'`` decoded by category ``c``'s decoder, where ``m_l'`` is the
usage-weighted mean code of level ``l'`` (weights: how often each code is used on the run's
own feature table). So a level-0 code is decoded on top of the *mean* refinement of the finer
levels, and a residual code on top of the *mean* coarse code (not of zero, which is not a
latent the decoder ever sees): the prototype is "a typical sample carrying this code". Columns
of the other categories sit at their own decoded mean latent, so a prototype differs from the
background only in its category's columns. Prototypes are returned in raw feature units
(the tokenizer's scaling undone).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import torch

from spinlock_core.api import CheckpointError, PluginError, load_tokenizer

__all__ = ["CodebookView", "Code", "load_view", "SUPPORTED"]

#: Tokenizer plugins this analysis has an adapter for (checked on the loaded tokenizer's
#: internals, not its name: a tokenizer with the same codebook layout works too).
SUPPORTED = ("categorical_vqvae",)
MISSING_SUFFIX = "#missing"


@attrs.frozen
class Code:
    """One code: its category (name and index), level and index in that codebook."""

    category: str
    category_index: int
    level: int
    index: int

    @property
    def label(self) -> str:
        return f"{self.category}/L{self.level}/{self.index}"


class CodebookView:
    """A ``categorical_vqvae`` tokenizer seen as codebooks with prototypes, on the CPU."""

    def __init__(self, tokenizer):
        if not hasattr(tokenizer, "model") or not hasattr(tokenizer.model, "quantizers"):
            raise PluginError(
                f"codebook_alignment has no adapter for {type(tokenizer).__name__}; "
                f"supported tokenizers: {', '.join(SUPPORTED)}"
            )
        self.tokenizer = tokenizer
        self.model = tokenizer.model.to("cpu").eval()
        self.pre = tokenizer.preprocessor

    # ----------------------------------------------------------------- layout
    @property
    def categories(self) -> list[str]:
        return list(self.tokenizer.category_map)

    @property
    def levels(self) -> int:
        return int(self.model.levels)

    @property
    def sizes(self) -> list[list[int]]:
        """``[category][level]`` codes per codebook."""
        return self.tokenizer.codebook_sizes

    @property
    def input_columns(self) -> list[str]:
        """Raw columns the tokenizer reads."""
        return list(self.pre.input_columns)

    @property
    def output_columns(self) -> list[str]:
        """Columns its decoder reconstructs (missing indicators end in ``#missing``)."""
        return list(self.pre.output_columns)

    def category_columns(self, i: int) -> list[str]:
        out = self.output_columns
        return [out[j] for j in self.model.group(i).tolist()]

    def codes(self, level: int) -> list[Code]:
        """The codes of ``level``, category-major (the row order of :meth:`prototypes`)."""
        return [
            Code(name, i, level, k)
            for i, name in enumerate(self.categories)
            for k in range(self.sizes[i][level])
        ]

    def column(self, category: int, level: int) -> int:
        """Position of codebook ``(category, level)`` in a token row."""
        return category * self.levels + level

    # ------------------------------------------------------------- encode/decode
    def neutral(self) -> dict[str, float]:
        """Raw value per input column that the preprocessing maps to its training median
        without flagging it missing: what an absent column is set to."""
        return dict(zip(self.input_columns, self.pre.state["impute"], strict=True))

    @torch.no_grad()
    def scale(self, raw: np.ndarray) -> np.ndarray:
        """What the model sees: the preprocessed ``[N, len(output_columns)]`` of a raw table
        holding exactly :attr:`input_columns`, in order."""
        return self.pre.transform(raw, self.input_columns)

    @torch.no_grad()
    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Tokens ``[N, C*L]`` (local ids, category-major) of a raw table of :attr:`input_columns`.

        The whole table in one forward pass: the model is per-sample (no batch statistics)."""
        return self.model(torch.from_numpy(self.scale(raw)))["codes"].numpy()

    @torch.no_grad()
    def decode_scaled(self, tokens: np.ndarray) -> np.ndarray:
        """The tokenizer's scaled reconstruction ``[N, len(output_columns)]`` of tokens."""
        return self.model.decode_codes(torch.as_tensor(tokens, dtype=torch.long)).double().numpy()

    def unscale(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled output columns back to raw units."""
        return self.pre.unscale(scaled)

    def usage(self, tokens: np.ndarray) -> list[list[np.ndarray]]:
        """``[category][level]`` code counts in ``tokens``."""
        return [
            [
                np.bincount(tokens[:, self.column(i, lvl)], minlength=k).astype(np.float64)
                for lvl, k in enumerate(row)
            ]
            for i, row in enumerate(self.sizes)
        ]

    # ---------------------------------------------------------------- prototypes
    @torch.no_grad()
    def prototypes(self, usage: list[list[np.ndarray]], level: int) -> np.ndarray:
        """Raw-unit prototypes ``[codes of level, len(output_columns)]`` (see the module doc)."""
        books = [[cb.embedding for cb in vq.levels] for vq in self.model.quantizers]
        means = [
            [
                torch.as_tensor(u / max(u.sum(), 1.0), dtype=e.dtype) @ e
                for u, e in zip(uses, embs, strict=True)
            ]
            for uses, embs in zip(usage, books, strict=True)
        ]
        background = [sum(m) for m in means]  # each category's mean latent, all levels
        base = torch.zeros(len(self.output_columns))
        for i, dec in enumerate(self.model.decoders):
            base[self.model.group(i)] = dec(background[i][None])[0]
        rows = []
        for i, dec in enumerate(self.model.decoders):
            latents = background[i] - means[i][level] + books[i][level]  # [K, d]
            block = base.repeat(len(latents), 1)
            block[:, self.model.group(i)] = dec(latents)
            rows.append(block)
        return self.unscale(torch.cat(rows).double().numpy())


def load_view(run_dir: Path) -> CodebookView:
    """The tokenizer of a run directory (``tokenizer/model.pt``) as a :class:`CodebookView`."""
    path = Path(run_dir) / "tokenizer" / "model.pt"
    if not path.is_file():
        raise CheckpointError(
            f"no tokenizer in {run_dir} (looked for {path}); run `spinlock run run.dir={run_dir}` "
            f"with the tokenizer stage in its pipeline"
        )
    # any Tokenizer loads; CodebookView then says whether it has an adapter for it
    return CodebookView(load_tokenizer(path, device="cpu"))
