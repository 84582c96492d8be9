"""`metanode did | credential`: `did:metanode` identities and KYC credentials (docs/identity.md).

Every command that changes the chain signs with a key of the home (`--from NAME`: an account
key, or a node's own key) and waits until its transaction is committed; one whose result code
is not ok reads FAILED with its reason and exits 1. `credential issue` signs off chain (Data
Integrity `eddsa-jcs-2022`) and writes the credential; registering it on chain is
`bpci-core register --kyc FILE` (or anyone's `RegisterCredential`).

Selective disclosure (docs/privacy.md): `credential issue-sd` writes an SD-JWT KYC credential
whose attributes are disclosed one by one, `credential present` keeps the ones its holder
chooses and binds them to a verifier's audience and nonce, and `credential check-disclosure`
has the gateway verify a presentation (exit 1 if it is refused, with the rule).
"""

from __future__ import annotations

import string
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from metanode.crypto import data_integrity
from metanode.errors import ConfigError, DecodeError
from metanode.state.identity import credentials
from metanode.state.identity.records import FIRST_KEY, did_id, did_of_key
from metanode.types.messages import (
    CreateDid,
    DeactivateDid,
    RegisterCredential,
    RevokeCredential,
    RotateDidKey,
)

from . import output, wallet
from .network import DEFAULT_HOME
from .wallet import Home, Json, NodeUrl

did_app = typer.Typer(help="did:metanode identities.", no_args_is_help=True)
credential_app = typer.Typer(help="KYC verifiable credentials.", no_args_is_help=True)
Signer = Annotated[str, typer.Option("--from", help="Key name in the home (account or node).")]
day_ms = 86_400_000


def print_facts(facts: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.print_json(facts)
    else:
        for name, value in facts.items():
            typer.echo(f"{name:<12} {value}")


def parse_did(text: str) -> str:
    if did_id(text) is None:
        raise ConfigError(f"{text!r} is not a did:metanode DID (did:metanode:<base58 id>)")
    return text


def resolve(url: str, did: str) -> dict[str, Any]:
    """The DID resolution result the gateway answers (a deactivated DID's too: HTTP 410)."""
    answer: dict[str, Any] = wallet.call("GET", f"{url}/api/v1/dids/{did}", (410,))
    return answer


@did_app.command("create")
def did_create(
    sender: Signer,
    controller: Annotated[
        list[str] | None, typer.Option(help="A controller DID (repeat; default: itself).")
    ] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Create the DID of the key --from (did:metanode:<hash of the key>)."""
    controllers = tuple(parse_did(item) for item in controller or [])
    key = wallet.signer(home, sender)
    record = wallet.commit(wallet.gateway(home, node), key, CreateDid(controllers, ()))
    wallet.report(record, as_json, {"did": did_of_key(key.public_key)})


@did_app.command("resolve")
def did_resolve(
    did: str, home: Home = DEFAULT_HOME, node: NodeUrl = None, as_json: Json = False
) -> None:
    """The DID's document and metadata (W3C DID resolution result)."""
    wallet.emit(resolve(wallet.gateway(home, node), parse_did(did)), as_json)


@did_app.command("rotate")
def did_rotate(
    did: str,
    sender: Signer,
    new_key: Annotated[str, typer.Option(help="Key name in the home whose key replaces it.")],
    fragment: Annotated[str, typer.Option(help="The authentication method.")] = FIRST_KEY,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Replace the key of DID's authentication method FRAGMENT with the key --new-key."""
    replacement = wallet.signer(home, new_key).public_key
    message = RotateDidKey(parse_did(did), fragment, replacement)
    record = wallet.commit(wallet.gateway(home, node), wallet.signer(home, sender), message)
    wallet.report(record, as_json, {"did": did, "method": f"{did}#{fragment}"})


@did_app.command("deactivate")
def did_deactivate(
    did: str, sender: Signer, home: Home = DEFAULT_HOME, node: NodeUrl = None, as_json: Json = False
) -> None:
    """Deactivate DID for good (signed by a controller's authentication key)."""
    message = DeactivateDid(parse_did(did))
    record = wallet.commit(wallet.gateway(home, node), wallet.signer(home, sender), message)
    wallet.report(record, as_json, {"did": did, "deactivated": True})


# The options both ways of issuing a credential take (plain JSON and SD-JWT).
IssuerDid = Annotated[
    str | None, typer.Option("--issuer", help="The authority's DID (default: the DID of --from).")
]
ValidDays = Annotated[
    int, typer.Option("--days", min=1, max=36_500, help="Valid for this many days.")
]
AssertionMethod = Annotated[str, typer.Option("--fragment", help="The issuer's assertion method.")]


@credential_app.command("issue")
def credential_issue(
    sender: Signer,
    subject: Annotated[str, typer.Option(help="The holder's DID.")],
    level: Annotated[str, typer.Option(help="basic, standard, enhanced or full.")],
    index: Annotated[int, typer.Option(min=0, help="Its bit in the issuer's status list.")],
    out: Annotated[Path, typer.Option(help="Where to write the signed credential (JSON).")],
    issuer: IssuerDid = None,
    days: ValidDays = 365,
    fragment: AssertionMethod = FIRST_KEY,
    home: Home = DEFAULT_HOME,
    as_json: Json = False,
) -> None:
    """Build a KYC credential for --subject and sign it (eddsa-jcs-2022) with the authority key
    --from; it counts once registered on chain (`bpci-core register --kyc`)."""
    if level not in credentials.LEVELS:
        raise ConfigError(f"--level {level!r}: one of {', '.join(credentials.LEVELS)}")
    if index >= credentials.status_list_bits:
        raise ConfigError(f"--index {index}: at most {credentials.status_list_bits - 1}")
    key = wallet.signer(home, sender)
    issuer_did = parse_did(issuer) if issuer else did_of_key(key.public_key)
    # A credential's validity is wall-clock time by nature; the chain compares it with the
    # block time when it registers the credential, never with its own clock.
    now_ms = time.time_ns() // 1_000_000 // 1000 * 1000
    unsigned = credentials.build(
        issuer_did,
        parse_did(subject),
        credentials.LEVELS[level],
        now_ms,
        now_ms + days * day_ms,
        index,
    )
    signed = data_integrity.sign(
        unsigned,
        key,
        verification_method=f"{issuer_did}#{fragment}",
        created=credentials.time_text(now_ms),
    )
    text = data_integrity.canonical(signed)
    out.write_bytes(text)
    facts = {"credential": str(out), "issuer": issuer_did, "subject": subject, "level": level}
    print_facts(facts, as_json)


def read_credential(path: Path) -> credentials.KycCredential:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read the credential {path}: {error.strerror}") from None
    try:
        return credentials.parse(data)
    except DecodeError as error:
        raise ConfigError(f"{path} is not a KYC credential: {error}") from None


def on_chain(url: str, credential: credentials.KycCredential) -> dict[str, Any] | None:
    """The chain's record of the credential (registered under its subject), or None."""
    listed = wallet.call("GET", f"{url}/api/v1/dids/{credential.subject}/credentials", ())
    wanted = credential.hash.hex()
    return next((item for item in listed["credentials"] if item["hash"] == wanted), None)


def register_credential(url: str, home: Path, sender: str, path: Path) -> dict[str, Any]:
    """Register the credential at `path` unless the chain already holds it: its record."""
    credential = read_credential(path)
    found = on_chain(url, credential)
    if found is None:
        message = RegisterCredential(data_integrity.canonical(credential.document))
        record = wallet.commit(url, wallet.signer(home, sender), message)
        if not record["ok"]:
            wallet.report(record, False, {"credential": str(path)})
        found = on_chain(url, credential)
    if found is None:
        raise wallet.GatewayError(f"{path} was committed but the chain does not list it")
    return found


@credential_app.command("verify")
def credential_verify(
    path: Annotated[Path, typer.Argument(help="The credential (JSON).")],
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Check the credential's proof against its issuer's DID document and its status on
    chain (registered, not revoked, valid now); exit 1 unless all hold."""
    credential = read_credential(path)
    url = wallet.gateway(home, node)
    document = resolve(url, credential.issuer)["didDocument"] or {}
    method_id = f"{credential.issuer}#{credential.fragment}"
    method = next((m for m in document.get("verificationMethod", []) if m["id"] == method_id), None)
    asserts = method_id in document.get("assertionMethod", [])
    proof_ok = (
        method is not None
        and asserts
        and data_integrity.verify(
            credential.document, data_integrity.public_key_of(method["publicKeyMultibase"])
        )
    )
    found = on_chain(url, credential)
    facts = {
        "credential": credential.hash.hex(),
        "issuer": credential.issuer,
        "subject": credential.subject,
        "level": credential.level.name.lower(),
        "proof_valid": proof_ok,
        "registered": found is not None,
        "revoked": bool(found and found["revoked"]),
        "valid_now": bool(found and found["valid_now"]),
    }
    facts["valid"] = (
        proof_ok and facts["registered"] and facts["valid_now"] and not facts["revoked"]
    )
    print_facts(facts, as_json)
    if not facts["valid"]:
        raise typer.Exit(output.FAILED)


@credential_app.command("revoke")
def credential_revoke(
    path: Annotated[Path, typer.Argument(help="The credential (JSON).")],
    sender: Signer,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Set the credential's bit in its issuer's status list (signed by an issuer's controller)."""
    credential = read_credential(path)
    message = RevokeCredential(credential.issuer, credential.status_index)
    record = wallet.commit(wallet.gateway(home, node), wallet.signer(home, sender), message)
    facts = {"credential": credential.hash.hex(), "status_index": credential.status_index}
    wallet.report(record, as_json, facts)


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the {what} {path}: {error}") from None


@credential_app.command("issue-sd")
def credential_issue_sd(
    sender: Signer,
    holder: Annotated[str, typer.Option(help="The holder's key: a key name in the home or hex.")],
    attribute: Annotated[
        list[str],
        typer.Option(help=f"NAME=VALUE, each disclosable ({', '.join(credentials.DISCLOSABLE)})."),
    ],
    out: Annotated[Path, typer.Option(help="Where to write the SD-JWT.")],
    issuer: IssuerDid = None,
    days: ValidDays = 365,
    fragment: AssertionMethod = FIRST_KEY,
    home: Home = DEFAULT_HOME,
    as_json: Json = False,
) -> None:
    """Issue a KYC credential in SD-JWT form (RFC 9901), each attribute a separate disclosure,
    bound to the holder's key and signed with the authority key --from."""
    from metanode.state.identity import disclosure  # noqa: PLC0415 - JOSE loads only here (start-up)

    pairs = [item.partition("=") for item in attribute]
    if any(not name or not sep for name, sep, _ in pairs):
        raise ConfigError("--attribute takes NAME=VALUE")
    attributes = {name: value for name, _, value in pairs}
    key = wallet.signer(home, sender)
    issuer_did = parse_did(issuer) if issuer else did_of_key(key.public_key)
    is_hex = len(holder) == 64 and all(c in string.hexdigits for c in holder)
    holder_key = bytes.fromhex(holder) if is_hex else wallet.signer(home, holder).public_key
    # Validity is wall-clock time by nature; verifiers compare it with their own time.
    now_s = int(time.time())
    issued = disclosure.issue_kyc(
        issuer_did, fragment, key, holder_key, attributes, now_s, now_s + days * 86_400
    )
    out.write_text(issued + "\n", encoding="ascii")
    facts = {"sd_jwt": str(out), "issuer": issuer_did, "disclosable": sorted(attributes)}
    print_facts(facts, as_json)


@credential_app.command("present")
def credential_present(
    path: Annotated[Path, typer.Argument(help="The SD-JWT (issue-sd's file).")],
    sender: Signer,
    show: Annotated[list[str], typer.Option(help="An attribute to disclose (repeat).")],
    audience: Annotated[str, typer.Option(help="The verifier, as it names itself.")],
    nonce: Annotated[str, typer.Option(help="The verifier's nonce for this presentation.")],
    out: Annotated[Path, typer.Option(help="Where to write the presentation.")],
    home: Home = DEFAULT_HOME,
    as_json: Json = False,
) -> None:
    """Present only the attributes --show of an SD-JWT, key-bound (signed by the holder key
    --from) to the verifier's --audience and --nonce."""
    from metanode.crypto import sd_jwt  # noqa: PLC0415 - as in credential_issue_sd

    issued = read_text(path, "SD-JWT")
    unknown = sorted(set(show) - set(credentials.DISCLOSABLE))
    if unknown:
        raise ConfigError(f"--show {', '.join(unknown)}: not a KYC attribute")
    shown = sd_jwt.present(issued, show, wallet.signer(home, sender), audience, nonce)
    out.write_text(shown + "\n", encoding="ascii")
    print_facts({"presentation": str(out), "disclosed": sorted(show)}, as_json)


@credential_app.command("check-disclosure")
def credential_check_disclosure(
    path: Annotated[Path, typer.Argument(help="The presentation (present's file).")],
    audience: Annotated[str | None, typer.Option(help="Require a key binding to it.")] = None,
    nonce: Annotated[str | None, typer.Option(help="Require a key binding to it.")] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Have the gateway verify a presentation against the issuer's key on chain; print what
    it discloses, or the rule it broke (exit 1)."""
    if (audience is None) != (nonce is None):
        raise ConfigError("--audience and --nonce go together")
    body = {"presentation": read_text(path, "presentation"), "audience": audience, "nonce": nonce}
    url = wallet.gateway(home, node) + "/api/v1/disclosures/verify"
    answer = wallet.call("POST", url, (422,), json=body)
    if "rule" in answer:
        print_facts({"valid": False, "rule": answer["rule"], "detail": answer["detail"]}, as_json)
        raise typer.Exit(output.FAILED)
    print_facts({"valid": True, **answer}, as_json)
