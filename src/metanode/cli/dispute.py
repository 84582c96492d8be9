"""`bpi dispute`: challenge an execution receipt in the court and read disputes
(docs/court.md).

    bpi dispute open RECEIPT --claim ROOT [--from-start] [--bond COINS]
                                       sign and commit an OpenDispute; prints the dispute id
    bpi dispute challenge RECEIPT --receipt FILE [--bond COINS]
                                       sign and commit a ChallengeReceipt (message 39) with
                                       your own receipt of RECEIPT's call; prints the dispute id
    bpi dispute show ID [--json]       a dispute: sides, range, roots, turns, deadline, ruling

RECEIPT is a receipt's hash (64 hex digits: the gateway names its app and call, and its
executor gateway serves its body), the hex of an encoded receipt, or a file: a bundle that
`bpi exec --receipt` wrote, or an encoded receipt. ROOT is the app's state root after the
receipt's call as you hold it; a challenge instead brings your own signed receipt of the call
(a file, as RECEIPT's; signed by the `--from` key), so a wrong output with a right root is
disputed too. The bond is in FLX coins; the chain refuses less than its
`court.bond` parameter (10 FLX at genesis by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from metanode.codec import decode, encode
from metanode.docklock.receipt import Bundle, Receipt
from metanode.errors import ConfigError, DecodeError
from metanode.types import ChallengeReceipt, Denom, OpenDispute
from metanode.types.messages import Message, format_coins

from . import output, wallet
from .network import DEFAULT_HOME
from .wallet import Home, Json, NodeUrl

dispute_app = typer.Typer(
    help="Disputes over execution receipts (the court).", no_args_is_help=True
)
HEX32_LENGTH = 64
# The options both ways of challenging share.
ReceiptArgument = Annotated[
    str, typer.Argument(help="Receipt hash, receipt hex, or a bundle or receipt file.")
]
Bond = Annotated[str, typer.Option(help="FLX to bond, in coins.")]
Sender = Annotated[str, typer.Option("--from", help="Key name in the home.")]


def _receipt_from_bytes(data: bytes, origin: str) -> Receipt:
    try:
        return Bundle.decode(data).receipt
    except DecodeError:
        pass
    try:
        return Receipt.from_wire(decode(data))
    except DecodeError as error:
        raise ConfigError(f"{origin} is neither a receipt bundle nor a receipt: {error}") from None


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ConfigError(f"{what} must be hex: {text!r}") from None


def fetch_receipt(url: str, receipt_hash: str) -> Receipt:
    """The body of a notarised receipt, from the executor gateway of the node at `url`."""
    notarised = wallet.call("GET", f"{url}/api/v1/receipts/{receipt_hash}")
    app, seq = notarised["app_id"], notarised["leaf"]["call_seq"]
    page = wallet.call("GET", f"{url}/api/v1/apps/{app}/receipts?from={seq}&limit=1", (404,))
    for item in page.get("receipts", []):
        if item["hash"] == receipt_hash:
            return _receipt_from_bytes(bytes.fromhex(item["receipt"]), "the gateway's receipt")
    raise wallet.GatewayError(
        f"the gateway at {url} holds no body of receipt {receipt_hash} (its node did not "
        "execute that call): pass the receipt's file or hex instead"
    )


def resolve_receipt(text: str, url: str) -> Receipt:
    path = Path(text)
    if path.is_file():
        return _receipt_from_bytes(path.read_bytes(), str(path))
    if len(text) == HEX32_LENGTH:
        _hex(text, "RECEIPT")
        return fetch_receipt(url, text.lower())
    return _receipt_from_bytes(_hex(text, "RECEIPT"), "RECEIPT")


@dispute_app.command("open")
def open_(
    receipt: ReceiptArgument,
    claim: Annotated[str, typer.Option(help="Your state root after the call (64 hex digits).")],
    from_start: Annotated[
        bool, typer.Option(help="Bisect from the app's empty state, not the receipt's own.")
    ] = False,
    bond: Bond = "10",
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Challenge RECEIPT with your CLAIM; prints the dispute's id."""
    root = _hex(claim, "--claim")
    if len(root) != HEX32_LENGTH // 2:
        raise ConfigError(f"--claim must be 32 bytes (64 hex digits), not {len(root)} bytes")
    amount = output.parse_coins(bond)
    url = wallet.gateway(home, node)
    body = resolve_receipt(receipt, url)
    message = OpenDispute(encode(body.to_wire()), root, from_start, amount)
    _commit(url, home, sender, message, body, amount, as_json)


@dispute_app.command()
def challenge(
    receipt: ReceiptArgument,
    own: Annotated[
        Path,
        typer.Option(
            "--receipt",
            help="Your own signed receipt of the same call: a bundle or an encoded receipt.",
        ),
    ],
    bond: Bond = "10",
    sender: Sender = "dev0",
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Challenge RECEIPT with your own receipt of its call; prints the dispute's id."""
    if not own.is_file():
        raise ConfigError(f"--receipt {own}: no such file")
    mine = _receipt_from_bytes(own.read_bytes(), f"--receipt {own}")
    amount = output.parse_coins(bond)
    url = wallet.gateway(home, node)
    body = resolve_receipt(receipt, url)
    message = ChallengeReceipt(body.encode(), mine.encode(), amount)
    _commit(url, home, sender, message, body, amount, as_json)


def _commit(
    url: str, home: Path, sender: str, message: Message, body: Receipt, bond: int, as_json: bool
) -> None:
    """Sign and commit a challenge of `body`; report it with the dispute it opened."""
    record = wallet.commit(url, wallet.signer(home, sender), message)
    facts: dict[str, Any] = {
        "receipt": body.hash().hex(),
        "bond": format_coins(bond, Denom.FLX),
        "bond_base_units": bond,
        "height": record["height"],
    }
    opened = wallet.event_attribute(record, "court_dispute_opened", "dispute")
    if opened is not None:
        facts["dispute"] = int(opened, 16)
    wallet.report(record, as_json, facts)


@dispute_app.command()
def show(
    dispute_id: Annotated[int, typer.Argument(metavar="ID", min=0, help="The dispute's id.")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """A dispute as the chain holds it."""
    found = wallet.call("GET", f"{wallet.gateway(home, node)}/api/v1/disputes/{dispute_id}")
    if as_json:
        output.print_json(found)
        return
    ruling = found["ruling"]
    lines = [
        ("dispute", found["id"]),
        ("status", found["status"]),
        ("kind", found["kind"]),
        ("app", found["app_id"]),
        ("call", found["call_seq"]),
        ("defender", found["defender"]),
        ("challenger", found["challenger"]),
        ("bond", found["bond"]),
        ("range", f"{found['lo']}..{found['hi']}"),
        ("turns", found["turns"]),
        ("to move", found["mover"] if found["deadline"] is not None else "-"),
        ("deadline", found["deadline"] if found["deadline"] is not None else "-"),
    ]
    if ruling is not None:
        lines += [
            ("ruled root", ruling["root"]),
            ("diverges", f"at step {ruling['step']} ({ruling['what']})"),
        ]
    clawback = found["clawback"]
    if clawback is not None:
        taken = f"{clawback['burned']} burned, {clawback['short']} short ({clawback['outcome']})"
        lines.append(("clawed back", taken))
    for name, value in lines:
        typer.echo(f"{name:<12} {value}")
