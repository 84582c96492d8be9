"""`bpci policy register | show | evaluate | region`: apps' BISO policies (docs/policy.md).

`register FILE` reads a policy written as JSON with the document's field names (lists in any
order: they are sorted into the canonical form), checks it as the chain will (an unknown
field, a contradiction or a bad name is a usage error naming it, before anything is sent),
signs it with `--signer` (the app's owner or an authority; default: the `--from` key) and
commits it in a `RegisterPolicy`; `number` defaults to the app's current version + 1. `show`
prints a version as the gateway serves it; `evaluate` asks the gateway for the light a call
with the given declaration would get now, and exits 1 on Red; `region` declares the region
a node runs in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from metanode.errors import ConfigError
from metanode.state.codes import name_of
from metanode.state.policy.document import (
    Classification,
    PolicyDocument,
    PolicyRefused,
    decode_document,
    sign,
    valid_name,
)
from metanode.types import DeclareRegion, RegisterPolicy

from . import output, wallet
from .governance import Signer
from .network import DEFAULT_HOME
from .wallet import Home, Json, NodeUrl

policy_app = typer.Typer(
    help="BISO policies of apps: register, show, evaluate.", no_args_is_help=True
)
AppId = Annotated[str, typer.Argument(help="The app's id (64 hex digits).")]
# A call's declaration (docs/policy.md), as `evaluate` and `bpi call` take it.
Region = Annotated[str | None, typer.Option(help="The caller's region.")]
Purpose = Annotated[str | None, typer.Option(help="What the call is for.")]
DataTypes = Annotated[list[str] | None, typer.Option(help="A data type the call carries (repeat).")]
Consent = Annotated[str | None, typer.Option(help="The consent proof held.")]
_LISTS = ("allowed_regions", "blocked_regions", "purposes", "data_types", "review_data_types")
_FLAGS = ("consent_required", "encrypt_in_transit", "encrypt_at_rest")
_FIELDS = ("app_id", "number", "classification", *_LISTS, *_FLAGS, "retention_days")


def _app_id(text: str, where: str) -> bytes:
    if not (
        isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)
    ):
        raise ConfigError(f"{where}: an app id is 64 lower-case hex digits, got {text!r}")
    return bytes.fromhex(text)


def _field(data: dict[str, Any], name: str, kind: type, default: Any, where: str) -> Any:
    value = data.get(name, default)
    if type(value) is not kind:
        raise ConfigError(f"{where}: {name} must be a {kind.__name__}, got {value!r}")
    return value


def document_of(data: Any, number: int | None, where: str) -> PolicyDocument:
    """The document a policy file describes, checked as the chain checks it."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a policy is a JSON object with the document's fields")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}"
        )
    if "app_id" not in data:
        raise ConfigError(f"{where}: app_id is required")
    classes = [item.name.lower() for item in Classification]
    classification = _field(data, "classification", str, "internal", where)
    if classification not in classes:
        raise ConfigError(f"{where}: classification is one of {', '.join(classes)}")
    lists = {}
    for name in _LISTS:
        values = _field(data, name, list, [], where)
        if not all(isinstance(item, str) for item in values):
            raise ConfigError(f"{where}: {name} must be a list of names")
        lists[name] = tuple(sorted(set(values)))
    flags = {name: _field(data, name, bool, False, where) for name in _FLAGS}
    document = PolicyDocument(
        app_id=_app_id(data["app_id"], where),
        number=_field(data, "number", int, number or 1, where),
        classification=Classification[classification.upper()],
        retention_days=_field(data, "retention_days", int, 0, where),
        **lists,
        **flags,
    )
    try:
        return decode_document(document.encode())
    except PolicyRefused as error:
        raise ConfigError(f"{where}: {name_of(error.code)}: {error.detail}") from None


def declaration(
    region: str | None,
    purpose: str | None,
    data_types: list[str] | None,
    consent: str | None,
    transport: str | None,
) -> dict[str, Any]:
    """The JSON body the gateway evaluates (`schemas.CallDeclaration`)."""
    return {
        "region": region,
        "purpose": purpose,
        "data_types": data_types or [],
        "consent": consent,
        "transport": transport,
    }


def _current_version(url: str, app_id: str) -> int:
    answer = wallet.request("GET", f"{url}/api/v1/apps/{app_id}/policy", accepted=(404,))
    return 0 if answer.status_code == 404 else int(answer.json()["current_version"])


@policy_app.command("register")
def register(
    file: Annotated[Path, typer.Argument(help="The policy, JSON with the document's fields.")],
    sender: Signer,
    signer: Annotated[
        str | None, typer.Option(help="Who signs it: the app's owner or an authority (key name).")
    ] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """Register the next version of an app's policy; prints its app and version."""
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"{file}: not a readable JSON file ({error})") from None
    url = wallet.gateway(home, node)
    app_id = data.get("app_id") if isinstance(data, dict) else None
    number = None
    if isinstance(data, dict) and "number" not in data and isinstance(app_id, str):
        number = _current_version(url, _app_id(app_id, str(file)).hex()) + 1
    document = document_of(data, number, str(file))
    encoded = document.encode()
    signing = wallet.signer(home, signer or sender)
    message = RegisterPolicy(encoded, signing.public_key, sign(signing, encoded))
    record = wallet.commit(url, wallet.signer(home, sender), message)
    wallet.report(record, as_json, {"app": document.app_id.hex(), "version": document.number})


@policy_app.command("region")
def region(
    name: Annotated[str, typer.Argument(help="The region the node runs in, e.g. eu-west.")],
    sender: Signer,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """A registered node or validator (--from its key) declares its region; executor draws
    for apps whose policy names regions read it."""
    if not valid_name(name):
        raise ConfigError(f"region {name!r}: lower-case letters, digits, '-', '_' or '.'")
    record = wallet.commit(
        wallet.gateway(home, node), wallet.signer(home, sender), DeclareRegion(name)
    )
    wallet.report(record, as_json, {"region": name})


@policy_app.command("show")
def show(
    app_id: AppId,
    version: Annotated[int, typer.Option(min=0, help="A version (0: the current one).")] = 0,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """An app's policy as its signer signed it, and whether governance contains the app."""
    url = wallet.gateway(home, node)
    found = wallet.call(
        "GET",
        f"{url}/api/v1/apps/{_app_id(app_id, 'APP_ID').hex()}/policy",
        params={"version": version},
    )
    if as_json:
        output.print_json(found)
        return
    typer.echo(f"{'version':<20} {found['version']} (current {found['current_version']})")
    typer.echo(f"{'signer':<20} {found['signer']}  (height {found['height']})")
    for name, value in found["document"].items():
        shown = ", ".join(value) if isinstance(value, list) else value
        typer.echo(f"{name:<20} {shown if shown != '' else '-'}")
    contained = found["contained_since"]
    typer.echo(
        f"{'emergency mode':<20} {'contained since ' + str(contained) if contained else 'no'}"
    )


@policy_app.command("evaluate")
def evaluate(
    app_id: AppId,
    region: Region = None,
    purpose: Purpose = None,
    data_type: DataTypes = None,
    consent: Consent = None,
    transport: Annotated[str | None, typer.Option(help="https, wss, tls, http …")] = None,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
    as_json: Json = False,
) -> None:
    """The light a call with this declaration gets now and its rule (exit 1 on red)."""
    url = wallet.gateway(home, node)
    body = declaration(region, purpose, data_type, consent, transport)
    path = f"{url}/api/v1/apps/{_app_id(app_id, 'APP_ID').hex()}/policy/evaluate"
    decision = wallet.call("POST", path, json=body)
    if as_json:
        output.print_json(decision)
    else:
        typer.echo(f"{decision['light'].upper()}  {decision['rule']}: {decision['detail']}")
        typer.echo(f"policy version {decision['policy_version']}")
    if decision["light"] == "red":
        raise typer.Exit(output.FAILED)
