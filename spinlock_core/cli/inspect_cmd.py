"""``spinlock inspect``: a readable summary of any spinlock artefact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import SpinlockError
from ._common import guarded


@guarded
def inspect(
    path: Annotated[Path, typer.Argument(help="A dataset, tokenizer, checkpoint or run directory.")],
) -> None:
    """Describe a dataset, tokenizer, checkpoint or run directory."""
    from rich.console import Console

    from ..plugins import get_plugin_manager

    if not path.exists():
        raise SpinlockError(f"no such file or directory: {path}")
    described = get_plugin_manager().hook.describe_artefact(path=path)
    if described is None:
        raise SpinlockError(
            f"{path} is not an artefact any installed plugin recognises "
            f"(datasets, checkpoints, tokenizers and run directories are)"
        )
    Console().print(described)
