"""``spinlock plugins``: what is installed, by kind. Imports no plugin implementation."""

from __future__ import annotations

import json
from typing import Annotated

import attrs
import typer

from ._common import JsonFlag, guarded

app = typer.Typer(help="List installed plugins.", no_args_is_help=True)


@app.command("list")
@guarded
def list_(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind (domains, features, ...).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Kind, name, distribution, version and load status of every plugin."""
    from .. import registry

    kinds = (registry.namespace(kind).split(".", 1)[1],) if kind else registry.KINDS + (registry.HOOKS,)
    rows = registry.list_plugins(kinds)
    if as_json:
        typer.echo(json.dumps([attrs.asdict(r) for r in rows], indent=2))
        return
    from rich.console import Console
    from rich.markup import escape  # "spinlock[neuralop]" is not markup
    from rich.table import Table

    table = Table(box=None)
    for column in ("kind", "name", "distribution", "version"):
        table.add_column(column, no_wrap=True)
    table.add_column("status", overflow="fold")
    table.add_column("summary", overflow="ellipsis", no_wrap=True, max_width=60)
    for r in rows:
        status = f"[green]{r.status}[/green]" if r.status == "ok" else f"[red]{escape(r.status)}[/red]"
        table.add_row(r.kind, r.name, r.distribution, r.version, status, escape(r.summary))
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # pipes and logs: do not squeeze the table to 80 columns
    console.print(table)
