"""`metanode store …`: maintenance of a node's ledger store.

`check --home DIR` checks the store under DIR against its certified chain
(`metanode.node.storecheck`: the state table rebuilds to the recorded root, which the certified
tip names, and every block since the last check's checkpoint chains up to it); `check --full`
re-executes every block from the stored genesis and compares every state root, every block's
receipts, the tip and the final state with what the store holds
(`metanode.state.store.replay_check`). Either records the tip it checked as the checkpoint
(`DIR/store-checked.json`) the next check walks down to. The store lives in `DIR/ledger`; it
is opened read-only and read in one snapshot, so a check may run beside the node that writes
it and checks the height that was the tip when it began. Exit code 0 and a last line
`store ok: …` (`replay ok: …` with `--full`; `--invariants`: and every module's invariants,
such as `bank.supply_is_held`, held after every block) when everything matches; 1 and the
first difference otherwise; 2 when there is no store to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metanode.cli import output
from metanode.errors import ConfigError, MetanodeError

if TYPE_CHECKING:
    from metanode.state.store import Store

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
    full: Annotated[
        bool,
        typer.Option(help="Re-execute every block from genesis (slow on a long chain)."),
    ] = False,
    skip_signatures: Annotated[
        bool, typer.Option(help="With --full: trust the stored blocks' signatures (faster).")
    ] = False,
    invariants: Annotated[
        bool,
        typer.Option(help="With --full: check every module's invariants after every block."),
    ] = False,
    as_json: output.Json = False,
) -> None:
    """Check the store against its certified chain (safe on a running node: it checks the tip
    it finds when it starts); --full re-executes every stored block from genesis."""
    # The store loads only for this command, not at every `metanode` start-up; a forked check
    # has it preloaded (cli/forked.py).
    from metanode.node import storecheck  # noqa: PLC0415
    from metanode.state.store import LEDGER_DIR, Store  # noqa: PLC0415

    if (skip_signatures or invariants) and not full:
        raise ConfigError("--skip-signatures and --invariants go with --full")
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
        with opened:
            if full:
                result = _full(opened, skip_signatures, invariants, as_json)
            else:
                result = _quick(opened, home)
            tip = opened.block(result["height"])
            if tip is not None:
                storecheck.Checkpoint(result["height"], tip.hash()).save(home)
    except MetanodeError as error:
        typer.echo(f"metanode store check: {error}", err=True)
        raise typer.Exit(output.FAILED) from None
    said = result.pop("said")
    if as_json:
        output.print_json({"result": "ok", **result})
        return
    shown = {key: value for key, value in result.items() if value != "not checked"}
    typer.echo(f"{said}: " + " ".join(f"{key}={value}" for key, value in shown.items()))


def _quick(store: Store, home: Path) -> dict[str, Any]:
    from metanode.node import storecheck  # noqa: PLC0415 - as in check

    report = storecheck.check(store, storecheck.Checkpoint.load(home))
    return {
        "said": "store ok",
        "height": report.height,
        "keys": report.keys,
        "blocks": report.blocks,
        "since": "genesis" if report.since is None else report.since,
        "state_root": report.state_root.hex(),
    }


def _full(store: Store, skip_signatures: bool, invariants: bool, as_json: bool) -> dict[str, Any]:
    from metanode.state.store import replay_check  # noqa: PLC0415 - as in check

    with output.progress("re-executing blocks", 0, json_output=as_json) as advance:
        report = replay_check(
            store,
            verify_signatures=not skip_signatures,
            invariants=invariants,
            on_block=lambda tip: advance(1, tip),
        )
    return {
        "said": "replay ok",
        "height": report.height,
        "blocks": report.blocks,
        "transactions": report.transactions,
        "state_root": report.state_root.hex(),
        "invariants": "held" if invariants else "not checked",
    }
