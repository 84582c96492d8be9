"""`bpci security status | override`: the guard of a node's gateway and peer links
(docs/security.md), read from and told through `/api/v1/security`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from metanode.errors import ConfigError
from metanode.guard.score import Override

from . import output, wallet
from .network import DEFAULT_HOME
from .wallet import Home, Json, NodeUrl

app = typer.Typer(help="The anomaly guard: scores, throttles and bans of peers and clients.")


@app.command()
def status(
    everyone: Annotated[
        bool, typer.Option("--all", help="Also subjects the guard lets pass.")
    ] = False,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Scores of the node's clients and peers; by default only the throttled and banned."""
    url = wallet.gateway(home, node)
    found = wallet.call("GET", f"{url}/api/v1/security")
    if not everyone:
        for kind in ("clients", "peers"):
            found[kind] = [item for item in found[kind] if item["verdict"] != "pass"]
    if as_json:
        output.print_json(found)
        return
    table = Table("subject", "verdict", "score", "banned for", "strikes", "allowed")
    for item in found["clients"] + found["peers"]:
        table.add_row(
            item["subject"],
            item["verdict"],
            f"{item['score']:.1f}",
            f"{item['banned_for_ms'] / 1000:.0f} s" if item["banned_for_ms"] else "",
            str(item["strikes"]),
            "yes" if item["allowed"] else "",
        )
    console = Console(width=200)
    console.print(f"model: {'on' if found['model'] else 'off (rules only)'}")
    console.print(table)


@app.command()
def override(
    subject: Annotated[str, typer.Argument(help="A peer's node id or a client's address.")],
    action: Annotated[str, typer.Argument(help="allow, ban, pardon or clear.")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """An operator's word on a subject, obeyed from the node's guard operators only."""
    if action not in {item.value for item in Override}:
        raise ConfigError(f"action must be allow, ban, pardon or clear, not {action!r}")
    url = wallet.gateway(home, node)
    found: dict[str, Any] = wallet.call(
        "POST", f"{url}/api/v1/security/override", json={"subject": subject, "action": action}
    )
    if as_json:
        output.print_json(found)
        return
    Console(width=200).print(f"{found['subject']}: {found['verdict']}, score {found['score']}")
