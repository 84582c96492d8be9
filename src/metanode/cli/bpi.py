"""`bpi`: build, run and check DockLock apps.

    bpi init NAME                      a new app from a WAT template (NAME/app.wat) and its
                                       manifest (NAME/app.toml: replicas, fuel price and limit)
    bpi deploy MODULE [--replicas N --fuel-price P --fuel-limit L]
                                       sign and commit a DeployApp; prints the app id, height
    bpi deploy MODULE --via-storage [--k K --n N] | --module-root ROOT
                                       a module too large for a transaction: placed in relay
                                       storage (or placed before), deployed by its root
    bpi call APP FUNCTION [ARGS…] [--fuel-limit L]
                                       sign and commit a CallApp; prints its sequence number
    bpi scale APP --replicas N         sign and commit a ScaleApp
    bpi upgrade APP MODULE [--via-storage [--k K --n N] | --module-root ROOT]
                                       the owner's new version: MODULE inline (UpgradeApp), or
                                       by relay storage as for deploy (UpgradeStoredApp)
    bpi monitor APP [--once] [--interval S]
                                       the app live: calls/s, fuel, replicas and their
                                       agreement, LogBlocks, disputes (--json: one snapshot)
    bpi logs APP [--from SEQ] [--follow]
                                       the app's `log` host calls, from its receipts
    bpi exec MODULE FUNCTION [ARGS…] --state DIR --receipt FILE
    bpi replay RECEIPT                 first line: `match` or `diverged at step N`
    bpi inspect RECEIPT [--json]
    bpi dev APP_DIR                    watch the app: rebuild, deploy then upgrade on change,
                                       print each call's receipt (docs/devloop.md)
    bpi dispute open RECEIPT --claim ROOT | show ID
                                       challenge a receipt in the court, read a dispute
                                       (cli/dispute.py)
    bpi blob put FILE | get ROOT --out FILE | status ROOT | delete ROOT
                                       blobs on the storage nodes (cli/blob.py)
    bpi native [--stdin FILE] [--json] EXECUTABLE [ARGS…]
                                       run a Linux program twice under bubblewrap + seccomp;
                                       first line: `deterministic` or `nondeterministic`
                                       (options after EXECUTABLE are the program's own)

Exit codes, as for `metanode` (`output.py`): 0 ok; 1 a failed outcome (an `exec` whose outcome
is not `ok`, a replay that diverged, a nondeterministic native run, a transaction the chain
refused, a `call --wait` whose receipt or LogBlock did not come within `--wait-s`); 2 a usage
error.

`deploy`, `upgrade`, `call` and `scale` sign with a key of a network home (`--from`,
`--home`) and submit through its gateway (`--node`) by wallet.py's one sign-submit-wait path
(docs/apps.md). A deploy takes the options it is not given from the manifest app.toml beside
MODULE, if there is one. The fuel price is in FLX per unit of fuel, as coins (`0.000000001`
is one base unit).

The app state lives in DIR (state.cbor, and last-receipt for the chain of receipts); the
executor's Ed25519 key is DIR/executor.key, encrypted with the password in BPI_KEY_PASSWORD.
ARGS become the call's input, joined by single spaces. Block time and seed default to 0 and
32 zero bytes: a call's context comes from the caller, never from this machine's clock.
"""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import cbor2
import typer
from rich.console import Console
from rich.table import Table

from metanode.codec import decode, encode
from metanode.crypto import ed25519, keystore
from metanode.docklock import constants as cage_constants
from metanode.docklock import native as native_mode
from metanode.docklock.receipt import Bundle
from metanode.errors import ConfigError, DecodeError, MetanodeError
from metanode.node import keys as node_keys
from metanode.storage import coding as storage_coding
from metanode.storage import constants as storage_constants
from metanode.types import (
    CallApp,
    Denom,
    DeployApp,
    DeployStoredApp,
    ScaleApp,
    UpgradeApp,
    UpgradeStoredApp,
)
from metanode.types.messages import format_coins

from . import apps_view, blob, output, policy, wallet
from .blob import blob_app
from .bpi_dev import dev
from .dispute import dispute_app
from .network import DEFAULT_HOME, node_urls
from .wallet import Home, Json, NodeUrl

# wasmtime (with the cage, the executor and the replay, which load it) and the storage nodes'
# client (httpx) load only in the commands that run or place a module, not at every start.
if TYPE_CHECKING:
    from metanode.node import blobs

wait_poll_s = 0.2
app = typer.Typer(
    name="bpi",
    help="Build, run and check DockLock apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(dispute_app, name="dispute")
app.add_typer(blob_app, name="blob")

TEMPLATE = """;; {name}: a DockLock app. Build nothing: bpi runs WAT directly.
;; `hello` writes its input back, prefixed with "hello ", and counts its calls in state.
(module
  (import "env" "input_len" (func $input_len (result i32)))
  (import "env" "input_read" (func $input_read (param i32)))
  (import "env" "output_write" (func $output_write (param i32 i32)))
  (import "env" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "calls")
  (data (i32.const 16) "hello ")
  (func (export "hello")
    (local $n i32)
    (if (i32.lt_s (call $state_get (i32.const 0) (i32.const 5) (i32.const 8) (i32.const 8))
                  (i32.const 0))
      (then (i64.store (i32.const 8) (i64.const 0))))
    (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.const 1)))
    (call $state_set (i32.const 0) (i32.const 5) (i32.const 8) (i32.const 8))
    (local.set $n (call $input_len))
    (call $input_read (i32.const 22))
    (call $output_write (i32.const 16) (i32.add (local.get $n) (i32.const 6)))))
"""
MANIFEST = """# {name}: what `bpi deploy` asks the chain for when no option says otherwise.
[app]
module = "app.wat"
replicas = 2
fuel_price = "0.000000001"  # FLX per unit of fuel
fuel_limit = 1000000  # fuel per call, at most
"""
MANIFEST_KEYS = {"module", "replicas", "fuel_price", "fuel_limit"}
DEV_PASSWORD = "bpi-dev-password"  # a development default, announced when used


def module_bytes(path: Path) -> bytes:
    import wasmtime  # noqa: PLC0415 - start-up: see the TYPE_CHECKING import

    from metanode.docklock import cage  # noqa: PLC0415 - as wasmtime

    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read module {path}: {error.strerror}") from None
    if path.suffix == ".wat":
        try:
            return cage.wat_to_wasm(data.decode("utf-8"))
        except (UnicodeDecodeError, wasmtime.WasmtimeError) as error:
            raise ConfigError(f"{path} is not valid WAT: {str(error).splitlines()[0]}") from None
    return data


def password() -> str:
    value = os.environ.get("BPI_KEY_PASSWORD")
    if value:
        return value
    typer.echo("bpi: BPI_KEY_PASSWORD is not set; using the development password", err=True)
    return DEV_PASSWORD


def executor_key(state_dir: Path) -> ed25519.PrivateKey:
    path = state_dir / "executor.key"
    if path.exists():
        _, seed = keystore.read_keyfile(path, password())
        return ed25519.PrivateKey.from_seed(seed)
    key = ed25519.PrivateKey.generate()
    keystore.write_keyfile(path, key.seed, password(), kind="ed25519-executor")
    return key


def load_state(state_dir: Path) -> tuple[dict[bytes, bytes], bytes]:
    from metanode.docklock.executor import ZERO  # noqa: PLC0415 - as in module_bytes

    state_file, link_file = state_dir / "state.cbor", state_dir / "last-receipt"
    state: dict[bytes, bytes] = {}
    if state_file.exists():
        value = decode(state_file.read_bytes())
        if not isinstance(value, cbor2.frozendict):
            raise DecodeError("wrong_type", f"{state_file} does not hold an app state map")
        state = dict(value)
    previous = link_file.read_bytes() if link_file.exists() else ZERO
    return state, previous


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="Directory for the new app.")],
    as_json: Json = False,
) -> None:
    """Create NAME/app.wat from the template and its manifest NAME/app.toml."""
    target = Path(name)
    for existing in (target / "app.wat", target / "app.toml"):
        if existing.exists():
            raise ConfigError(f"{existing} exists; refusing to overwrite it")
    target.mkdir(parents=True, exist_ok=True)
    (target / "app.wat").write_text(TEMPLATE.format(name=target.name))
    (target / "app.toml").write_text(MANIFEST.format(name=target.name))
    if as_json:
        output.print_json({"module": str(target / "app.wat"), "manifest": str(target / "app.toml")})
        return
    typer.echo(
        f"created {target / 'app.wat'} and {target / 'app.toml'}; run: bpi exec "
        f"{target / 'app.wat'} hello world --state {target / 'state'} --receipt "
        f"{target / 'receipt.cbor'}, or deploy it: bpi deploy {target / 'app.wat'}"
    )


def manifest(module: Path | None) -> dict[str, Any]:
    """The [app] table of app.toml beside `module`, or nothing if there is none."""
    path = None if module is None else module.parent / "app.toml"
    if path is None or not path.exists():
        return {}
    try:
        table = tomllib.loads(path.read_text()).get("app", {})
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    if not isinstance(table, dict) or not set(table) <= MANIFEST_KEYS:
        raise ConfigError(f"{path}: [app] takes only {', '.join(sorted(MANIFEST_KEYS))}")
    return table


def _whole(value: Any, name: str, minimum: int = 1) -> int:
    if type(value) is not int or value < minimum:
        raise ConfigError(f"{name} {value!r}: expected a whole number ≥ {minimum}")
    return value


def app_id_of(text: str) -> bytes:
    try:
        app_id = bytes.fromhex(text)
    except ValueError:
        app_id = b""
    if len(app_id) != 32:
        raise ConfigError(f"app {text!r}: expected the 64 hex digits `bpi deploy` printed")
    return app_id


Replicas = Annotated[int | None, typer.Option(help="Executors that run each call.")]
Sender = Annotated[str, typer.Option("--from", help="Key name in the home.")]


FuelPrice = Annotated[
    str | None, typer.Option(help="FLX per unit of fuel, in coins (0.000000001 = 1 unit).")
]
FuelLimit = Annotated[int | None, typer.Option(help="Fuel per call, at most.")]
ViaStorage = Annotated[
    bool, typer.Option(help="Place MODULE in relay storage first and send it by its root.")
]
ModuleRoot = Annotated[
    str | None, typer.Option(metavar="ROOT", help="The module already placed as blob ROOT.")
]
SharesK = Annotated[int, typer.Option(help="With --via-storage: shares any k rebuild it.")]
SharesN = Annotated[int, typer.Option(help="With --via-storage: shares placed.")]


@app.command()
def deploy(
    module: Annotated[
        Path | None, typer.Argument(help="The app: .wat or .wasm (not with --module-root).")
    ] = None,
    replicas: Replicas = None,
    fuel_price: FuelPrice = None,
    fuel_limit: FuelLimit = None,
    via_storage: ViaStorage = False,
    module_root: ModuleRoot = None,
    k: SharesK = 4,
    n: SharesN = 6,
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Deploy MODULE as an app owned by --from: prints its id (the module's BLAKE3 hash) and
    the height it was committed at. The chain checks the module by the cage's rules. A module
    too large for a transaction goes by relay storage: --via-storage places it as a blob
    (k-of-n) and deploys it by its root; --module-root deploys a blob the sender placed before
    (docs/storage.md). The executors check such a module as they fetch it."""
    owner = wallet.signer(home, sender)
    beside = None if module_root is not None else module  # where a manifest may be
    terms = deploy_message(beside, b"", replicas, fuel_price, fuel_limit)
    source = module_source(module, via_storage, module_root, k, n, owner, home, node, as_json)
    if isinstance(source, Path):
        deploy_module(source, replicas, fuel_price, fuel_limit, owner, home, node, as_json)
    else:
        deploy_stored(source, terms, owner, home, node, as_json)


def module_source(
    module: Path | None,
    via_storage: bool,
    module_root: str | None,
    k: int,
    n: int,
    owner: ed25519.PrivateKey,
    home: Path,
    node: str | None,
    as_json: bool,
) -> tuple[blobs.Target, bytes] | Path:
    """The module `bpi deploy` or `bpi upgrade` sends, as the options name it: by relay
    storage, its placed blob and bytes (blob ROOT placed before, read from its holders and
    verified against ROOT; or MODULE, checked by the cage's rules and placed k-of-n now with
    `--via-storage`); else the path of MODULE, sent inline. A placement the chain refuses is
    reported, exit 1."""
    from metanode.node import blobs  # noqa: PLC0415 - as in module_bytes

    if module_root is not None:
        if module is not None or via_storage:
            raise ConfigError("--module-root names the module: give no MODULE nor --via-storage")
        return blob.with_blob(module_root, home, node, blobs.read_blob)
    if module is None:
        raise ConfigError("give MODULE, or --module-root ROOT")
    if not via_storage:
        return module
    code = module_bytes(module)
    _functions(code)  # a module the cage refuses is not placed (nor paid for)
    record, target = blob.place(code, k, n, storage_constants.chunk_bytes, owner, home, node)
    if target is None:
        wallet.report(record, as_json, {"root": storage_coding.content_root(code).hex()})
        raise typer.Exit(output.FAILED)  # `report` exits so already: for the type checker
    return target, code


def _functions(code: bytes) -> tuple[str, ...]:
    """The functions a call may name, by the cage's own check (what executors will check)."""
    from metanode.docklock import cage  # noqa: PLC0415 - as in module_bytes

    checked = cage.check_module(code)
    if checked.outcome != cage.OK:
        raise ConfigError(f"the module is refused by the cage's rules: {checked.outcome}")
    return checked.functions


def deploy_stored(
    stored: tuple[blobs.Target, bytes],
    terms: DeployApp,
    owner: ed25519.PrivateKey,
    home: Path,
    node: str | None,
    as_json: bool,
) -> None:
    """Sign and commit a DeployStoredApp of the placed blob `stored` (its placement and its
    bytes, verified against its root) with the replicas and fuel of `terms`."""
    from metanode.docklock import cage  # noqa: PLC0415 - as in module_bytes

    target, code = stored
    message = DeployStoredApp(
        target.root,
        target.layout.size,
        cage.app_id(code),
        _functions(code),
        terms.replicas,
        terms.fuel_price,
        terms.fuel_limit,
    )
    record = wallet.commit(wallet.gateway(home, node), owner, message)
    stored = {
        "root": target.root.hex(),
        "size": target.layout.size,
        "functions": list(message.functions),
    }
    wallet.report(record, as_json, _deployed(message.module_hash, record, message) | stored)


def _deployed(
    app_id: bytes, record: dict[str, Any], terms: DeployApp | DeployStoredApp
) -> dict[str, Any]:
    """What a deploy reports: the app id, where it was committed, its terms."""
    return {
        "app": app_id.hex(),
        "height": record["height"],
        "replicas": terms.replicas,
        "fuel_price": f"{format_coins(terms.fuel_price, Denom.FLX)} per fuel",
        "fuel_price_base_units": terms.fuel_price,
        "fuel_limit": terms.fuel_limit,
    }


def deploy_module(
    module: Path,
    replicas: int | None,
    fuel_price: str | None,
    fuel_limit: int | None,
    owner: ed25519.PrivateKey,
    home: Path,
    node: str | None,
    as_json: bool,
) -> None:
    """Sign and commit a DeployApp of MODULE by `owner`, options not given from the manifest
    beside it; report the app id and height (`bpi deploy`, `bpci deploy`)."""
    from metanode.docklock import cage  # noqa: PLC0415 - as in module_bytes

    message = deploy_message(module, module_bytes(module), replicas, fuel_price, fuel_limit)
    url = wallet.gateway(home, node)
    record = wallet.commit(url, owner, message)
    wallet.report(record, as_json, _deployed(cage.app_id(message.module), record, message))


def deploy_message(
    module: Path | None,
    code: bytes,
    replicas: int | None = None,
    fuel_price: str | None = None,
    fuel_limit: int | None = None,
) -> DeployApp:
    """A DeployApp of `code`, what is not given taken from the manifest beside `module`."""
    defaults = manifest(module)
    price = output.parse_coins(fuel_price or str(defaults.get("fuel_price", "0.000000001")))
    return DeployApp(
        code,
        _whole(replicas if replicas is not None else defaults.get("replicas", 1), "--replicas"),
        price,
        _whole(
            fuel_limit
            if fuel_limit is not None
            else defaults.get("fuel_limit", cage_constants.fuel_max),
            "--fuel-limit",
        ),
    )


@app.command()
def call(
    app_id: Annotated[str, typer.Argument(metavar="APP", help="The app id (64 hex digits).")],
    function: Annotated[str, typer.Argument(help="The exported function to call.")],
    args: Annotated[list[str] | None, typer.Argument(help="The call's input.")] = None,
    fuel_limit: Annotated[
        int | None, typer.Option(help="Fuel for this call (default: the app's limit).")
    ] = None,
    version: Annotated[int, typer.Option(min=0, help="Version to call (0: current).")] = 0,
    wait: Annotated[
        bool,
        typer.Option(help="Wait for the receipt (output, hash) and then its LogBlock on chain."),
    ] = False,
    wait_s: Annotated[
        float, typer.Option(min=0.1, help="With --wait: give up after this many seconds.")
    ] = 120.0,
    region: policy.Region = None,
    purpose: policy.Purpose = None,
    data_type: policy.DataTypes = None,
    consent: policy.Consent = None,
    transport: Annotated[str, typer.Option(help="How the call reaches the gateway.")] = "https",
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Call FUNCTION of APP with ARGS (joined by spaces) as input: the gateway lights it by the
    app's policy with what you declare (docs/policy.md; Red is refused, exit 1, with the node's
    signed record), the chain orders it and escrows fuel limit × fuel price FLX; prints the
    call's sequence number and light, and with --wait the output and receipt hash once an
    executor answers, then the LogBlock that notarised it."""
    parsed = app_id_of(app_id)
    url = wallet.gateway(home, node)
    if fuel_limit is None:
        fuel_limit = wallet.call("GET", f"{url}/api/v1/apps/{parsed.hex()}")["fuel_limit"]
    message = CallApp(parsed, version, function, " ".join(args or []).encode(), fuel_limit)
    tx = wallet.signed(url, wallet.signer(home, sender), message)
    declared = policy.declaration(region, purpose, data_type, consent, transport)
    body = {"tx": tx.encode().hex(), "request": declared}
    routed = wallet.call("POST", f"{url}/api/v1/apps/{parsed.hex()}/calls", (403,), json=body)
    light = {"light": routed["decision"]["light"], "rule": routed["decision"]["rule"]}
    if routed["admitted"] is None:
        refusal = {"app": parsed.hex(), **light, "detail": routed["decision"]["detail"]}
        if as_json:
            output.print_json({**refusal, "routing": routed["routing"]})
        else:
            typer.echo(f"REFUSED (red): {light['rule']}: {refusal['detail']}")
        raise typer.Exit(output.FAILED)
    record = wallet.wait_committed(url, tx.hash().hex())
    seq = wallet.event_attribute(record, "app_called", "seq")
    facts: dict[str, Any] = {
        "app": parsed.hex(),
        "seq": None if seq is None else int(seq, 16),
        "function": function,
        "fuel_limit": message.fuel_limit,
        "height": record["height"],
        **light,
    }
    if wait and seq is not None:
        with output.progress(f"waiting for call {int(seq, 16)}'s receipt", json_output=as_json):
            facts |= _notarised(urls_of(home, node), parsed.hex(), int(seq, 16), wait_s)
    wallet.report(record, as_json, facts)


def _notarised(gateways: list[str], app: str, seq: int, wait_s: float) -> dict[str, Any]:
    """The call's receipt from the first gateway whose node executed it, then the LogBlock
    that holds it (any gateway answers that from the chain)."""
    deadline = time.monotonic() + wait_s
    receipt = None
    while receipt is None:
        for gateway in gateways:
            page = wallet.call(
                "GET", f"{gateway}/api/v1/apps/{app}/receipts?from={seq}&limit=1", (404,)
            )
            found = [item for item in page.get("receipts", []) if item["seq"] == seq]
            if found:
                receipt = found[0]
                break
        else:
            _pause(deadline, f"no executor answered call {seq} of app {app}")
    while True:
        notarised = wallet.call("GET", f"{gateways[0]}/api/v1/receipts/{receipt['hash']}", (404,))
        if "logblock_hash" in notarised:
            return {
                "output": receipt["output"],
                "outcome": receipt["outcome"],
                "receipt": receipt["hash"],
                "logblock": notarised["logblock_hash"],
                "logblock_number": notarised["logblock_number"],
                "logblock_height": notarised["height"],
            }
        _pause(deadline, f"receipt {receipt['hash']} is not in a LogBlock on chain")


def _pause(deadline: float, waiting_for: str) -> None:
    if time.monotonic() >= deadline:
        raise CallNotAnswered(f"gave up waiting: {waiting_for} within --wait-s")
    time.sleep(wait_poll_s)


class CallNotAnswered(MetanodeError):
    """`call --wait` gave up: the call is on chain, its receipt or LogBlock did not come."""


Once = Annotated[bool, typer.Option(help="Print one snapshot and exit (--json always does).")]
Interval = Annotated[float, typer.Option(min=0.1, help="Seconds between refreshes.")]


def urls_of(home: Path, node: str | None) -> list[str]:
    """--node, or every node of the home: the first is read for the chain."""
    return [wallet.gateway_base(node)] if node is not None else [url for _, url in node_urls(home)]


@app.command()
def monitor(
    app_id: Annotated[str, typer.Argument(metavar="APP", help="The app id (64 hex digits).")],
    once: Once = False,
    interval: Interval = 2.0,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The app live: calls per second, fuel, its replicas and whether they agree, LogBlocks
    and disputes, refreshed every --interval seconds until Ctrl-C (executors are read at
    every node of the home, or at --node only)."""
    app = app_id_of(app_id).hex()
    urls = urls_of(home, node)
    executors = apps_view.gateways(urls)
    if not executors:
        raise wallet.GatewayError(f"no gateway answers at {', '.join(urls)}")
    while True:
        seen = apps_view.snapshot(executors[0].url, executors, app)
        if as_json:
            output.print_json(seen)
            return
        _show_snapshot(seen)
        if once:
            return
        time.sleep(interval)


def _show_snapshot(seen: dict[str, Any]) -> None:
    console = Console(width=200)
    console.print(f"app {seen['app']} at height {seen['height']}")
    console.print(
        f"calls {seen['calls']} ({seen['calls_per_s']}/s), fuel {seen['fuel_per_s']}/s at "
        f"{seen['fuel_price']}; the last {seen['settled_recent']} settled used "
        f"{seen['fuel_used_recent']} fuel"
    )
    table = Table("executor", "drawn now", "last call run", "receipts (last 100 calls)")
    for replica in seen["executors"]:
        table.add_row(
            replica["node"],
            "yes" if replica["drawn_now"] else "no",
            str(replica["last_seq"]),
            str(replica["answered_recent"]),
        )
    console.print(f"replicas {seen['replicas']}")
    console.print(table)
    agreement = seen["agreement"]
    console.print(
        f"agreement: {agreement['compared']} calls compared, "
        f"{len(agreement['disagreed'])} disagreed {agreement['disagreed'] or ''}".rstrip()
    )
    last = seen["last_logblock"]
    console.print(
        f"LogBlocks {seen['logblocks']}, notarised to call {seen['notarised_to']}"
        + (
            f" (last #{last['number']} at height {last['height']}: calls "
            f"{last['first_seq']}..{last['last_seq']}, {last['leaves']} receipts)"
            if last
            else ""
        )
    )
    console.print(f"disputes: {show_disputes(seen['disputes'])}")


def show_disputes(disputes: dict[str, int]) -> str:
    return (
        f"{disputes['ranges_withheld']} ranges withheld, court {disputes['court_open']} open "
        f"{disputes['court_settled']} settled"
    )


@app.command()
def logs(
    app_id: Annotated[str, typer.Argument(metavar="APP", help="The app id (64 hex digits).")],
    start: Annotated[int, typer.Option("--from", min=0, help="The first call.")] = 0,
    follow: Annotated[
        bool, typer.Option(help="Keep printing new calls' logs until Ctrl-C.")
    ] = False,
    interval: Interval = 0.5,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The app's `log` host calls, from its executors' receipts, in call order: one line per
    log, `SEQ TEXT` (`--json`: one object per line, with the bytes in hex)."""
    app = app_id_of(app_id).hex()
    urls = urls_of(home, node)
    while True:
        found, start = apps_view.logs(urls, app, start)
        for seq, entry in found:
            text = entry.decode("utf-8", errors="replace")
            if as_json:
                output.print_json({"app": app, "seq": seq, "log": text, "hex": entry.hex()})
            else:
                typer.echo(f"{seq} {text}")
        if not follow:
            return
        time.sleep(interval)


@app.command()
def scale(
    app_id: Annotated[str, typer.Argument(metavar="APP", help="The app id (64 hex digits).")],
    replicas: Annotated[int, typer.Option(help="Executors that run each call.")],
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Set how many executors run APP's calls (its owner only)."""
    parsed = app_id_of(app_id)
    url = wallet.gateway(home, node)
    record = wallet.commit(url, wallet.signer(home, sender), ScaleApp(parsed, replicas))
    wallet.report(
        record, as_json, {"app": parsed.hex(), "replicas": replicas, "height": record["height"]}
    )


@app.command()
def upgrade(
    app_id: Annotated[str, typer.Argument(metavar="APP", help="The app id (64 hex digits).")],
    module: Annotated[
        Path | None, typer.Argument(help="The new module: .wat or .wasm (not with --module-root).")
    ] = None,
    via_storage: ViaStorage = False,
    module_root: ModuleRoot = None,
    k: SharesK = 4,
    n: SharesN = 6,
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Upgrade APP (its owner only) to MODULE: a new version, the one calls run from the next
    block on; earlier versions stay on record, a call may still name one and their receipts
    stay valid. Prints the version and the height. MODULE goes inline (the chain checks it by
    the cage's rules), or by relay storage as for `bpi deploy`: --via-storage places it
    (k-of-n: only once the app is known to be --from's), --module-root upgrades to a blob the
    owner placed before; the executors check such a module as they fetch it."""
    from metanode.docklock import cage  # noqa: PLC0415 - as in module_bytes

    parsed = app_id_of(app_id)
    owner = wallet.signer(home, sender)
    if via_storage:
        _owns(wallet.gateway(home, node), parsed, owner)
    source = module_source(module, via_storage, module_root, k, n, owner, home, node, as_json)
    facts: dict[str, Any] = {"app": parsed.hex()}
    message: UpgradeApp | UpgradeStoredApp
    if isinstance(source, Path):
        message = UpgradeApp(parsed, module_bytes(source))
        facts["module_hash"] = cage.app_id(message.module).hex()
    else:
        target, code = source
        message = UpgradeStoredApp(
            parsed, target.root, target.layout.size, cage.app_id(code), _functions(code)
        )
        facts |= {
            "module_hash": message.module_hash.hex(),
            "root": target.root.hex(),
            "size": target.layout.size,
            "functions": list(message.functions),
        }
    record = wallet.commit(wallet.gateway(home, node), owner, message)
    version = wallet.event_attribute(record, "app_upgraded", "version")
    facts |= {"version": None if version is None else int(version, 16), "height": record["height"]}
    wallet.report(record, as_json, facts)


def _owns(url: str, app_id: bytes, owner: ed25519.PrivateKey) -> None:
    """Refuse, before a module is placed and paid for, an upgrade the chain would refuse for
    its app: none with this id, or one another account owns."""
    view = wallet.call("GET", f"{url}/api/v1/apps/{app_id.hex()}", (404,))
    if "owner" not in view:
        raise ConfigError(f"app {app_id.hex()} is not deployed: nothing to upgrade")
    if view["owner"] != str(node_keys.account_address(owner)):
        raise ConfigError(f"app {app_id.hex()} is owned by {view['owner']}, not by --from")


@app.command("exec")
def exec_(
    module: Annotated[Path, typer.Argument(help="The app: .wat or .wasm.")],
    function: Annotated[str, typer.Argument(help="The exported function to call.")],
    args: Annotated[list[str] | None, typer.Argument(help="The call's input.")] = None,
    state: Annotated[Path, typer.Option(help="App state directory.")] = Path("state"),
    receipt: Annotated[Path, typer.Option(help="Where to write the receipt bundle.")] = Path(
        "receipt.cbor"
    ),
    block_time: Annotated[int, typer.Option(min=0, help="The call's block time.")] = 0,
    seed: Annotated[str, typer.Option(help="32-byte hex seed of random_u64.")] = "00" * 32,
    as_json: Json = False,
) -> None:
    """Run FUNCTION of MODULE in the cage and write a signed receipt."""
    from metanode.docklock.executor import execute  # noqa: PLC0415 - as in module_bytes

    try:
        seed_bytes = bytes.fromhex(seed)
    except ValueError:
        raise ConfigError("--seed must be hex") from None
    if len(seed_bytes) != 32:
        raise ConfigError("--seed must be 32 bytes of hex")
    code = module_bytes(module)
    state.mkdir(parents=True, exist_ok=True)
    current, previous = load_state(state)
    key = executor_key(state)
    input_ = " ".join(args or []).encode()
    bundle, after = execute(
        code, function, input_, current, key, block_time=block_time, seed=seed_bytes,
        previous=previous,
    )  # fmt: skip
    output.write_atomically(receipt, bundle.encode())
    output.write_atomically(state / "state.cbor", encode(after))
    output.write_atomically(state / "last-receipt", bundle.receipt.hash())
    if as_json:
        output.print_json(
            {
                "outcome": bundle.receipt.outcome,
                "output": bundle.output.hex(),
                "receipt": str(receipt),
                "receipt_hash": bundle.receipt.hash().hex(),
            }
        )
    else:
        typer.echo(f"outcome: {bundle.receipt.outcome}")
        typer.echo(f"output: {bundle.output!r}")
        typer.echo(f"receipt: {receipt} ({bundle.receipt.hash().hex()})")
    if bundle.receipt.outcome != "ok":  # the receipt records the failure; the run still failed
        raise typer.Exit(output.FAILED)


def read_bundle(path: Path) -> Bundle:
    try:
        return Bundle.decode(path.read_bytes())
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None


@app.command()
def replay(
    receipt: Annotated[Path, typer.Argument(help="A receipt bundle.")], as_json: Json = False
) -> None:
    """Re-run the receipt's call; print `match` or `diverged at step N` and why."""
    from metanode.docklock.replay import replay as replay_bundle  # noqa: PLC0415 - as above

    verdict = replay_bundle(read_bundle(receipt))
    if as_json:
        output.print_json(
            {
                "result": "match" if verdict.matches else "diverged",
                "step": verdict.step,
                "what": verdict.what,
                "expected": verdict.expected,
                "happened": verdict.happened,
            }
        )
    else:
        for line in verdict.lines():
            typer.echo(line)
    if not verdict.matches:
        raise typer.Exit(output.FAILED)


@app.command()
def inspect(
    receipt: Annotated[Path, typer.Argument(help="A receipt bundle.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show a receipt."""
    bundle = read_bundle(receipt)
    signed = [n for n in bundle.receipt.__slots__ if n not in ("signature", "request")]  # type: ignore[attr-defined]
    # A version 2 receipt's body ends with its request's fields (docklock/receipt.py).
    origin = [] if bundle.receipt.request is None else ["request_tx", "client", "client_signature"]
    fields = {
        name: (value.hex() if isinstance(value, bytes) else value)
        for name, value in zip(("version", *signed, *origin), bundle.receipt.body(), strict=True)
    }
    fields["signature"] = bundle.receipt.signature.hex()
    fields["hash"] = bundle.receipt.hash().hex()
    if as_json:
        output.print_json(fields)
        return
    table = Table(title=f"receipt {receipt}")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for name, value in fields.items():
        table.add_row(name, str(value))
    Console().print(table)


@app.command(context_settings={"allow_interspersed_args": False})
def native(
    executable: Annotated[str, typer.Argument(help="The program (a path, or a name on PATH).")],
    args: Annotated[list[str] | None, typer.Argument(help="Its arguments.")] = None,
    stdin: Annotated[Path | None, typer.Option(help="A file given to it as stdin.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run an ordinary executable twice in the native sandbox and compare the runs."""
    data = b""
    if stdin is not None:
        try:
            data = stdin.read_bytes()
        except OSError as error:
            raise ConfigError(f"cannot read {stdin}: {error.strerror}") from None
    result = native_mode.run(executable, tuple(args or ()), data)
    summary = {
        "executable": result.executable,
        "executable_hash": result.executable_hash,
        "args": list(result.args),
        "input_hash": result.input_hash,
        "exit_code": result.exit_code,
        "output_hash": result.output_hash,
        "stdout": result.stdout.decode(errors="replace"),
        "stderr": result.stderr.decode(errors="replace"),
        "deterministic": result.deterministic,
    }
    if as_json:
        output.print_json(summary)
    else:
        typer.echo("deterministic" if result.deterministic else "nondeterministic")
        for key, value in summary.items():
            typer.echo(f"{key}: {value}")
    if not result.deterministic:
        raise typer.Exit(output.FAILED)


app.command("dev")(dev)


def main() -> None:
    output.run(app, "bpi")
