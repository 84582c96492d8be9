"""identity rules: the only code that writes DID records, credential records and status lists.

Rules:
- A DID is created by the account whose key it derives from (records.did_of_key): its first
  method `#key-1` is that key, for authentication and assertion.
- Every change (update, rotate, deactivate) must be sent by a key that authenticates for one of
  the DID's controllers (queries.controls); a deactivated DID changes no more. A change that
  would leave the DID with no authentication method is refused, so no DID locks itself out by
  accident (deactivation is the one deliberate way to end it).
- A credential counts only once it is registered here: the chain reads its JSON, checks that
  the issuer DID belongs to an active bank or government authority (queries.is_authority),
  that the proof's method is one of the issuer's assertion keys and verifies (eddsa-jcs-2022),
  that the subject DID exists, that the credential is valid at the block time, and that its
  status index is free and not revoked. It keeps (issuer, level, validity, status index) under
  the subject; the status index then belongs to it.
- Revocation sets a bit in the issuer's status list, sent by a key that authenticates for the
  issuer DID's controllers. A set bit is never cleared (revocation is for good).
Each handler is a flat guard ladder (tests/state/test_identity.py pins the orders) that returns
its failure code before writing anything; the signature check comes last.
"""

from __future__ import annotations

from metanode.crypto import data_integrity
from metanode.errors import DecodeError, check
from metanode.state import constants
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.identity import errors, keys
from metanode.state.identity.credentials import parse
from metanode.state.identity.messages import (
    check_create,
    check_deactivate,
    check_revoke,
    check_rotate,
    check_update,
)
from metanode.state.identity.queries import controls, credentials, is_authority
from metanode.state.identity.records import (
    FIRST_KEY,
    CredentialRecord,
    DidRecord,
    bit_is_set,
    did_id,
    did_of_key,
    read_did,
    read_status_list,
    with_bit_set,
    write_credential,
    write_did,
    write_status_list,
)
from metanode.state.view import Overlay
from metanode.types import (
    CreateDid,
    DeactivateDid,
    Event,
    RegisterCredential,
    Relationship,
    RevokeCredential,
    RotateDidKey,
    UpdateDid,
    VerificationMethod,
)
from metanode.types import constants as types_constants


def on_create_did(writer: Overlay, context: TxContext, message: CreateDid) -> int:
    code = check_create(message)
    if code != OK:
        return code
    name = did_of_key(context.sender_public_key)
    if read_did(writer, name) is not None:
        return errors.DID_EXISTS
    for controller in message.controllers:
        if controller != name:
            holder = read_did(writer, controller)
            if holder is None or holder.deactivated:
                return errors.CONTROLLER_NOT_FOUND
    time_ms = context.block.timestamp_ms
    first = VerificationMethod(
        FIRST_KEY,
        context.sender_public_key,
        Relationship.AUTHENTICATION | Relationship.ASSERTION,
    )
    controllers = () if message.controllers == (name,) else message.controllers
    record = DidRecord(
        context.sender_public_key,
        controllers,
        (first,),
        message.services,
        time_ms,
        time_ms,
        1,
        False,
    )
    write_did(writer, name, record)
    context.events.append(Event("did_created", (("did", name.encode()),)))
    return OK


def _controlled(
    writer: Overlay, context: TxContext, stateless: int, name: str
) -> tuple[int, DidRecord | None]:
    """The first rungs of every change: the message's stateless check, then the DID exists, is
    active, and the sender controls it. The record is None exactly when a rung failed."""
    if stateless != OK:
        return stateless, None
    record = read_did(writer, name)
    if record is None:
        return errors.DID_NOT_FOUND, None
    if record.deactivated:
        return errors.DID_DEACTIVATED, None
    if not controls(writer, name, record, context.sender_public_key):
        return errors.NOT_CONTROLLER, None
    return OK, record


def on_update_did(writer: Overlay, context: TxContext, message: UpdateDid) -> int:
    code, record = _controlled(writer, context, check_update(message), message.did)
    if record is None:
        return code
    if any(record.method(fragment) is None for fragment in message.remove_methods):
        return errors.METHOD_UNKNOWN
    service_fragments = {service.fragment for service in record.services}
    if not set(message.remove_services) <= service_fragments:
        return errors.SERVICE_UNKNOWN
    methods = [m for m in record.methods if m.fragment not in message.remove_methods]
    services = [s for s in record.services if s.fragment not in message.remove_services]
    kept = {m.fragment for m in methods} | {s.fragment for s in services}
    added = [m.fragment for m in message.add_methods] + [s.fragment for s in message.add_services]
    kept_keys = {m.public_key for m in methods}
    if set(added) & kept or len(set(added)) != len(added):
        return errors.FRAGMENT_IN_USE
    if any(m.public_key in kept_keys for m in message.add_methods):
        return errors.METHOD_INVALID  # one key, one method: a key's uses are its relationships
    methods += message.add_methods
    services += message.add_services
    if (
        len(methods) > types_constants.did_methods_max
        or len(services) > types_constants.did_services_max
    ):
        return errors.DOCUMENT_FULL
    if not any(Relationship.AUTHENTICATION in m.relationships for m in methods):
        return errors.NO_AUTHENTICATION_METHOD
    changed = record.changed(
        context.block.timestamp_ms, methods=tuple(methods), services=tuple(services)
    )
    write_did(writer, message.did, changed)
    return OK


def on_rotate_did_key(writer: Overlay, context: TxContext, message: RotateDidKey) -> int:
    code, record = _controlled(writer, context, check_rotate(message), message.did)
    if record is None:
        return code
    method = record.method(message.fragment)
    if method is None:
        return errors.METHOD_UNKNOWN
    if Relationship.AUTHENTICATION not in method.relationships:
        return errors.METHOD_NOT_AUTHENTICATION
    if any(m.public_key == message.public_key for m in record.methods):
        return errors.KEY_UNCHANGED
    rotated = VerificationMethod(method.fragment, message.public_key, method.relationships)
    methods = tuple(rotated if m is method else m for m in record.methods)
    write_did(writer, message.did, record.changed(context.block.timestamp_ms, methods=methods))
    return OK


def on_deactivate_did(writer: Overlay, context: TxContext, message: DeactivateDid) -> int:
    code, record = _controlled(writer, context, check_deactivate(message), message.did)
    if record is None:
        return code
    write_did(writer, message.did, record.changed(context.block.timestamp_ms, deactivated=True))
    context.events.append(Event("did_deactivated", (("did", message.did.encode()),)))
    return OK


def on_register_credential(writer: Overlay, context: TxContext, message: RegisterCredential) -> int:
    try:
        credential = parse(message.credential)
    except DecodeError:
        return errors.CREDENTIAL_MALFORMED
    issuer = read_did(writer, credential.issuer)
    if issuer is None or issuer.deactivated:
        return errors.ISSUER_NOT_FOUND
    if not is_authority(writer, credential.issuer, issuer):
        return errors.ISSUER_NOT_AUTHORITY
    method = issuer.method(credential.fragment)
    if method is None or Relationship.ASSERTION not in method.relationships:
        return errors.VERIFICATION_METHOD_INVALID
    subject = read_did(writer, credential.subject)
    if subject is None or subject.deactivated:
        return errors.SUBJECT_NOT_FOUND
    now = context.block.timestamp_ms
    if now < credential.valid_from_ms:
        return errors.CREDENTIAL_NOT_YET_VALID
    if now >= credential.valid_until_ms:
        return errors.CREDENTIAL_EXPIRED
    subject_id = did_id(credential.subject)
    issuer_id = did_id(credential.issuer)
    check(subject_id is not None and issuer_id is not None, "parse checked both DIDs")
    digest = credential.hash
    if writer.get(keys.credential(subject_id, digest)) is not None:  # type: ignore[arg-type]
        return errors.CREDENTIAL_ALREADY_REGISTERED
    if bit_is_set(read_status_list(writer, issuer_id), credential.status_index):  # type: ignore[arg-type]
        return errors.CREDENTIAL_REVOKED
    index_key = keys.status_index(issuer_id, credential.status_index)  # type: ignore[arg-type]
    if writer.get(index_key) is not None:
        return errors.STATUS_INDEX_IN_USE
    held = sum(1 for _ in credentials(writer, credential.subject))
    if held >= constants.credentials_per_subject_max:
        return errors.SUBJECT_CREDENTIALS_FULL
    if not data_integrity.verify(credential.document, method.public_key):
        return errors.PROOF_INVALID
    record = CredentialRecord(
        credential.issuer,
        credential.level,
        credential.valid_from_ms,
        credential.valid_until_ms,
        credential.status_index,
        context.block.height,
    )
    write_credential(writer, subject_id, digest, record)  # type: ignore[arg-type]
    writer.put(index_key, digest)
    context.events.append(
        Event(
            "credential_registered",
            (("subject", credential.subject.encode()), ("credential", digest)),
        )
    )
    return OK


def on_revoke_credential(writer: Overlay, context: TxContext, message: RevokeCredential) -> int:
    code, record = _controlled(writer, context, check_revoke(message), message.issuer)
    if record is None:
        return code
    issuer_id = did_id(message.issuer)
    check(issuer_id is not None, "check_revoke checked the issuer DID")
    bits = read_status_list(writer, issuer_id)  # type: ignore[arg-type]
    if bit_is_set(bits, message.index):
        return errors.CREDENTIAL_REVOKED
    write_status_list(writer, issuer_id, with_bit_set(bits, message.index))  # type: ignore[arg-type]
    context.events.append(
        Event(
            "credential_revoked",
            (("issuer", message.issuer.encode()), ("index", message.index.to_bytes(4, "big"))),
        )
    )
    return OK
