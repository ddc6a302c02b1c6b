"""spinlock's ``categorical_vqvae`` tokenizer: data-discovered categories of feature columns,
each tokenized coarse -> fine by residual vector quantization with EMA codebooks.

Importing the package stays light (listing plugins must not import torch): the model imports
on first use of :class:`CategoricalVQVAE`.
"""

from __future__ import annotations

import importlib

from .config import CategoricalVQVAEConfig

__all__ = ["CategoricalVQVAE", "CategoricalVQVAEConfig", "write_dashboards"]


def __getattr__(name: str):
    if name == "CategoricalVQVAE":
        return importlib.import_module(".tokenizer", __name__).CategoricalVQVAE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_dashboards(tokenizer, out_dir):
    """Render the dashboards PNGs (lazy import: matplotlib only when asked)."""
    from .dashboards import write_dashboards as _write

    return _write(tokenizer, out_dir)
