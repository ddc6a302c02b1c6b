"""Shared CLI pieces: option aliases defined once, and the error table."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import SpinlockError, exit_code_for

Overrides = Annotated[
    list[str] | None,
    typer.Argument(
        help="group=option selections and dotted.key=value overrides, e.g. domain=reaction_diffusion"
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
RunDirArg = Annotated[Path, typer.Argument(help="A run directory made by `spinlock run`.")]


def guarded(fn):
    """Turn :class:`SpinlockError` into ``error: ...`` and its exit code (2 usage, 1 runtime).

    ``SPINLOCK_DEBUG=1`` lets the traceback through.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SpinlockError as exc:
            if os.environ.get("SPINLOCK_DEBUG"):
                raise
            from rich.markup import escape

            from ..console import console

            console().print(
                f"[bold red]error:[/bold red] {escape(str(exc))}",
                markup=True,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(exit_code_for(exc)) from None
        except OSError as exc:  # a full disk, a file-size limit or a read-only directory
            from ..part_writer import storage_error

            error = storage_error(Path(exc.filename or "the run directory"), exc)
            if error is None or os.environ.get("SPINLOCK_DEBUG"):
                raise
            from ..console import console

            console().print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code_for(error)) from None

    return wrapper
