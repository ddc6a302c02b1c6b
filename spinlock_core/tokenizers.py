"""Loading a run's trained tokenizer: the one way back from ``tokenizer/model.pt``.

The ``tokenizer`` stage saves its tokenizer with the core's checkpoint (metadata
``kind="tokenizer"`` and the plugin's ``name``); :func:`load_tokenizer` reads that name, loads
the ``spinlock.tokenizers`` plugin and calls its :meth:`~spinlock_core.interfaces.Tokenizer.load`.
``validate``, the VQ losses and the analyses all go through it, so they depend on the
:class:`~spinlock_core.interfaces.Tokenizer` interface, not on one implementation.
"""

from __future__ import annotations

from pathlib import Path

from . import registry
from .errors import CheckpointError
from .interfaces import Tokenizer

__all__ = ["MODEL_PATH", "tokenizer_path", "load_tokenizer", "load_tokenizer_and_spec"]

#: Where the ``tokenizer`` stage writes the fitted tokenizer, relative to the run directory.
MODEL_PATH = "tokenizer/model.pt"


def tokenizer_path(where) -> Path:
    """``where`` itself when it is a file, else ``where/tokenizer/model.pt`` (a run directory)."""
    where = Path(where)
    return where if where.is_file() or where.suffix == ".pt" else where / MODEL_PATH


def load_tokenizer(where, device: str = "cpu") -> Tokenizer:
    """The tokenizer saved at ``where`` (see :func:`load_tokenizer_and_spec`)."""
    return load_tokenizer_and_spec(where, device)[1]


def load_tokenizer_and_spec(where, device: str = "cpu"):
    """``(spec, tokenizer)``: the tokenizer saved at ``where`` (a checkpoint, or a run directory),
    on ``device``, and the spec of its plugin (for its dashboards and name).

    Raises :class:`CheckpointError` when there is no checkpoint or it is not a tokenizer's, and
    :class:`~spinlock_core.errors.PluginError` when its plugin is not installed, fails to import
    or does not implement :class:`Tokenizer`.
    """
    from .checkpoint import read_metadata

    path = tokenizer_path(where)
    if not path.is_file():
        raise CheckpointError(f"no tokenizer checkpoint at {path}")
    meta = read_metadata(path)
    name = meta.get("name")
    if meta.get("kind") != "tokenizer" or not name:
        raise CheckpointError(
            f"{path} is not a tokenizer checkpoint (metadata kind {meta.get('kind')!r}, name {name!r})"
        )
    spec = registry.load("tokenizers", name)
    implementation = spec.load_implementation()  # checked against Tokenizer there
    return spec, implementation.load(path, device=device)
