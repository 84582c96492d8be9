"""`metanode store …`: maintenance of a node's ledger store.

`check --home DIR` re-executes every block stored under DIR from the stored genesis and
compares every state root, every block's receipts, the tip and the final state with what the
store holds (`metanode.state.store.replay_check`). The store lives in `DIR/ledger`; it is
opened read-only and read in one snapshot, so the check may run beside the node that writes it
and checks the height that was the tip when it began. Exit code 0 and a last line
`replay ok: …` when everything matches (`--invariants`: and every module's invariants, such
as `bank.supply_is_held`, held after every block); 1 and the first difference otherwise; 2
when there is no store to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metanode.cli import output
from metanode.errors import ConfigError, MetanodeError
from metanode.state.store import LEDGER_DIR, Store, replay_check

app = typer.Typer(
    name="store",
    help="Check and maintain the ledger store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def store() -> None:
    """Check and maintain the ledger store."""


@app.command()
def check(
    home: Annotated[Path, typer.Option(help="The node's home directory (holds ledger/).")],
    skip_signatures: Annotated[
        bool, typer.Option(help="Trust the stored blocks' signatures (faster).")
    ] = False,
    invariants: Annotated[
        bool,
        typer.Option(help="Also check every module's invariants after every block (slower)."),
    ] = False,
    as_json: output.Json = False,
) -> None:
    """Re-execute every stored block from genesis and compare every state root (safe on a
    running node: it checks the tip it finds when it starts)."""
    ledger = home / LEDGER_DIR
    if not (ledger / "data.mdb").exists():
        typer.echo(f"metanode store check: no ledger store in {ledger}", err=True)
        raise typer.Exit(output.USAGE)
    try:
        opened = Store.open(ledger, readonly=True)
    except ConfigError as error:
        typer.echo(f"metanode store check: {error}", err=True)
        raise typer.Exit(output.USAGE) from None
    try:
        with opened, output.progress("re-executing blocks", 0, json_output=as_json) as advance:
            report = replay_check(
                opened,
                verify_signatures=not skip_signatures,
                invariants=invariants,
                on_block=lambda tip: advance(1, tip),
            )
    except MetanodeError as error:
        typer.echo(f"metanode store check: {error}", err=True)
        raise typer.Exit(output.FAILED) from None
    if as_json:
        output.print_json(
            {
                "result": "ok",
                "height": report.height,
                "blocks": report.blocks,
                "transactions": report.transactions,
                "state_root": report.state_root.hex(),
                "invariants": "held" if invariants else "not checked",
            }
        )
        return
    typer.echo(
        f"replay ok: height={report.height} blocks={report.blocks} "
        f"transactions={report.transactions} state_root={report.state_root.hex()}"
        + (" invariants=held" if invariants else "")
    )
