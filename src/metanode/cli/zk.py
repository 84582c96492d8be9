"""`metanode zk`: zero-knowledge KYC proofs (AnonCreds; docs/privacy.md) from the command line.

An authority keeps its set-up in a directory (`--dir`: definitions.json, secrets.json readable
by its owner only, tails/); a holder keeps its link secret, its pending request's metadata and
its credential in another (`--wallet`). Issuance is the library's three messages, carried as
files between the two: `offer` (authority), `request` (holder: the link secret stays blinded),
`sign` (authority), `accept` (holder). `publish` puts the definitions (the first time) and a
fresh status list on chain; `prove` sends a `ProveKyc` for the sender's next transaction.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from metanode.crypto import zk
from metanode.errors import ConfigError, DecodeError
from metanode.node import keys
from metanode.state.identity.records import did_of_key
from metanode.state.privacy.params import DEFAULT as PRIVACY_DEFAULT
from metanode.state.privacy.records import born_by, proof_nonce
from metanode.types.messages import ProveKyc, PublishZkIssuer

from . import output, wallet
from .identity import Signer, parse_did, print_facts
from .network import DEFAULT_HOME
from .wallet import Home, Json, NodeUrl

zk_app = typer.Typer(help="Zero-knowledge KYC proofs (AnonCreds).", no_args_is_help=True)
Dir = Annotated[Path, typer.Option("--dir", help="The authority's set-up directory.")]
Wallet = Annotated[Path, typer.Option(help="The holder's directory.")]
Issuer = Annotated[str, typer.Option(help="The authority's DID.")]
# A status list's time must not be after the block that carries it: leave the proposer's clock
# a little room.
clock_margin_s = 5


def read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read the {what} {path}: {error.strerror}") from None


def write(path: Path, text: str, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if private:
        path.chmod(0o600)


def load_setup(directory: Path) -> tuple[zk.Definitions, zk.IssuerSecrets, Path]:
    """The authority's set-up that `zk setup` wrote in `directory`."""
    text = read(directory / "secrets.json", "issuer secrets")
    definitions_text = read(directory / "definitions.json", "definitions").encode()
    tails = sorted((directory / "tails").glob("*"))
    try:
        stored = json.loads(text)
        definitions = zk.parse_definitions(definitions_text, stored["issuer"])
        secrets = zk.IssuerSecrets(
            stored["credentialDefinitionPrivate"],
            stored["keyCorrectnessProof"],
            stored["revocationRegistryPrivate"],
        )
    except (ValueError, KeyError, TypeError, DecodeError) as error:
        raise ConfigError(f"{directory} is not a zk set-up: {error}") from None
    if len(tails) != 1:
        raise ConfigError(f"{directory}/tails must hold the one tails file of the registry")
    return definitions, secrets, tails[0]


def published(url: str, issuer: str) -> dict[str, Any] | None:
    """The gateway's view of the issuer's definitions and status list, or None."""
    answer: dict[str, Any] = wallet.call("GET", f"{url}/api/v1/privacy/issuers/{issuer}", (404,))
    return None if "status_list" not in answer else answer


def on_chain(url: str, issuer: str) -> tuple[zk.Definitions, bytes]:
    found = published(url, issuer)
    if found is None:
        raise ConfigError(f"{issuer} has published no zero-knowledge definitions")
    definitions = zk.parse_definitions(json.dumps(found["definitions"]).encode(), issuer)
    return definitions, json.dumps(found["status_list"]).encode()


@zk_app.command("setup")
def zk_setup(
    sender: Signer,
    directory: Dir,
    capacity: Annotated[int, typer.Option(min=1, max=2048, help="Revocation entries.")] = 1024,
    home: Home = DEFAULT_HOME,
    as_json: Json = False,
) -> None:
    """Make the authority's (--from) CL key and revocation registry in --dir (slow: seconds to
    a minute)."""
    issuer = did_of_key(wallet.signer(home, sender).public_key)
    definitions, secrets = zk.setup_issuer(issuer, capacity, directory / "tails")
    write(directory / "definitions.json", definitions.to_json().decode())
    private = {
        "issuer": issuer,
        "credentialDefinitionPrivate": secrets.credential_definition_private,
        "keyCorrectnessProof": secrets.key_correctness_proof,
        "revocationRegistryPrivate": secrets.revocation_registry_private,
    }
    write(directory / "secrets.json", json.dumps(private), private=True)
    print_facts({"issuer": issuer, "directory": str(directory), "capacity": capacity}, as_json)


@zk_app.command("publish")
def zk_publish(
    sender: Signer,
    directory: Dir,
    revoke: Annotated[list[int] | None, typer.Option(help="An index to revoke (repeat).")] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Publish the definitions (the first time) and a status list: the one on chain with the
    --revoke indexes added."""
    definitions, secrets, _ = load_setup(directory)
    url = wallet.gateway(home, node)
    found = published(url, definitions.issuer)
    revoked = set(revoke or [])
    if found is not None:
        listed = found["status_list"]["revocationList"]
        revoked |= {index for index, bit in enumerate(listed) if bit}
    if any(not 0 <= index < definitions.capacity for index in revoked):
        raise ConfigError(f"--revoke: indexes are 0..{definitions.capacity - 1}")
    status = zk.status_list(
        definitions, secrets, sorted(revoked), int(time.time()) - clock_margin_s
    )
    carried = definitions.to_json() if found is None else b""
    message = PublishZkIssuer(definitions.issuer, carried, status)
    record = wallet.commit(url, wallet.signer(home, sender), message)
    wallet.report(record, as_json, {"issuer": definitions.issuer, "revoked": sorted(revoked)})


@zk_app.command("offer")
def zk_offer(
    directory: Dir,
    out: Annotated[Path, typer.Option(help="Where to write the offer.")],
    as_json: Json = False,
) -> None:
    """The authority's credential offer, for a holder's `request`."""
    definitions, secrets, _ = load_setup(directory)
    write(out, zk.offer(definitions, secrets))
    print_facts({"offer": str(out), "issuer": definitions.issuer}, as_json)


@zk_app.command("request")
def zk_request(
    offer: Annotated[Path, typer.Argument(help="The authority's offer.")],
    issuer: Issuer,
    holder: Wallet,
    out: Annotated[Path, typer.Option(help="Where to write the request.")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The holder's credential request (its link secret blinded), made once the offer checks
    against the definitions on chain."""
    definitions, _ = on_chain(wallet.gateway(home, node), parse_did(issuer))
    secret_path = holder / "link-secret"
    if not secret_path.exists():
        write(secret_path, zk.link_secret(), private=True)
    asked, metadata = zk.request_credential(
        definitions, read(offer, "offer"), read(secret_path, "link secret")
    )
    write(out, asked)
    write(holder / "request-metadata.json", metadata, private=True)
    print_facts({"request": str(out), "holder": str(holder)}, as_json)


@zk_app.command("sign")
def zk_sign(
    request: Annotated[Path, typer.Argument(help="The holder's request.")],
    offer: Annotated[Path, typer.Option(help="The offer it answers.")],
    directory: Dir,
    level: Annotated[int, typer.Option(min=1, max=4, help="1 basic … 4 full.")],
    birth_date: Annotated[int, typer.Option(min=1, max=99_991_231, help="YYYYMMDD.")],
    index: Annotated[int, typer.Option(min=0, help="The holder's W3C status index.")],
    out: Annotated[Path, typer.Option(help="Where to write the credential.")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The authority's credential for a request, at the revocation index of the holder's W3C
    credential."""
    definitions, secrets, _ = load_setup(directory)
    if index >= definitions.capacity:
        raise ConfigError(f"--index: at most {definitions.capacity - 1}")
    _, status = on_chain(wallet.gateway(home, node), definitions.issuer)
    signed = zk.sign_credential(
        definitions,
        secrets,
        status,
        read(offer, "offer"),
        read(request, "request"),
        level,
        birth_date,
        index,
    )
    write(out, signed)
    print_facts({"credential": str(out), "level": level, "index": index}, as_json)


@zk_app.command("accept")
def zk_accept(
    credential: Annotated[Path, typer.Argument(help="The authority's signed credential.")],
    issuer: Issuer,
    holder: Wallet,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Check the credential and keep it in the holder's directory."""
    definitions, _ = on_chain(wallet.gateway(home, node), parse_did(issuer))
    kept = zk.accept(
        definitions,
        read(credential, "credential"),
        read(holder / "request-metadata.json", "request metadata"),
        read(holder / "link-secret", "link secret"),
    )
    write(holder / "credential.json", kept, private=True)
    print_facts({"credential": str(holder / "credential.json")}, as_json)


@zk_app.command("prove")
def zk_prove(
    sender: Signer,
    issuer: Issuer,
    holder: Wallet,
    tails: Annotated[Path, typer.Option(help="The issuer's tails file.")],
    level: Annotated[int, typer.Option(min=1, max=4, help="Prove a level at least this.")],
    age: Annotated[int, typer.Option(min=0, max=150, help="Prove an age at least this.")] = 0,
    fee: Annotated[
        int, typer.Option(min=0, help="FLX base units (at least privacy.proof_fee_min).")
    ] = PRIVACY_DEFAULT.proof_fee_min,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Prove in zero knowledge, in a transaction of --from, a credential of --issuer with level
    ≥ --level (and age ≥ --age); exit 1 if the chain refuses it."""
    url = wallet.gateway(home, node)
    definitions, status = on_chain(url, parse_did(issuer))
    key = wallet.signer(home, sender)
    address = keys.account_address(key)
    account = wallet.call("GET", f"{url}/api/v1/accounts/{address}")
    chain = wallet.call("GET", f"{url}/api/v1/status")
    nonce = proof_nonce(chain["chain_id"], address, account["nonce"])
    # The chain takes the birth-date bound from its block's date; a proof made on another UTC
    # day than its block is refused (statement_mismatch) and must be made again.
    statement = zk.Statement(issuer, level, born_by(time.time_ns() // 1_000_000, age))
    try:
        proof = zk.prove(
            read(holder / "credential.json", "credential"),
            read(holder / "link-secret", "link secret"),
            statement,
            nonce,
            definitions,
            status,
            tails,
        )
    except zk.ProofError as error:
        print_facts({"proved": False, "reason": str(error)}, as_json)
        raise typer.Exit(output.FAILED) from None
    message = ProveKyc(issuer, level, age, proof)
    record = wallet.commit(url, key, message, fee)
    wallet.report(record, as_json, {"issuer": issuer, "level_min": level, "age_min": age})
