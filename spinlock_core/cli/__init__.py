"""The ``spinlock`` command line. The root only wires sub-apps; each lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["build_app", "main"]


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"spinlock {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    from ..plugins import get_plugin_manager
    from . import (
        compare_cmd,
        config_cmd,
        inspect_cmd,
        plugins_cmd,
        replay_cmd,
        report_cmd,
        run_cmd,
        tokenize_cmd,
        visualize_cmd,
    )

    app = typer.Typer(
        name="spinlock",
        help="Learn from families of dynamical systems: generate, featurize, tokenize, imitate, compare.",
        no_args_is_help=False,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback(invoke_without_command=True)
    def root(
        ctx: typer.Context,
        verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More output.")] = 0,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
        version: Annotated[
            bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
        ] = False,
    ) -> None:
        from ..console import set_verbosity

        set_verbosity(-1 if quiet else verbose)
        if ctx.invoked_subcommand is None:
            typer.echo(ctx.get_help())

    app.command("run")(run_cmd.run)
    app.command("inspect")(inspect_cmd.inspect)
    app.command("replay")(replay_cmd.replay)
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(plugins_cmd.app, name="plugins")
    app.add_typer(visualize_cmd.app, name="visualize")
    app.command("tokenize")(tokenize_cmd.tokenize)
    app.command("report")(report_cmd.report)
    app.command("compare-codebooks")(compare_cmd.compare_codebooks)

    def register(command, name: str | None = None, help: str | None = None) -> None:  # noqa: A002
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=name, help=help)
        else:
            app.command(name, help=help)(command)

    get_plugin_manager().hook.register_commands(register=register)
    return app


def main() -> None:
    build_app()()
