"""``spinlock visualize``: figures people would rather look at than read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config.checks import MAX_GRID
from ..errors import ConfigError
from ._common import Overrides, guarded

#: Bounds of ``--size`` (as ``generate.grid``) and ``--per-type`` (columns of the figure).
MIN_SIZE = 4
MAX_PER_TYPE = 64

app = typer.Typer(help="Figures: IC galleries.", no_args_is_help=True)


@app.command("ic-gallery")
@guarded
def ic_gallery(
    overrides: Overrides = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="PNG file to write (default: RUN_DIR/figures/ic-gallery.png)."),
    ] = None,
    per_type: Annotated[int, typer.Option(min=1, max=MAX_PER_TYPE, help="Examples per IC type.")] = 4,
    size: Annotated[int, typer.Option(min=MIN_SIZE, max=MAX_GRID, help="Grid points per side.")] = 64,
) -> None:
    """A PNG with examples of every IC type of a domain (and operator): `domain=... operator=...`."""
    from .. import registry
    from ..config import compose

    config = compose(overrides or [])
    domain = registry.load("domains", config.get("domain.name")).create(config.sections.get("domain"))
    operator = registry.load("operators", config.get("operator.name")).create(config.sections.get("operator"))
    if out is None:  # the run directory of these overrides, not the working directory
        from ..runner import run_dir_for

        out = run_dir_for(config) / "figures" / "ic-gallery.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        path = domain.ic_gallery(operator, out, size=size, per_type=per_type, seed=config.core.seed)
    except NotImplementedError as exc:
        raise ConfigError(str(exc)) from None
    typer.echo(f"wrote {path}")
