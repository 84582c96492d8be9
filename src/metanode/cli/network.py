"""`metanode init | start | up | status | logs`: create a dev, testnet or mainnet home, run one
node, run a whole local network as processes, ask every node how it is doing, and read their
logs.

Exit codes: 0 ok; 1 a failed outcome (a node that exits while `up` starts it); 2 the command
cannot run as asked (a usage or configuration error found before anything runs: a port already
taken, no passphrase, a wrong one, the wrong kind of chain)."""

from __future__ import annotations

import contextlib
import errno
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from metanode.cli import output
from metanode.errors import ConfigError, KeystoreError
from metanode.node import keys, logs
from metanode.types import constants as types_constants

if TYPE_CHECKING:
    from metanode.node import home as dev_home
    from metanode.node.snapshots import Trust

DEFAULT_HOME = Path(".metanode")
STATUS_TIMEOUT_S = 2.0
# After SIGTERM, how long `up` waits for a node before it kills it (and logs that it did). A
# node ends its gateway's connections within `node.gateway_stop_grace_s` (3 s) and then needs
# well under a second; a node that is stuck exits by itself after
# `api.server.process_stop_deadline_s` (10 s), logging where it hung, so `up` waits past that.
STOP_GRACE_S = 12.0
# How long `up` waits for every gateway to answer before it gives up on starting.
START_TIMEOUT_S = 60.0
POLL_S = 0.2
LogLevel = Literal["debug", "info", "warning", "error", "critical"]
Home = Annotated[Path, typer.Option(help="The network's home directory.")]


def init(
    dev: Annotated[bool, typer.Option("--dev", help="A dev network (public keys).")] = False,
    testnet: Annotated[bool, typer.Option("--testnet", help="A testnet (1% to the treasury).")] = (
        False
    ),
    mainnet: Annotated[bool, typer.Option("--mainnet", help="A mainnet (5% to the treasury).")] = (
        False
    ),
    home: Home = DEFAULT_HOME,
    validators: Annotated[int, typer.Option(min=1, max=64, help="Validators.")] = 4,
    accounts: Annotated[
        int | None, typer.Option(min=0, max=1000, help="Funded dev accounts (dev; 10).")
    ] = None,
    port_base: Annotated[int, typer.Option(help="P2P port of v0; vN listens on +N.")] = 26600,
    api_port_base: Annotated[int, typer.Option(help="API port of v0; vN on +N.")] = 8600,
    chain_id: Annotated[
        str | None,
        typer.Option(help="Testnet/mainnet: the chain id (default metanode-KIND-<8 hex>)."),
    ] = None,
    hosts: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated: the host of each validator, v0 first (default: loopback)."
        ),
    ] = None,
    listen_host: Annotated[
        str, typer.Option(help="With --hosts: the address every node listens on.")
    ] = "0.0.0.0",
    as_json: output.Json = False,
) -> None:
    """Keys in the keystore, a genesis, one config per validator. A dev network has funded dev
    accounts and a public key password; a testnet or mainnet's keys are encrypted under a
    passphrase from METANODE_KEY_PASSWORD or asked for, which no file keeps."""
    from metanode.node import home as dev_home  # noqa: PLC0415 - loaded by commands (start-up)

    flags = (("dev", dev), ("testnet", testnet), ("mainnet", mainnet))
    chosen = [kind for kind, flag in flags if flag]
    if len(chosen) != 1:
        raise ConfigError("choose one kind of chain: --dev, --testnet or --mainnet")
    kind = chosen[0]
    placed = None if hosts is None else [host.strip() for host in hosts.split(",")]
    if placed is not None and (len(placed) != validators or "" in placed):
        raise ConfigError(
            f"--hosts must name {validators} hosts (one per validator), comma-separated"
        )
    if kind == "dev":
        if chain_id is not None:
            raise ConfigError(f"--chain-id: a dev chain's id is always {dev_home.DEV_CHAIN_ID}")
        entries = dev_home.init_dev(
            home,
            validators=validators,
            accounts=10 if accounts is None else accounts,
            port_base=port_base,
            api_port_base=api_port_base,
        )
    else:
        if accounts is not None:
            raise ConfigError(f"--accounts: a {kind} has no dev accounts")
        passphrase = keys.node_passphrase(kind, None, _prompt(confirm=True))
        entries = dev_home.init_public(
            home,
            kind,
            passphrase,
            validators=validators,
            port_base=port_base,
            api_port_base=api_port_base,
            chain_id=chain_id,
        )
    if placed is not None:
        dev_home.place_hosts(home, placed, listen_host)
    chain_id = dev_home.read_genesis(home / dev_home.GENESIS).chain_id
    if as_json:
        output.print_json(
            {"kind": kind, "chain_id": chain_id, "validators": len(entries), "home": str(home)}
        )
        return
    typer.echo(f"initialised {len(entries)} validators of {kind} chain {chain_id} in {home}")
    if kind != "dev":
        typer.echo(
            f"start each node with its passphrase in {keys.PASSWORD_ENV} (or type it when asked): "
            f"metanode start{' --testnet' if kind == 'testnet' else ''} --home {home}/nodes/v0"
        )


def _prompt(*, confirm: bool) -> Callable[[], str] | None:
    """A prompt for the key passphrase, or None when nobody is at a terminal to answer it."""
    if not sys.stdin.isatty():
        return None

    def ask() -> str:
        answer: str = typer.prompt(
            "Key passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        return answer

    return ask


def _trust(height: int | None, block_hash: str | None, state_sync: bool) -> Trust | None:
    """The trusted block of `--trust-height` and `--trust-hash`: both or neither, and only
    with --state-sync."""
    if height is None and block_hash is None:
        return None
    if height is None or block_hash is None or not state_sync:
        raise ConfigError("--trust-height and --trust-hash go together, with --state-sync")
    try:
        raw = bytes.fromhex(block_hash)
    except ValueError:
        raw = b""
    if len(raw) != types_constants.hash_bytes:
        raise ConfigError(f"--trust-hash must be 64 hex digits, got {block_hash!r}")
    from metanode.node.snapshots import Trust  # noqa: PLC0415 - the node loads only to start

    return Trust(height, raw)


def start(
    home: Annotated[Path, typer.Option(help="The node's directory (holds config.toml).")] = (
        DEFAULT_HOME / "nodes" / "v0"
    ),
    testnet: Annotated[
        bool, typer.Option("--testnet", help="Refuse to start unless the chain is a testnet.")
    ] = False,
    log_level: Annotated[
        LogLevel | None, typer.Option(help="Log level (default: [log] level of config.toml).")
    ] = None,
    log_console: Annotated[
        bool, typer.Option(help="Print the log on stderr as well as writing node.log.")
    ] = True,
    state_sync: Annotated[
        bool,
        typer.Option(
            "--state-sync",
            help="A new node: install a verified state snapshot from peers, then block-sync.",
        ),
    ] = False,
    trust_height: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --state-sync: install the snapshot of this height only (a peer must "
            "hold one), whose block is --trust-hash.",
        ),
    ] = None,
    trust_hash: Annotated[
        str | None,
        typer.Option(
            metavar="HASH",
            help="With --trust-height: that block's hash (64 hex), learnt out of band.",
        ),
    ] = None,
) -> None:
    """Run one node (consensus, mempool, ledger, P2P and its gateway API) until Ctrl-C. It logs
    JSON lines to node.log in its directory and, readable, to stderr."""
    from metanode.api.server import run  # noqa: PLC0415 - FastAPI loads only for this command
    from metanode.node import config as node_config  # noqa: PLC0415 - as in init

    trust = _trust(trust_height, trust_hash, state_sync)
    config_path = home / "config.toml"
    cfg = node_config.load(config_path)
    passphrase = _node_passphrase(config_path, testnet)
    _refuse_taken_ports([(cfg.name, config_path)], new_home_options=False)
    logs.setup(
        home,
        log_level or cfg.log.level,
        file_bytes_max=cfg.log.file_bytes_max,
        files_max=cfg.log.files_max,
        console=log_console,
    )
    try:
        run(config_path, passphrase, state_sync=state_sync, trust=trust)
    except KeystoreError as error:
        # A wrong passphrase is the operator's input, like a bad option: a usage error.
        raise ConfigError(
            f"{error}; give the passphrase the home was made with ({keys.PASSWORD_ENV})"
        ) from None


def _node_passphrase(config_path: Path, testnet: bool) -> str:
    """The passphrase of the node's keys, once its chain's kind is the one asked for."""
    from metanode.node import config as node_config  # noqa: PLC0415 - as in init
    from metanode.node import home as dev_home  # noqa: PLC0415 - as in init

    cfg = node_config.load(config_path)
    genesis_path = node_config.resolve(config_path, cfg.genesis)
    kind = dev_home.read_genesis(genesis_path).chain_kind
    if testnet and kind != "testnet":
        raise ConfigError(
            f"--testnet, but {genesis_path} is a {kind} chain; make a testnet with "
            "`metanode init --testnet --home DIR`, then start each of its nodes with "
            "`metanode start --testnet --home DIR/nodes/vN`"
        )
    return keys.node_passphrase(kind, cfg.key_password, _prompt(confirm=False))


def node_args(node_dir: Path) -> list[str]:
    """`metanode start`'s arguments for a supervised node: its log goes to node.log only."""
    return ["start", "--home", str(node_dir), "--no-log-console"]


def node_command(node_dir: Path) -> list[str]:
    return [sys.executable, "-m", "metanode.cli.main", *node_args(node_dir)]


def launch(node_dir: Path) -> subprocess.Popen[bytes]:
    """Start a node process; what it prints outside its log (a crash) goes to stderr.log."""
    with (node_dir / logs.STDERR_FILE).open("wb") as stderr:
        return subprocess.Popen(
            node_command(node_dir),
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops nodes in order
        )


# Ports ----------------------------------------------------------------------------------------


def _refuse_taken_ports(nodes: list[tuple[str, Path]], *, new_home_options: bool) -> None:
    """Exit 2 with one line per port of `nodes` that is taken (by another process, or by two
    of these settings), before anything listens; a clash found later is a traceback."""
    from metanode.node import config as node_config  # noqa: PLC0415 - as in init

    problems = []
    claimed: dict[tuple[str, int], str] = {}
    for name, config_path in nodes:
        cfg = node_config.load(config_path)
        ports = (
            (cfg.p2p.listen, "P2P", "[p2p.listen] port", "--port-base"),
            (cfg.api.listen, "gateway API and /metrics", "[api.listen] port", "--api-port-base"),
        )
        for endpoint, what, key, option in ports:
            where = f"set {key} in {config_path}"
            if new_home_options:
                where += f" (or start a new home with `metanode up {option}`)"
            owner = claimed.get((endpoint.host, endpoint.port))
            claimed[(endpoint.host, endpoint.port)] = f"{name}'s {what}"
            if owner is not None:
                taken_by = f"also {owner} port"
            else:
                taken_by = _bind_error(endpoint.host, endpoint.port)
            if taken_by is not None:
                problems.append(
                    f"{name}: {what} port {endpoint.port} on {endpoint.host} is {taken_by}; {where}"
                )
    if problems:
        for line in problems:
            typer.echo(f"metanode: {line}", err=True)
        raise typer.Exit(output.USAGE)


def _bind_error(host: str, port: int) -> str | None:
    """Why `port` cannot be listened on now, or None. SO_REUSEADDR as the servers set it, so a
    port a stopped node left in TIME_WAIT is not taken for busy."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return "in use" if error.errno == errno.EADDRINUSE else f"not usable ({error.strerror})"
    return None


def up(
    home: Home = DEFAULT_HOME,
    validators: Annotated[int, typer.Option(min=1, max=64, help="Validators (on init).")] = 4,
    port_base: Annotated[int, typer.Option(help="P2P port of v0 (on init).")] = 26600,
    api_port_base: Annotated[int, typer.Option(help="API port of v0 (on init).")] = 8600,
) -> None:
    """Init if needed, then run every validator as its own process; Ctrl-C stops them all.
    Starting again resumes the same chain. Exits 1 if a node exits while starting."""
    from metanode.node import home as dev_home  # noqa: PLC0415 - as in init

    if not (home / dev_home.GENESIS).exists():
        dev_home.init_dev(
            home, validators=validators, port_base=port_base, api_port_base=api_port_base
        )
    entries = dev_home.node_entries(home)
    if not entries:
        raise ConfigError(f"{home} holds a genesis but no nodes/*/config.toml")
    _refuse_taken_ports(
        [(entry.name, entry.config_path) for entry in entries], new_home_options=True
    )
    console = Console()
    if not console.is_terminal:  # a log or a pipe: print every column whole
        console = Console(width=240)
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    node_dirs = {entry.name: entry.config_path.parent for entry in entries}
    children = {name: launch(node_dir) for name, node_dir in node_dirs.items()}
    with _stopped_at_the_end(console, children, node_dirs):
        urls = dict(node_urls(home))
        started = time.monotonic()
        waiting = set(children)
        while waiting and not stopping:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    console.print(
                        f"[red]{name} exited ({code}) while starting[/red]: "
                        f"{logs.last_line(node_dirs[name]) or 'it logged nothing'}"
                    )
                    raise typer.Exit(output.FAILED)
            waiting = {name for name in waiting if not _answers(urls[name])}
            if time.monotonic() - started > START_TIMEOUT_S:
                console.print(
                    f"[red]{', '.join(sorted(waiting))} did not answer within "
                    f"{START_TIMEOUT_S:.0f} s[/red]; their logs: `metanode logs --home {home}`"
                )
                raise typer.Exit(output.FAILED)
            time.sleep(POLL_S)
        if stopping:
            return
        _print_endpoints(console, home, entries)
        reported: set[str] = set()
        while not stopping and len(reported) < len(children):
            time.sleep(POLL_S)
            for name, child in children.items():
                code = child.poll()
                if code is not None and name not in reported:
                    reported.add(name)
                    console.print(
                        f"[red]{name} exited ({code})[/red]: "
                        f"{logs.last_line(node_dirs[name]) or 'it logged nothing'}"
                    )
        if not stopping:
            console.print("[red]every node has exited[/red]")
            raise typer.Exit(output.FAILED)


def _answers(url: str) -> bool:
    import httpx  # noqa: PLC0415 - loads only for a command that calls a gateway (start-up)

    try:
        return httpx.get(f"{url}/api/v1/status", timeout=STATUS_TIMEOUT_S).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def _stopped_at_the_end(
    console: Console, children: dict[str, subprocess.Popen[bytes]], node_dirs: dict[str, Path]
) -> Iterator[None]:
    """SIGTERM every node still running when the block ends (Ctrl-C, a failed start); one that
    has not exited `STOP_GRACE_S` later is killed, and the kill is logged in its node.log."""
    try:
        yield
    finally:
        running = {name: child for name, child in children.items() if child.poll() is None}
        if running:
            console.print("stopping…")
        for child in running.values():
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for name, child in running.items():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                message = f"killed: still running {STOP_GRACE_S:.0f} s after SIGTERM"
                logs.append(node_dirs[name], "warning", "metanode.up", message, node=name)
                console.print(f"[yellow]{name} {message}[/yellow]")
        if running:
            console.print("stopped; `metanode up` again resumes this chain")


def _print_endpoints(console: Console, home: Path, entries: list[dev_home.NodeEntry]) -> None:
    from metanode.node import config as node_config  # noqa: PLC0415 - as in init
    from metanode.node import home as dev_home  # noqa: PLC0415 - as in init

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
    # Only a dev chain's keys are public. A testnet's faucet key is a secret: its passphrase is
    # in the environment for the nodes, and printing the key would hand the faucet to anyone
    # who reads the terminal or its log.
    if dev_home.read_genesis(home / dev_home.GENESIS).chain_kind == "dev":
        _print_dev_accounts(console, home)
    console.print("Ctrl-C stops the network.")


def _print_dev_accounts(console: Console, home: Path) -> None:
    from metanode.node import home as dev_home  # noqa: PLC0415 - as in init

    accounts = Table(title="Funded dev accounts (dev keys: never use them on a real chain)")
    accounts.add_column("key file")
    accounts.add_column("address")
    accounts.add_column("private key (Ed25519 seed)")
    for path in dev_home.account_key_files(home):
        key = keys.read_account(path, keys.password(_dev_password(home)))
        accounts.add_row(path.stem, str(keys.account_address(key)), key.seed.hex())
    console.print(accounts)


def _node_id(config_path: Path) -> str:
    from metanode.net import tls  # noqa: PLC0415

    pem = (config_path.parent / "node.pem").read_bytes()
    return str(tls.node_id(tls.certificate_key(pem)))


def _dev_password(home: Path) -> str | None:
    """A dev home's password (kept in its configs); elsewhere the environment's."""
    from metanode.node import config as node_config  # noqa: PLC0415 - as in init
    from metanode.node import home as dev_home  # noqa: PLC0415 - as in init

    entries = dev_home.node_entries(home)
    if entries:
        return node_config.load(entries[0].config_path).key_password
    return None


def node_urls(home: Path) -> list[tuple[str, str]]:
    """(name, API base URL) of every node of a network home, or of a single node's directory."""
    from metanode.node import config as node_config  # noqa: PLC0415 - as in init
    from metanode.node import home as dev_home  # noqa: PLC0415 - as in init

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
    import httpx  # noqa: PLC0415 - as in _answers

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


def logs_command(
    home: Home = DEFAULT_HOME,
    node: Annotated[
        str | None, typer.Option(help="Only this node (a name under nodes/); default: all.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The raw JSON lines.")] = False,
) -> None:
    """Print the nodes' logs (node.log, rotated files first), readable or as JSON lines."""
    node_dirs = _log_dirs(home, node)
    several = len(node_dirs) > 1

    def show(name: str, line: str) -> None:
        if as_json:
            typer.echo(line)
            return
        text = logs.readable(logs.parse(line))
        typer.echo(f"{name:<4} {text}" if several else text)

    if not follow:
        merged = [
            (logs.parse(line).get("time", ""), name, line)
            for name, node_dir in node_dirs.items()
            for line in logs.read(node_dir)
        ]
        merged.sort(key=lambda item: item[0])  # ISO 8601 UTC times sort as text; stable
        for _, name, line in merged:
            show(name, line)
        return
    # Ctrl-C (SIGINT) ends following even where it came in ignored: a shell without job control
    # starts a background command so (`metanode logs -f &` in a script, a CI step), and Python
    # then leaves it ignored, so that `kill -INT` would never end it. `up` and `start` take
    # SIGINT with handlers of their own likewise.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    followers = {name: logs.Follower(node_dir) for name, node_dir in node_dirs.items()}
    try:
        while True:
            for name, follower in followers.items():
                for line in follower.new_lines():
                    show(name, line)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how following ends: not a failure


def _log_dirs(home: Path, node: str | None) -> dict[str, Path]:
    from metanode.node import home as dev_home  # noqa: PLC0415 - as in init

    if (home / "config.toml").exists():
        return {home.name: home}
    entries = {entry.name: entry.config_path.parent for entry in dev_home.node_entries(home)}
    if not entries:
        raise ConfigError(f"no node under {home} (give --home a network home or a node's dir)")
    if node is None:
        return entries
    if node not in entries:
        raise ConfigError(f"no node {node!r} under {home}; its nodes: {', '.join(entries)}")
    return {node: entries[node]}
