"""The `metanode` command: operator entry point for a node and a local network.

Every deliberate failure (`MetanodeError`) ends the command with one line on stderr and exit
code 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from metanode.cli.sim import sim
from metanode.cli.store import app as store_app
from metanode.errors import MetanodeError, NotBuiltError

app = typer.Typer(
    name="metanode",
    help="Run and inspect a Metanode chain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_HOME = Path(".metanode")


@app.callback()
def metanode() -> None:
    """Run and inspect a Metanode chain."""


app.command()(sim)
app.add_typer(store_app, name="store")


@app.command()
def up(
    home: Annotated[Path, typer.Option(help="Directory holding keys, genesis and data.")] = (
        DEFAULT_HOME
    ),
    validators: Annotated[
        int, typer.Option(min=1, max=64, help="Validators in the local network.")
    ] = 4,
) -> None:
    """Start a local network: init if needed, then the validators and the gateway."""
    raise NotBuiltError(
        "the local network is not built yet (it arrives with the node issue): "
        f"nothing was started for {validators} validators in {home}"
    )


def main() -> None:
    try:
        app()
    except MetanodeError as error:
        typer.echo(f"metanode: {error}", err=True)
        sys.exit(1)
