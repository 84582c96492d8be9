"""The `metanode` command: operator entry point for a node and a local network.

Exit codes follow one rule for every command (`output.py`): 0 ok, 1 a failed outcome, 2 a
usage error. Every deliberate failure (`MetanodeError`) ends the command with one line on
stderr; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import typer

from metanode.cli import (
    audit,
    bench,
    dev,
    governance,
    identity,
    light,
    network,
    output,
    testnet,
    wallet,
    zk,
)
from metanode.cli.sim import sim
from metanode.cli.store import app as store_app

app = typer.Typer(
    name="metanode",
    help="Run and inspect a Metanode chain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def metanode() -> None:
    """Run and inspect a Metanode chain."""


app.command()(sim)
app.add_typer(store_app, name="store")


app.command()(network.init)
app.command()(network.start)
app.command()(network.up)
app.command()(network.status)
app.command()(testnet.testnet)
app.command(name="logs")(network.logs_command)
app.command()(wallet.faucet)
app.command()(bench.bench)
app.add_typer(wallet.keys_app, name="keys")
app.add_typer(wallet.tx_app, name="tx")
app.add_typer(wallet.query_app, name="query")
app.add_typer(identity.did_app, name="did")
app.add_typer(identity.credential_app, name="credential")
app.add_typer(zk.zk_app, name="zk")
app.add_typer(governance.gov_app, name="gov")
app.add_typer(light.light_app, name="light")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(dev.dev_app, name="dev")


def main() -> None:
    output.run(app, "metanode")


if __name__ == "__main__":
    main()
