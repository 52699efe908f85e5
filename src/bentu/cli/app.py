"""The ``bentu`` command: one Typer app, one module per command or command group."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

import bentu
from bentu.cli.recipes import recipes
from bentu.cli.run import run

__all__ = ["app", "main"]

app = typer.Typer(
    name="bentu",
    help="bentu (本土): take an AI model to a new place and make it work under that place's rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bentu {bentu.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False) -> None:
    """bentu (本土)."""


app.command("run")(run)
app.command("recipes")(recipes)

# Command groups and commands that live in their own modules.
_GROUPS = {"pii": "bentu.cli.pii", "audit": "bentu.cli.audit", "keys": "bentu.cli.keys"}
_COMMANDS = {"federate": "bentu.cli.federate", "serve": "bentu.cli.serve", "compress": "bentu.cli.compress",
             "monitor": "bentu.cli.monitor", "sweep": "bentu.cli.sweep"}
_COMMANDS["predict"] = "bentu.cli.predict"
_GROUPS["llm"] = "bentu.cli.llm"
for _name, _mod in _GROUPS.items():
    app.add_typer(importlib.import_module(_mod).app, name=_name)
for _name, _mod in _COMMANDS.items():
    app.command(_name)(getattr(importlib.import_module(_mod), _name))


def main() -> None:
    """Entry point of the ``bentu`` console script."""
    app()


if __name__ == "__main__":  # python -m bentu.cli.app
    main()
