"""What the alignment needs from a tokenizer, and the view it reads it through.

A :class:`CodebookView` exposes a trained tokenizer as codebooks ``(category, level)`` of
codes, each with a feature-space **prototype**, plus encode/decode of raw feature tables. It
reads the tokenizer only through its interface: :class:`spinlock_core.api.Tokenizer`
(``scale``, ``encode``, ``decode``) and the optional members of
:class:`spinlock_core.api.CodebookTokenizer` (``codebooks``: the layout of categories, levels
and columns; ``prototypes``: what each code stands for in feature space; ``unscale``). Any
tokenizer that provides them can be compared; ``categorical_vqvae`` does (its prototypes: a
code's latent on top of the usage-weighted mean codes of the other levels, decoded; see
:meth:`spinlock_vqvae.CategoricalVQVAE.prototypes`). Prototypes are returned in raw feature
units (the tokenizer's scaling undone).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np

from spinlock_core.api import CheckpointError, CodebookTokenizer, PluginError, load_tokenizer

__all__ = ["CodebookView", "Code", "load_view", "SUPPORTED", "REQUIRED"]

#: Tokenizer plugins known to provide what the analysis reads (any other that does works too).
SUPPORTED = ("categorical_vqvae",)
#: What a tokenizer must provide: members of the ``Tokenizer`` interface the view calls, then
#: every member of the optional ``CodebookTokenizer`` interface.
REQUIRED = ("name", "scale", "encode", "decode", *sorted(CodebookTokenizer.__abstractmethods__))
MISSING_SUFFIX = "#missing"


def _missing(tokenizer) -> list[str]:
    """The members of :data:`REQUIRED` that ``tokenizer`` lacks (or leaves abstract)."""
    return [
        m
        for m in REQUIRED
        if getattr(tokenizer, m, None) is None
        or getattr(getattr(tokenizer, m), "__isabstractmethod__", False)
    ]


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
    """A codebook tokenizer (see the module doc) seen as codebooks with prototypes, on the CPU."""

    def __init__(self, tokenizer):
        missing = _missing(tokenizer)
        if missing:
            raise PluginError(
                f"codebook_alignment has no adapter for {type(tokenizer).__name__}; supported tokenizers: "
                f"{', '.join(SUPPORTED)}, or any tokenizer with the members {', '.join(REQUIRED)} "
                f"(spinlock_core.api.Tokenizer and CodebookTokenizer); missing: {', '.join(missing)}"
            )
        self.tokenizer = tokenizer
        self.layout = tokenizer.codebooks()

    # ----------------------------------------------------------------- layout
    @property
    def categories(self) -> list[str]:
        return list(self.layout.categories)

    @property
    def levels(self) -> int:
        return self.layout.levels

    @property
    def sizes(self) -> list[list[int]]:
        """``[category][level]`` codes per codebook."""
        return [list(row) for row in self.layout.sizes]

    @property
    def input_columns(self) -> list[str]:
        """Raw columns the tokenizer reads."""
        return list(self.layout.input_columns)

    @property
    def output_columns(self) -> list[str]:
        """Columns its decoder reconstructs (missing indicators end in ``#missing``)."""
        return list(self.layout.output_columns)

    def category_columns(self, i: int) -> list[str]:
        return list(self.layout.category_columns[i])

    def top_columns(self, i: int) -> list[tuple[str, float]]:
        """Category ``i``'s columns with their weights, strongest first (the tokenizer's optional
        ``column_weights``; without it the layout's order, weights NaN)."""
        columns = self.category_columns(i)
        weights = getattr(self.tokenizer, "column_weights", None)
        weights = weights(i) if weights is not None else None
        if weights is None:
            return [(c, float("nan")) for c in columns]
        w = _numpy(weights).astype(np.float64)
        return [(columns[j], float(w[j])) for j in np.argsort(-w, kind="stable")]

    def codes(self, level: int) -> list[Code]:
        """The codes of ``level``, category-major (the row order of :meth:`prototypes`)."""
        return [
            Code(name, i, level, k)
            for i, name in enumerate(self.categories)
            for k in range(self.sizes[i][level])
        ]

    def column(self, category: int, level: int) -> int:
        """Position of codebook ``(category, level)`` in a token row."""
        return self.layout.token_column(category, level)

    # ------------------------------------------------------------- encode/decode
    def neutral(self) -> dict[str, float]:
        """Raw value per input column that the preprocessing maps to its training median
        without flagging it missing: what an absent column is set to."""
        return dict(self.layout.neutral)

    def scale(self, raw: np.ndarray) -> np.ndarray:
        """What the model sees: the preprocessed ``[N, len(output_columns)]`` of a raw table
        holding exactly :attr:`input_columns`, in order."""
        return _numpy(self.tokenizer.scale(raw, self.input_columns))

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Tokens ``[N, C*L]`` (local ids, category-major) of a raw table of :attr:`input_columns`."""
        return _numpy(self.tokenizer.encode(raw, self.input_columns)).astype(np.int64, copy=False)

    def decode_scaled(self, tokens: np.ndarray) -> np.ndarray:
        """The tokenizer's scaled reconstruction ``[N, len(output_columns)]`` of tokens."""
        return _numpy(self.tokenizer.decode(np.asarray(tokens))).astype(np.float64, copy=False)

    def unscale(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled output columns back to raw units."""
        return np.asarray(self.tokenizer.unscale(scaled), dtype=np.float64)

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
    def prototypes(self, usage: list[list[np.ndarray]], level: int) -> np.ndarray:
        """Raw-unit prototypes ``[codes of level, len(output_columns)]`` (category-major)."""
        scaled = _numpy(self.tokenizer.prototypes(level, usage)).astype(np.float64, copy=False)
        expected = (sum(row[level] for row in self.sizes), len(self.output_columns))
        if scaled.shape != expected:
            raise PluginError(
                f"{type(self.tokenizer).__name__}.prototypes({level}, usage) gave shape {scaled.shape}, "
                f"expected {expected} (codes of level {level} x output columns)"
            )
        return self.unscale(scaled)


def _numpy(value) -> np.ndarray:
    """A CPU numpy array of a tensor or array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def load_view(run_dir: Path) -> CodebookView:
    """The tokenizer of a run directory (``tokenizer/model.pt``) as a :class:`CodebookView`."""
    path = Path(run_dir) / "tokenizer" / "model.pt"
    if not path.is_file():
        raise CheckpointError(
            f"no tokenizer in {run_dir} (looked for {path}); run `spinlock run run.dir={run_dir}` "
            f"with the tokenizer stage in its pipeline"
        )
    # any Tokenizer loads; CodebookView then names what it lacks, if anything
    return CodebookView(load_tokenizer(path, device="cpu"))
