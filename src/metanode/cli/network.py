"""`metanode init | start | up | status`: create a dev network, run one node, run a whole local
network as processes, and ask every node how it is doing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from metanode.errors import ConfigError
from metanode.node import config as node_config
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.state.genesis.document import load_genesis

DEFAULT_HOME = Path(".metanode")
STATUS_TIMEOUT_S = 2.0
STOP_GRACE_S = 10.0
Home = Annotated[Path, typer.Option(help="The network's home directory.")]


def init(
    dev: Annotated[bool, typer.Option("--dev", help="A dev network (the only kind init makes).")],
    home: Home = DEFAULT_HOME,
    validators: Annotated[int, typer.Option(min=1, max=64, help="Validators.")] = 4,
    accounts: Annotated[int, typer.Option(min=0, max=1000, help="Funded dev accounts.")] = 10,
    port_base: Annotated[int, typer.Option(help="P2P port of v0; vN listens on +N.")] = 26600,
    api_port_base: Annotated[int, typer.Option(help="API port of v0; vN on +N.")] = 8600,
) -> None:
    """Keys in the keystore, a genesis with funded dev accounts, one config per validator."""
    if not dev:
        raise ConfigError("only --dev networks can be created here; testnets start from a genesis")
    entries = dev_home.init_dev(
        home,
        validators=validators,
        accounts=accounts,
        port_base=port_base,
        api_port_base=api_port_base,
    )
    typer.echo(f"initialised {len(entries)} validators in {home}")


def start(
    home: Annotated[Path, typer.Option(help="The node's directory (holds config.toml).")] = (
        DEFAULT_HOME / "nodes" / "v0"
    ),
    testnet: Annotated[
        bool, typer.Option("--testnet", help="Refuse to start unless the chain is a testnet.")
    ] = False,
) -> None:
    """Run one node (consensus, mempool, ledger, P2P and its gateway API) until Ctrl-C."""
    from metanode.api.server import run  # noqa: PLC0415 - FastAPI loads only for this command

    config_path = home / "config.toml"
    if testnet:
        cfg = node_config.load(config_path)
        genesis_path = node_config.resolve(config_path, cfg.genesis)
        genesis = load_genesis(genesis_path, genesis_path.read_text())
        if genesis.chain_kind != "testnet":
            raise ConfigError(f"--testnet, but {genesis_path} is a {genesis.chain_kind} chain")
    run(config_path)


def node_command(node_dir: Path) -> list[str]:
    return [sys.executable, "-m", "metanode.cli.main", "start", "--home", str(node_dir)]


def up(
    home: Home = DEFAULT_HOME,
    validators: Annotated[int, typer.Option(min=1, max=64, help="Validators (on init).")] = 4,
    port_base: Annotated[int, typer.Option(help="P2P port of v0 (on init).")] = 26600,
    api_port_base: Annotated[int, typer.Option(help="API port of v0 (on init).")] = 8600,
) -> None:
    """Init if needed, then run every validator as its own process; Ctrl-C stops them all.
    Starting again resumes the same chain."""
    if not (home / dev_home.GENESIS).exists():
        dev_home.init_dev(
            home, validators=validators, port_base=port_base, api_port_base=api_port_base
        )
    entries = dev_home.node_entries(home)
    if not entries:
        raise ConfigError(f"{home} holds a genesis but no nodes/*/config.toml")
    console = Console()
    if not console.is_terminal:  # a log or a pipe: print every column whole
        console = Console(width=240)
    children: dict[str, subprocess.Popen[bytes]] = {}
    for entry in entries:
        log_path = entry.config_path.parent / "node.log"
        with log_path.open("ab") as log_file:
            children[entry.name] = subprocess.Popen(
                node_command(entry.config_path.parent),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches `up`, which stops the nodes in order
            )
    _print_endpoints(console, home, entries)
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    reported: set[str] = set()
    while not stopping:
        time.sleep(0.2)
        for name, child in children.items():
            code = child.poll()
            if code is not None and name not in reported:
                reported.add(name)
                console.print(
                    f"[red]{name} exited ({code})[/red]; its log: "
                    f"{home / 'nodes' / name / 'node.log'}"
                )
    console.print("stopping…")
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    console.print("stopped; `metanode up` again resumes this chain")


def _print_endpoints(console: Console, home: Path, entries: list[dev_home.NodeEntry]) -> None:
    table = Table(title=f"Metanode local network ({home})")
    for column in ("node", "node id", "gateway", "metrics", "p2p"):
        table.add_column(column)
    for entry in entries:
        cfg = node_config.load(entry.config_path)
        api = f"http://{cfg.api.listen.host}:{cfg.api.listen.port}"
        table.add_row(
            entry.name,
            _node_id(entry.config_path),
            f"{api}/api/v1",
            f"{api}/metrics",
            f"{cfg.p2p.listen.host}:{cfg.p2p.listen.port}",
        )
    console.print(table)
    accounts = Table(title="Funded dev accounts (dev keys: never use them on a real chain)")
    accounts.add_column("key file")
    accounts.add_column("address")
    accounts.add_column("private key (Ed25519 seed)")
    for path in dev_home.account_key_files(home):
        key = keys.read_account(path, keys.password(_dev_password(home)))
        accounts.add_row(path.stem, str(keys.account_address(key)), key.seed.hex())
    console.print(accounts)
    console.print("Ctrl-C stops the network.")


def _node_id(config_path: Path) -> str:
    from metanode.net import tls  # noqa: PLC0415

    pem = (config_path.parent / "node.pem").read_bytes()
    return str(tls.node_id(tls.certificate_key(pem)))


def _dev_password(home: Path) -> str | None:
    """A dev home's password (kept in its configs); elsewhere the environment's."""
    entries = dev_home.node_entries(home)
    if entries:
        return node_config.load(entries[0].config_path).key_password
    return None


def node_urls(home: Path) -> list[tuple[str, str]]:
    """(name, API base URL) of every node of a network home, or of a single node's directory."""
    if (home / "config.toml").exists():
        paths = [(home.name, home / "config.toml")]
    else:
        paths = [(entry.name, entry.config_path) for entry in dev_home.node_entries(home)]
    if not paths:
        raise ConfigError(f"no node configuration under {home}")
    urls = []
    for name, path in paths:
        cfg = node_config.load(path)
        urls.append((name, f"http://{cfg.api.listen.host}:{cfg.api.listen.port}"))
    return urls


def status(
    home: Home = DEFAULT_HOME,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Height, round, peers and mempool of every node (null for a node that does not answer)."""
    rows: list[dict[str, Any]] = []
    for name, url in node_urls(home):
        row: dict[str, Any] = {"name": name, "height": None, "round": None, "peers": None}
        row["mempool"] = None
        try:
            answer = httpx.get(f"{url}/api/v1/status", timeout=STATUS_TIMEOUT_S).json()
            row.update({key: answer[key] for key in ("height", "round", "peers", "mempool")})
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        rows.append(row)
    if as_json:
        typer.echo(json.dumps({"nodes": rows}))
        return
    columns = ("name", "height", "round", "peers", "mempool")
    table = Table(title=f"{home}")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("down" if row[c] is None else str(row[c]) for c in columns))
    Console().print(table)
