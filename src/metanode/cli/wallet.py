"""`metanode keys | tx | query | faucet`: accounts and the gateway, from the command line.

Amounts are given and shown in coins with up to 9 decimals (`1.5` is 1,500,000,000 base
units), exactly, never through a float; base units appear only in JSON fields that say so
(`output.py`). Every read command takes `--json`, which prints JSON alone on stdout.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from metanode.crypto import ed25519
from metanode.errors import ConfigError, KeystoreError, MetanodeError
from metanode.node import keys
from metanode.types import Address, Denom, Transaction, Transfer
from metanode.types.messages import Message, format_coins

from . import output
from .network import DEFAULT_HOME, _dev_password, node_urls

if TYPE_CHECKING:
    import httpx

    from metanode.consensus.real_suite import ValidatorKeys

Home = Annotated[Path, typer.Option(help="The network's home directory.")]
Json = output.Json
NodeUrl = Annotated[
    str | None,
    typer.Option(
        "--node",
        help="Gateway: host:port, http://host:port or the URL `up` prints (default: first node).",
    ),
]
TIMEOUT_S = 10.0
tx_lifetime_blocks = 1_000

keys_app = typer.Typer(help="Account keys in the home's keystore.", no_args_is_help=True)
tx_app = typer.Typer(help="Sign and send transactions.", no_args_is_help=True)
query_app = typer.Typer(help="Read the chain through a gateway.", no_args_is_help=True)


class GatewayError(MetanodeError):
    """The gateway refused a request or could not be reached."""


def home_password(home: Path) -> str:
    """The passphrase of the home's key files: a dev home's from its config, else the
    operator's (METANODE_KEY_PASSWORD)."""
    return keys.password(_dev_password(home))


def _key_path(home: Path, name: str) -> Path:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"key name {name!r}: use letters, digits, - and _")
    return home / "keys" / f"{name}.key"


def gateway(home: Path, node: str | None) -> str:
    return gateway_base(node) if node is not None else node_urls(home)[0][1]


def gateway_base(node: str) -> str:
    """A `--node` value as the gateway's base URL (`http://host:port`): `host:port`,
    `http(s)://host:port`, or the gateway URL that `metanode up` prints (`…/api/v1`)."""
    import httpx  # noqa: PLC0415 - loads only for a command that calls a gateway (start-up)

    text = node.strip().rstrip("/")
    scheme_given = "://" in text
    try:
        url = httpx.URL(text if scheme_given else f"http://{text}")
        port_given = url.port is not None
    except (httpx.InvalidURL, ValueError):
        url, port_given = None, False
    if (
        url is None
        or url.scheme not in ("http", "https")
        or not url.host
        or not (port_given or scheme_given)  # `host` alone: which port?
        or url.path not in ("/", "/api/v1")
        or url.query
        or url.fragment
        or url.userinfo
    ):
        raise ConfigError(
            f"--node {node!r}: give host:port, http://host:port or the gateway URL that "
            "`metanode up` prints (http://127.0.0.1:8600/api/v1)"
        )
    return f"{url.scheme}://{url.netloc.decode()}"


def call(method: str, url: str, accepted: tuple[int, ...] = (), **options: Any) -> Any:
    """The gateway's JSON answer; an error status not in `accepted` is a GatewayError."""
    return request(method, url, accepted, **options).json()


def request(
    method: str, url: str, accepted: tuple[int, ...] = (), **options: Any
) -> httpx.Response:
    import httpx  # noqa: PLC0415 - as in gateway_base

    try:
        answer = httpx.request(method, url, timeout=TIMEOUT_S, **options)
    except httpx.HTTPError as error:
        raise GatewayError(f"cannot reach the gateway at {url}: {error}") from None
    if answer.status_code >= 400 and answer.status_code not in accepted:
        # What went wrong first, where it came from last: a person reads the reason.
        raise GatewayError(f"{problem_detail(answer)} (HTTP {answer.status_code} from {url})")
    return answer


def problem_detail(answer: httpx.Response) -> str:
    """A refusal's title and detail (problem+json), or the start of whatever else came."""
    try:
        problem = answer.json()
        return f"{problem.get('title')}: {problem.get('detail')}"
    except ValueError:
        return answer.text[:200]


def emit(data: Any, as_json: bool) -> None:
    if as_json:
        output.print_json(data)
    else:
        Console().print_json(json.dumps(data))


# keys ------------------------------------------------------------------------------------------


@keys_app.command("add")
def keys_add(name: str, home: Home = DEFAULT_HOME, as_json: Json = False) -> None:
    """Create a new account key NAME (encrypted with METANODE_KEY_PASSWORD, or a dev home's)."""
    path = _key_path(home, name)
    if path.exists():
        raise KeystoreError(f"{path} exists; choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ed25519.PrivateKey.generate()
    keys.write_account(path, key.seed, home_password(home))
    if as_json:
        output.print_json({"name": name, "address": str(keys.account_address(key))})
    else:
        typer.echo(f"{name} {keys.account_address(key)}")


@keys_app.command("list")
def keys_list(home: Home = DEFAULT_HOME, as_json: Json = False) -> None:
    """Every account key of the home, with its address."""
    from metanode.node import home as dev_home  # noqa: PLC0415 - as network.init

    password = home_password(home)
    found = [
        {"name": path.stem, "address": str(keys.account_address(keys.read_account(path, password)))}
        for path in dev_home.account_key_files(home)
    ]
    if as_json:
        output.print_json({"keys": found})
    else:
        for item in found:
            typer.echo(f"{item['name']:<12} {item['address']}")


@keys_app.command("show")
def keys_show(name: str, home: Home = DEFAULT_HOME, as_json: Json = False) -> None:
    """The address and public key of NAME."""
    key = keys.read_account(_key_path(home, name), home_password(home))
    data = {
        "name": name,
        "address": str(keys.account_address(key)),
        "public_key": key.public_key.hex(),
    }
    emit(data, as_json)


# tx --------------------------------------------------------------------------------------------


@tx_app.command("send")
def tx_send(
    to: Annotated[str, typer.Option(help="Recipient address (mn1…).")],
    amount: Annotated[str, typer.Option(help="Coins, e.g. 12.5.")],
    denom: Annotated[str, typer.Option(help="GEN, NEX, FLX or AUR.")] = "FLX",
    sender: Annotated[str, typer.Option("--from", help="Key name in the home.")] = "dev0",
    fee: Annotated[int, typer.Option(help="Fee in FLX base units (0: the chain's minimum).")] = 0,
    wait: Annotated[bool, typer.Option(help="Wait until the transaction is committed.")] = False,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Sign a transfer with a key of the home and submit it to a gateway. With --wait, a
    transaction committed with a result code other than ok reads FAILED, with its reason and
    the fee it was charged, and the command exits 1."""
    if denom not in Denom.__members__:
        raise ConfigError(f"--denom {denom!r}: one of {', '.join(Denom.__members__)}")
    recipient = Address.parse(to)
    key = keys.read_account(_key_path(home, sender), home_password(home))
    url = gateway(home, node)
    message = Transfer(recipient, output.parse_coins(amount), Denom[denom])
    if not wait:
        emit(submit(url, key, message, fee)[1], as_json)
        return
    with output.progress("waiting for the commit", json_output=as_json):
        record = commit(url, key, message, fee)
    _show_tx(record, as_json)
    if not record["ok"]:
        raise typer.Exit(output.FAILED)


def submit(url: str, key: ed25519.PrivateKey, message: Message, fee: int = 0) -> tuple[str, Any]:
    """Sign `message` with `key` at its account's next nonce and submit it to the gateway at
    `url`: (transaction hash, the gateway's admission)."""
    tx = signed(url, key, message, fee)
    answer = call(
        "POST",
        f"{url}/api/v1/txs",
        content=tx.encode(),
        headers={"content-type": "application/cbor"},
    )
    return tx.hash().hex(), answer


def signed(url: str, key: ed25519.PrivateKey, message: Message, fee: int = 0) -> Transaction:
    """`message` signed by `key` at its account's next nonce, as the gateway at `url` sees it."""
    account = call("GET", f"{url}/api/v1/accounts/{keys.account_address(key)}")
    status = call("GET", f"{url}/api/v1/status")
    unsigned = Transaction(
        status["chain_id"],
        key.public_key,
        account["nonce"],
        max(fee, 1_000),
        status["height"] + tx_lifetime_blocks,
        message,
    )
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


def commit(url: str, key: ed25519.PrivateKey, message: Message, fee: int = 0) -> dict[str, Any]:
    """Submit `message` and wait until it is committed: the gateway's record of it."""
    record: dict[str, Any] = wait_committed(url, submit(url, key, message, fee)[0])
    return record


def report(record: dict[str, Any], as_json: bool, facts: dict[str, Any]) -> None:
    """A committed transaction's outcome and what it made (`facts`: a DID, an address); one
    whose result code is not ok reads FAILED and ends the command with exit 1."""
    if as_json:
        output.print_json({**facts, "tx": record})
    else:
        typer.echo(_outcome(record))
        for name, value in facts.items():
            typer.echo(f"{name:<12} {value}")
    if not record["ok"]:
        raise typer.Exit(output.FAILED)


def event_attribute(record: dict[str, Any], kind: str, attribute: str) -> str | None:
    """An attribute of the first event of `kind` a committed transaction emitted."""
    receipt = record.get("receipt") or {}
    for event in receipt.get("events", []):
        if event["kind"] == kind:
            return str(event["attributes"][attribute])
    return None


def signer(home: Path, name: str) -> ed25519.PrivateKey:
    """The key NAME of a home: an account key (keys/NAME.key), else a node's own key
    (nodes/NAME/validator.key), with which a node signs its registration and its DID."""
    account = _key_path(home, name)
    if account.exists():
        return keys.read_account(account, home_password(home))
    return ed25519.PrivateKey.from_seed(node_keys(home, name).ed25519_seed)


def node_keys(home: Path, name: str) -> ValidatorKeys:
    path = home / "nodes" / name / "validator.key"
    if not path.exists():
        raise ConfigError(f"no key {name!r}: neither {_key_path(home, name)} nor {path} exists")
    return keys.read_validator(path, home_password(home))


def wait_committed(url: str, tx_hash: str, timeout_s: float = 30.0) -> Any:
    """The gateway holds each read until the commit (`wait_ms`, a few seconds at a time, under
    the client's own timeout): polling every 200 ms made a 10 ms dev-chain commit take 200."""
    deadline = time.monotonic() + timeout_s
    while (remaining_s := deadline - time.monotonic()) > 0:
        wait_ms = int(min(remaining_s, TIMEOUT_S / 2) * 1000)
        answer = call("GET", f"{url}/api/v1/txs/{tx_hash}", params={"wait_ms": wait_ms})
        if answer["committed"]:
            return answer
        time.sleep(0.05)  # an older gateway, without `wait_ms`, answers at once
    raise GatewayError(f"{tx_hash} not committed within {timeout_s:.0f} s")


def _show_tx(record: dict[str, Any], as_json: bool) -> None:
    """A transaction as the gateway gives it; a person reads first what became of it."""
    if not as_json:
        typer.echo(_outcome(record))
    emit(record, as_json)


def _outcome(record: dict[str, Any]) -> str:
    """One line: where the transaction is, and for a committed one whether it did what it
    asked (a failed one was still charged its fee, and nothing else changed)."""
    if not record["committed"]:
        if record["status"] == "queued":
            return f"queued: waiting for nonce {record['next_nonce']} of its sender"
        return "pending: in the mempool, not yet in a block"
    receipt = record["receipt"]
    fee = format_coins(receipt["fee_charged"], Denom.FLX)
    if record["ok"]:
        return f"committed at height {record['height']}, fee charged {fee}"
    code_name = receipt["code_name"]
    reason = code_name.rpartition(".")[2].replace("_", " ")
    return (
        f"FAILED: {reason} ({code_name}), committed at height {record['height']}; "
        f"fee charged {fee}, nothing else changed"
    )


# query -----------------------------------------------------------------------------------------


@query_app.command("balance")
def query_balance(
    address: str, home: Home = DEFAULT_HOME, node: NodeUrl = None, as_json: Json = False
) -> None:
    """Balances and nonce of ADDRESS, with the state proof the gateway gives."""
    Address.parse(address)
    answer = call("GET", f"{gateway(home, node)}/api/v1/accounts/{address}")
    base_units: dict[str, int] = answer["balances"]
    if as_json:
        answer["balances"] = {denom: output.coins(value) for denom, value in base_units.items()}
        answer["balances_base_units"] = base_units
        output.print_json(answer)
        return
    proof = answer["proof"]
    typer.echo(f"address  {answer['address']}")
    typer.echo(f"nonce    {answer['nonce']}")
    for denom, value in base_units.items():
        typer.echo(f"{denom:<8} {output.tokens(value, denom)}")
    typer.echo(f"proven   at height {proof['height']} against state root {proof['state_root']}")


@query_app.command("tx")
def query_tx(
    tx_hash: str, home: Home = DEFAULT_HOME, node: NodeUrl = None, as_json: Json = False
) -> None:
    """A transaction: pending or queued, or committed with its receipt and inclusion proof (a
    failed one reads FAILED first; the query itself succeeded, so it exits 0)."""
    _show_tx(call("GET", f"{gateway(home, node)}/api/v1/txs/{tx_hash}"), as_json)


@query_app.command("block")
def query_block(
    height: Annotated[str, typer.Argument(help="A height, or latest.")] = "latest",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """A committed block with its commit certificate."""
    if height != "latest" and not (height.isascii() and height.isdigit()):
        raise ConfigError(f"height {height!r}: a number, or latest")
    emit(call("GET", f"{gateway(home, node)}/api/v1/blocks/{height}"), as_json)


def faucet(
    address: str,
    denom: Annotated[str, typer.Option(help="FLX or NEX.")] = "FLX",
    amount: Annotated[str, typer.Option(help="Coins.")] = "1000",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Ask the gateway's faucet (dev and testnet chains) for coins."""
    from metanode.api import schemas  # noqa: PLC0415 - pydantic loads only for the faucet

    Address.parse(address)
    base_units = output.parse_coins(amount)
    if not 1 <= base_units <= schemas.FAUCET_AMOUNT_MAX:
        raise ConfigError(
            f"--amount {amount}: the faucet gives from {output.tokens(1, denom)} "
            f"to {output.tokens(schemas.FAUCET_AMOUNT_MAX, denom)} at a time"
        )
    body = {"address": address, "denom": denom, "amount": base_units}
    answer = call("POST", f"{gateway(home, node)}/api/v1/faucet", json=body)
    if as_json:
        output.print_json(
            {
                "hash": answer["hash"],
                "address": answer["address"],
                "denom": answer["denom"],
                "amount": output.coins(answer["amount"]),
                "amount_base_units": answer["amount"],
            }
        )
        return
    sent = output.tokens(answer["amount"], answer["denom"])
    typer.echo(f"the faucet sent {sent} to {answer['address']} in transaction {answer['hash']}")
