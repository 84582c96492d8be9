"""policy rules: the only code that writes policies, regions and containment.

Rules:
- RegisterPolicy (message 30): the document decodes (document.py: canonical, known fields and
  version, names in syntax, no contradiction), its signature is the signer's, the signer is the
  app's owner or a registered node with the authority role, and its number is the app's
  current policy version + 1. Every version stays on record, so a refusal record naming one
  can be checked later.
- DeclareRegion (message 31): a registered node or a validator names the region it runs in;
  executor draws for apps whose policy names regions read it (apps/assignment.py).
- Containment (`set_containment`): governance's interface; a proposal of kind 5 that passes
  contains an app (state/apps then refuses its new calls) or releases it.
Each handler is a flat guard ladder returning its failure code before it writes anything.
"""

from __future__ import annotations

from metanode.state.apps.records import read_app
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.policy import errors, keys
from metanode.state.policy.document import (
    PolicyRefused,
    check_signature,
    decode_document,
    valid_name,
)
from metanode.state.policy.records import (
    SignedPolicy,
    current_version,
    write_policy,
    write_region,
)
from metanode.state.registry.queries import node
from metanode.state.staking.queries import validator
from metanode.state.values import encode_uints
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, AppContainment, DeclareRegion, Event, RegisterPolicy


def registration_code(reader: StateReader, message: RegisterPolicy) -> tuple[int, str]:
    """(OK, "") if `message` may register its policy now, else its code and why: the same
    check for the rule, the CLI's `--dry-run` and the gateway."""
    try:
        document = decode_document(message.document)
        check_signature(message.document, message.signer, message.signature)
    except PolicyRefused as error:
        return error.code, error.detail
    app = read_app(reader, document.app_id)
    if app is None:
        return errors.APP_UNKNOWN, f"no app {document.app_id.hex()} is deployed"
    signer = Address.from_public_key(message.signer)
    record = node(reader, signer)
    if signer != app.owner and (record is None or not record.is_authority):
        return errors.SIGNER_NOT_ALLOWED, f"{signer} is neither the app's owner nor an authority"
    expected = current_version(reader, document.app_id) + 1
    if document.number != expected:
        return errors.VERSION_NOT_NEXT, f"policy number {document.number}, expected {expected}"
    return OK, ""


def on_register_policy(writer: Overlay, context: TxContext, message: RegisterPolicy) -> int:
    code, _detail = registration_code(writer, message)
    if code != OK:
        return code
    document = decode_document(message.document)
    record = SignedPolicy(message.document, message.signer, message.signature, context.block.height)
    write_policy(writer, document.app_id, document.number, record)
    context.events.append(
        Event(
            "policy_registered",
            (("app", document.app_id), ("version", document.number.to_bytes(8, "big"))),
        )
    )
    return OK


def on_declare_region(writer: Overlay, context: TxContext, message: DeclareRegion) -> int:
    if node(writer, context.sender) is None and validator(writer, context.sender) is None:
        return errors.NODE_UNKNOWN
    if not valid_name(message.region):
        return errors.REGION_INVALID
    write_region(writer, context.sender, message.region)
    return OK


def containment_code(reader: StateReader, content: AppContainment) -> int:
    return OK if read_app(reader, content.app_id) is not None else errors.APP_UNKNOWN


def set_containment(writer: Overlay, content: AppContainment, height: int) -> None:
    if content.contained:
        writer.put(keys.contained(content.app_id), encode_uints([height]))
    else:
        writer.delete(keys.contained(content.app_id))
