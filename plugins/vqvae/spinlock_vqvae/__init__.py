"""spinlock's ``categorical_vqvae`` tokenizer: data-discovered categories of feature columns,
each tokenized coarse -> fine by residual vector quantization with EMA codebooks."""

from .config import CategoricalVQVAEConfig
from .tokenizer import CategoricalVQVAE

__all__ = ["CategoricalVQVAE", "CategoricalVQVAEConfig", "write_dashboards"]


def write_dashboards(tokenizer, out_dir):
    """Render the dashboards PNGs (lazy import: matplotlib only when asked)."""
    from .dashboards import write_dashboards as _write

    return _write(tokenizer, out_dir)
