"""``spinlock config``: show the resolved config and the available config groups."""

from __future__ import annotations

import json

import typer

from ._common import JsonFlag, Overrides, guarded

app = typer.Typer(help="Show resolved configs and config groups.", no_args_is_help=True)


@app.command("show")
@guarded
def show(overrides: Overrides = None, as_json: JsonFlag = False) -> None:
    """Print the fully resolved config for these overrides."""
    from ..config import compose

    config = compose(overrides or [])
    typer.echo(json.dumps(config.data, indent=2) if as_json else config.to_yaml(), nl=False)


@app.command("groups")
@guarded
def groups(as_json: JsonFlag = False) -> None:
    """List the config groups, their options and where they come from."""
    from ..config.compose import SELECTABLE, _groups, _options, search_paths

    found = _groups(search_paths())
    names = sorted(set(found) | set(SELECTABLE))
    table = {g: _options(g, found) for g in names}
    if as_json:
        typer.echo(json.dumps(table, indent=2))
        return
    for group, options in table.items():
        typer.echo(f"{group}: {', '.join(options) or '(none)'}")
