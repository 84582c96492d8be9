"""`metanode light`: the light client (docs/light.md).

`init --trust HEIGHT:HASH --primary URL [--witness URL]…` checks the primary's block at the
checkpoint and saves it as the trusted block in `--home` (default `~/.metanode-light`);
`sync` moves it to the primary's latest block, cross-checked with the witnesses;
`verify tx HASH | account ADDRESS [--height H] | receipt HASH` checks one item against a
header the client verified. The first line is `verified` or `rejected: REASON` (exit 0 or 1);
`--json` prints one document with the result and the whole proof instead.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metanode.errors import ConfigError, DecodeError
from metanode.light.reasons import Rejected
from metanode.light.verifier import (
    DAY_MS,
    TrustOptions,
    period_blocks_default,
    period_days_default,
)
from metanode.types import Address, BlockHeader, Denom
from metanode.types.messages import format_coins

from . import output
from .wallet import Json

if TYPE_CHECKING:
    from metanode.light.client import LightClient
    from metanode.light.proofs import MerklePath, StateProof

light_app = typer.Typer(
    help="Light client: verify the chain trusting no node.", no_args_is_help=True
)
verify_app = typer.Typer(help="Verify one item against a verified header.", no_args_is_help=True)
light_app.add_typer(verify_app, name="verify")
DEFAULT_LIGHT_HOME = Path("~/.metanode-light")
LightHome = Annotated[
    Path, typer.Option("--home", help="Where the light client keeps its trusted block.")
]
HashArgument = Annotated[str, typer.Argument(help="64 hex characters.")]


def parse_hash(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise ConfigError(f"{what} {text!r}: expected 64 hex characters")
    return value


def _checkpoint(text: str) -> tuple[int, bytes]:
    height, colon, block_hash = text.partition(":")
    if not colon or not (height.isascii() and height.isdigit()) or int(height) < 1:
        raise ConfigError(f"--trust {text!r}: expected HEIGHT:HASH, such as 1:ab12…")
    return int(height), parse_hash(block_hash, "--trust hash")


def _fraction(text: str) -> Fraction:
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--trust-level {text!r}: expected a fraction such as 1/3") from None


@light_app.command()
def init(
    trust: Annotated[
        str, typer.Option(help="The checkpoint HEIGHT:HASH, from a source you trust.")
    ],
    primary: Annotated[str, typer.Option(help="The gateway URL the client reads.")],
    witness: Annotated[
        list[str] | None, typer.Option(help="A gateway URL to cross-check (repeatable).")
    ] = None,
    trust_level: Annotated[
        str, typer.Option(help="Fraction of the trusted power, in [1/3, 1].")
    ] = "1/3",
    trust_period_blocks: Annotated[
        int, typer.Option(min=1, help="Below the chain's unbonding delay.")
    ] = period_blocks_default,
    trust_period_days: Annotated[
        int, typer.Option(min=1, help="Below the unbonding time.")
    ] = period_days_default,
    home: LightHome = DEFAULT_LIGHT_HOME,
    json_output: Json = False,
) -> None:
    """Trust the primary's block at the checkpoint (its hash must match), and save it."""
    from metanode.light import home as light_home  # noqa: PLC0415 - loads only when a command runs (start-up)

    height, block_hash = _checkpoint(trust)
    settings = light_home.Settings(
        primary,
        tuple(witness or ()),
        TrustOptions(_fraction(trust_level), trust_period_blocks, trust_period_days * DAY_MS),
    )
    client = _outcome(
        lambda: light_home.initialise(home.expanduser(), height, block_hash, settings), json_output
    )
    _print_trusted(client, "initialised", json_output)


@light_app.command()
def sync(
    height: Annotated[
        int | None, typer.Option(min=1, help="Default: the primary's latest.")
    ] = None,
    home: LightHome = DEFAULT_LIGHT_HOME,
    json_output: Json = False,
) -> None:
    """Move the trusted block to the primary's latest (or `--height`), witnesses agreeing."""
    from metanode.light import home as light_home  # noqa: PLC0415

    client = light_home.open_client(home.expanduser())
    with output.progress("syncing headers from the primary", json_output=json_output):
        report = _outcome(lambda: client.sync(light_home.now_ms(), height), json_output)
    light_home.save(home.expanduser(), client)
    if json_output:
        output.print_json(
            {
                "result": "verified",
                "height": report.height,
                "hash": report.hash.hex(),
                "certificates_verified": report.certificates_verified,
                "witnesses_agreeing": list(report.witnesses_agreeing),
                "witnesses_dropped": list(report.witnesses_dropped),
            }
        )
        return
    typer.echo("verified")
    typer.echo(f"trusted height {report.height} hash {report.hash.hex()}")
    typer.echo(f"certificates verified: {report.certificates_verified}")
    for name in report.witnesses_dropped:
        typer.echo(f"witness dropped: {name}")


@verify_app.command()
def tx(
    tx_hash: HashArgument, home: LightHome = DEFAULT_LIGHT_HOME, json_output: Json = False
) -> None:
    """A committed transaction and its receipt, in their block's roots."""
    from metanode.light import home as light_home  # noqa: PLC0415

    digest = parse_hash(tx_hash, "transaction hash")
    client = light_home.open_client(home.expanduser())
    found, receipt, proof, header = _outcome(
        lambda: client.verify_tx(digest, light_home.now_ms()), json_output, client, home
    )
    _verified(
        client,
        home,
        json_output,
        header,
        {
            "tx": tx_hash,
            "code": receipt.code,
            "fee_charged": format_coins(receipt.fee_charged, Denom.FLX),
            "sender": str(found.sender_address),
        },
        {
            "tx_bytes": proof.tx.hex(),
            "inclusion": _path(proof.inclusion),
            "receipt": proof.receipt.hex(),
            "receipt_inclusion": _path(proof.receipt_inclusion),
        },
    )


@verify_app.command()
def account(
    address: Annotated[str, typer.Argument(help="An address mn1…")],
    height: Annotated[int | None, typer.Option(min=1, help="Default: the node's latest.")] = None,
    home: LightHome = DEFAULT_LIGHT_HOME,
    json_output: Json = False,
) -> None:
    """An account's record, or its absence, in the state after a block."""
    from metanode.light import home as light_home  # noqa: PLC0415

    try:
        parsed = Address.parse(address)
    except DecodeError as error:
        raise ConfigError(f"address {address!r}: {error}") from None
    client = light_home.open_client(home.expanduser())
    proof, header = _outcome(
        lambda: client.verify_account(parsed, light_home.now_ms(), height),
        json_output,
        client,
        home,
    )
    _verified(
        client,
        home,
        json_output,
        header,
        {"address": str(parsed), "present": proof.value is not None},
        _state(proof),
    )


@verify_app.command()
def receipt(
    receipt_hash: HashArgument, home: LightHome = DEFAULT_LIGHT_HOME, json_output: Json = False
) -> None:
    """A notarised execution receipt: in its LogBlock, which is in the state, under a header."""
    from metanode.light import home as light_home  # noqa: PLC0415

    digest = parse_hash(receipt_hash, "receipt hash")
    client = light_home.open_client(home.expanduser())
    logblock, proof, header = _outcome(
        lambda: client.verify_receipt(digest, light_home.now_ms()), json_output, client, home
    )
    _verified(
        client,
        home,
        json_output,
        header,
        {
            "receipt": receipt_hash,
            "app_id": logblock.app_id.hex(),
            "logblock_hash": logblock.hash().hex(),
            "logblock_root": logblock.root.hex(),
        },
        {"inclusion": _path(proof.inclusion), "logblock_state": _state(proof.state)},
    )


def _outcome(
    run: Any, json_output: bool, client: LightClient | None = None, home: Path | None = None
) -> Any:
    """`run()`, or the rejection printed (first line `rejected: REASON`) and exit 1; the
    trusted block saved either way, since a verified sync before a bad proof still holds."""
    from metanode.light import home as light_home  # noqa: PLC0415
    from metanode.light.client import ForkDetected  # noqa: PLC0415

    try:
        return run()
    except Rejected as rejected:
        if client is not None and home is not None:
            light_home.save(home.expanduser(), client)
        evidence = rejected.evidence if isinstance(rejected, ForkDetected) else ()
        outcomes = rejected.outcomes if isinstance(rejected, ForkDetected) else []
        if json_output:
            output.print_json(
                {
                    "result": "rejected",
                    "reason": rejected.reason.value,
                    "detail": rejected.detail,
                    "evidence": [item.encode().hex() for item in evidence],
                    "evidence_submitted": outcomes,
                }
            )
        else:
            typer.echo(f"rejected: {rejected.reason.value}")
            typer.echo(rejected.detail)
            for item in evidence:
                typer.echo(f"evidence {item.hash().hex()}: {item.encode().hex()}")
            for line in outcomes:
                typer.echo(f"evidence submitted to {line}")
        raise typer.Exit(output.FAILED) from None


def _verified(
    client: LightClient,
    home: Path,
    json_output: bool,
    header: BlockHeader,
    fields: dict[str, Any],
    proof: dict[str, Any],
) -> None:
    from metanode.light import home as light_home  # noqa: PLC0415

    light_home.save(home.expanduser(), client)
    document = {"height": header.height, "header_hash": header.hash().hex(), **fields}
    if json_output:
        output.print_json({"result": "verified", **document, "proof": proof})
        return
    typer.echo("verified")
    for key, value in document.items():
        typer.echo(f"{key}: {value}")


def _print_trusted(client: LightClient, what: str, json_output: bool) -> None:
    if json_output:
        output.print_json(
            {
                "result": what,
                "chain_id": client.verifier.chain_id,
                "height": client.trusted.height,
                "hash": client.trusted.hash().hex(),
            }
        )
        return
    typer.echo(what)
    typer.echo(f"trusted height {client.trusted.height} hash {client.trusted.hash().hex()}")


def _path(where: MerklePath) -> dict[str, Any]:
    return {"index": where.index, "size": where.size, "path": [item.hex() for item in where.path]}


def _state(proof: StateProof) -> dict[str, Any]:
    return {
        "key": proof.key.hex(),
        "value": None if proof.value is None else proof.value.hex(),
        "proof": proof.proof.hex(),
    }
