"""`metanode dev up | snapshot | revert | time | fund`: a one-validator dev chain for app
developers (docs/devloop.md) and its tools.

`dev up` runs the chain in this process (one validator that proposes as soon as a transaction
is pending and commits at once); the other commands ask its gateway, which refuses them with
`dev-only` (exit 1) on any other chain. Exit codes as everywhere (`output.py`).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from metanode.errors import ConfigError
from metanode.node import logs
from metanode.types import Address, Denom

from . import output
from .network import DEFAULT_HOME, LogLevel, _print_endpoints, _refuse_taken_ports
from .wallet import Home, Json, NodeUrl, call, emit, gateway, report, wait_committed

dev_app = typer.Typer(
    help="A one-validator dev chain that commits on demand, and its tools.", no_args_is_help=True
)


@contextlib.contextmanager
def _chain_home(home: Path, tmp: bool) -> Iterator[Path]:
    if not tmp:
        yield home
        return
    with tempfile.TemporaryDirectory(prefix="metanode-dev-") as directory:
        yield Path(directory)


@dev_app.command("up")
def up(
    home: Home = DEFAULT_HOME,
    tmp: Annotated[
        bool, typer.Option("--tmp", help="Keep the chain in a temporary directory, gone at exit.")
    ] = False,
    block_interval_ms: Annotated[
        int,
        typer.Option(
            min=0, max=86_400_000, help="An empty block this long after the last (0: never)."
        ),
    ] = 0,
    accounts: Annotated[int, typer.Option(min=0, max=1000, help="Funded dev accounts.")] = 10,
    port_base: Annotated[int, typer.Option(help="P2P port (on init).")] = 26600,
    api_port_base: Annotated[int, typer.Option(help="Gateway port (on init).")] = 8600,
    log_level: Annotated[LogLevel, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run a dev chain until Ctrl-C: made in HOME on first use (or in a temporary directory
    with --tmp), resumed after. Same state machine, signatures and stores as any chain; only
    the pacing differs."""
    from metanode.api.server import run  # noqa: PLC0415 - FastAPI loads only for this command
    from metanode.node import config as node_config  # noqa: PLC0415 - as network.init
    from metanode.node import home as dev_home  # noqa: PLC0415 - as network.init

    with _chain_home(home, tmp) as where:
        if not (where / dev_home.GENESIS).exists():
            dev_home.init_devchain(
                where,
                accounts=accounts,
                port_base=port_base,
                api_port_base=api_port_base,
                block_interval_ms=block_interval_ms,
            )
        entries = dev_home.node_entries(where)
        if len(entries) != 1:
            raise ConfigError(
                f"{where} holds a network of {len(entries)} nodes; a dev chain has one "
                "(give `dev up` another --home, or --tmp)"
            )
        (entry,) = entries
        kind = dev_home.read_genesis(where / dev_home.GENESIS).chain_kind
        if kind != "dev":  # refused before the config is touched
            raise ConfigError(f"{where} holds a {kind} chain; `dev up` runs dev chains only")
        dev_home.set_automine(entry.config_path, block_interval_ms)
        _refuse_taken_ports([(entry.name, entry.config_path)], new_home_options=False)
        _print_endpoints(Console(), where, entries)
        cfg = node_config.load(entry.config_path)
        logs.setup(
            entry.config_path.parent,
            log_level,
            file_bytes_max=cfg.log.file_bytes_max,
            files_max=cfg.log.files_max,
            console=True,
        )
        run(entry.config_path, dev_home.DEV_PASSWORD)


@dev_app.command("snapshot")
def snapshot(home: Home = DEFAULT_HOME, node: NodeUrl = None, as_json: Json = False) -> None:
    """Copy the chain's whole state; prints the id that `dev revert` takes (any number of
    times)."""
    taken = call("POST", f"{gateway(home, node)}/api/v1/dev/snapshot")
    _show(taken, as_json, f"snapshot {taken['id']} at height {taken['height']}")


@dev_app.command("revert")
def revert(
    snapshot_id: Annotated[int, typer.Argument(metavar="ID", min=1, help="A snapshot's id.")],
    consume: Annotated[
        bool, typer.Option("--consume", help="Drop snapshot ID too (Hardhat's evm_revert).")
    ] = False,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Bring the whole state back to snapshot ID (mempool emptied; later snapshots dropped;
    ID stays for another revert unless --consume)."""
    url = f"{gateway(home, node)}/api/v1/dev/revert"
    taken = call("POST", url, json={"id": snapshot_id, "keep": not consume})
    _show(taken, as_json, f"reverted to snapshot {taken['id']} at height {taken['height']}")


@dev_app.command("time")
def advance(
    advance_s: Annotated[
        int, typer.Option("--advance", min=1, help="Seconds to move the block clock ahead.")
    ],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Move the block clock ahead (never back): later blocks are stamped that much later."""
    clock = call("POST", f"{gateway(home, node)}/api/v1/dev/time", json={"advance_s": advance_s})
    offset_s = clock["clock_offset_ms"] // 1000
    _show(clock, as_json, f"block clock {offset_s} s ahead of the wall clock")


@dev_app.command("fund")
def fund(
    address: Annotated[str, typer.Argument(help="Recipient address (mn1…).")],
    amount: Annotated[str, typer.Argument(help="Coins, e.g. 12.5.")],
    denom: Annotated[str, typer.Option(help="GEN, NEX, FLX or AUR.")] = "FLX",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Send coins from the dev faucet to ADDRESS and wait for the commit."""
    if denom not in Denom.__members__:
        raise ConfigError(f"--denom {denom!r}: one of {', '.join(Denom.__members__)}")
    recipient = str(Address.parse(address))
    base_units = output.parse_coins(amount)
    url = gateway(home, node)
    body = {"address": recipient, "denom": denom, "amount": base_units}
    sent = call("POST", f"{url}/api/v1/dev/fund", json=body)
    facts = {"funded": recipient, "amount": output.tokens(base_units, denom)}
    report(wait_committed(url, sent["hash"]), as_json, facts)


def _show(data: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        emit(data, as_json)
    else:
        typer.echo(text)
