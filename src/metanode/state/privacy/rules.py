"""privacy rules: the only code that writes issuers' AnonCreds material, spent proofs and
attestations.

Rules:
- An authority (identity.queries.is_authority) publishes its KYC definitions once
  (`PublishZkIssuer` with `definitions`), with a status list; later it publishes a new status
  list alone. The sender must authenticate for the issuer DID's controllers. A status list
  carries its own timestamp (seconds), which must be after the previous list's and not after
  the block; and it must revoke every index that the issuer's W3C status list (state/identity)
  revokes, so revoking a registered credential revokes its zero-knowledge twin.
- A proof (`ProveKyc`) is checked against the issuer's current status list and a request the
  chain builds from the message: predicates `kycLevel >= level_min` and, for `age_min > 0`,
  `birthDate <= born_by(block date, age_min)`, and the nonce of the sender's transaction
  (records.proof_nonce). It must offer `proof_fee_min`, and a block verifies at most
  `proofs_per_block_max` proofs; cheap rungs come first so that the expensive verification
  runs last. An accepted proof's challenge is spent (a replay is refused before it is
  verified again) and the sender's attestation is written.
Each handler is a flat guard ladder (tests/state/test_privacy.py pins the orders) that returns
its failure code before writing anything.
"""

from __future__ import annotations

from metanode.crypto import zk
from metanode.errors import DecodeError, check
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.identity.queries import controls, is_authority
from metanode.state.identity.records import did_id, read_did
from metanode.state.identity.records import read_status_list as read_identity_status_list
from metanode.state.privacy import errors, keys
from metanode.state.privacy.messages import check_prove, check_publish
from metanode.state.privacy.params import read_params
from metanode.state.privacy.records import (
    Attestation,
    born_by,
    lags,
    proof_nonce,
    read_definitions,
    read_status_list,
    write_attestation,
)
from metanode.state.values import encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Event, ProveKyc, PublishZkIssuer
from metanode.types import constants as types_constants

MS_PER_S = 1_000


def _authority(reader: StateReader, issuer: str) -> bool:
    record = read_did(reader, issuer)
    return record is not None and not record.deactivated and is_authority(reader, issuer, record)


def _definitions_of(
    message: PublishZkIssuer, published: zk.Definitions | None
) -> tuple[int, zk.Definitions | None]:
    """The definitions a publication runs under: those it carries the first time, the
    published ones afterwards; None with the code when neither holds."""
    if not message.definitions:
        return (errors.DEFINITIONS_MISSING, None) if published is None else (OK, published)
    try:
        carried = zk.parse_definitions(message.definitions, message.issuer)
    except DecodeError:
        return errors.DEFINITIONS_MALFORMED, None
    if carried.capacity > types_constants.zk_capacity_max:
        return errors.DEFINITIONS_MALFORMED, None
    if published is not None:
        return errors.DEFINITIONS_EXIST, None
    return OK, carried


def on_publish_zk_issuer(writer: Overlay, context: TxContext, message: PublishZkIssuer) -> int:
    code = check_publish(message)
    if code != OK:
        return code
    issuer_id = did_id(message.issuer)
    check(issuer_id is not None, "check_publish checked the issuer DID")
    record = read_did(writer, message.issuer)
    if record is None or record.deactivated or not is_authority(writer, message.issuer, record):
        return errors.ISSUER_NOT_AUTHORITY
    if not controls(writer, message.issuer, record, context.sender_public_key):
        return errors.NOT_CONTROLLER
    published = read_definitions(writer, message.issuer, issuer_id)  # type: ignore[arg-type]
    code, definitions = _definitions_of(message, published)
    if definitions is None:
        return code
    try:
        status = zk.parse_status_list(message.status_list, message.issuer)
    except DecodeError:
        return errors.STATUS_LIST_MALFORMED
    if len(status.revoked) != definitions.capacity:
        return errors.STATUS_LIST_MALFORMED
    previous = (
        None if published is None else read_status_list(writer, message.issuer, issuer_id)  # type: ignore[arg-type]
    )
    if status.timestamp * MS_PER_S > context.block.timestamp_ms or (
        previous is not None and status.timestamp <= previous.timestamp
    ):
        return errors.STATUS_LIST_TIME_INVALID
    if lags(read_identity_status_list(writer, issuer_id), status):  # type: ignore[arg-type]
        return errors.STATUS_LIST_LAGS_REVOCATIONS
    if message.definitions:
        writer.put(keys.definitions(issuer_id), message.definitions)  # type: ignore[arg-type]
    writer.put(keys.status_list(issuer_id), message.status_list)  # type: ignore[arg-type]
    context.events.append(Event("zk_issuer_published", (("issuer", message.issuer.encode()),)))
    return OK


def on_prove_kyc(writer: Overlay, context: TxContext, message: ProveKyc) -> int:
    code = check_prove(message)
    if code != OK:
        return code
    params = read_params(writer)
    if context.fee < params.proof_fee_min:
        return errors.FEE_BELOW_PROOF_FEE
    if context.block.zk_proofs >= params.proofs_per_block_max:
        return errors.BLOCK_PROOFS_FULL
    issuer_id = did_id(message.issuer)
    check(issuer_id is not None, "check_prove checked the issuer DID")
    definitions = read_definitions(writer, message.issuer, issuer_id)  # type: ignore[arg-type]
    if definitions is None:
        return errors.ISSUER_NOT_FOUND
    if not _authority(writer, message.issuer):
        return errors.ISSUER_NOT_AUTHORITY
    try:
        presentation = zk.parse_presentation(message.presentation)
    except DecodeError:
        return errors.PRESENTATION_MALFORMED
    statement = zk.Statement(
        message.issuer, message.level_min, born_by(context.block.timestamp_ms, message.age_min)
    )
    if not zk.states(presentation, statement):
        return errors.STATEMENT_MISMATCH
    status = read_status_list(writer, message.issuer, issuer_id)  # type: ignore[arg-type]
    if presentation.timestamp != status.timestamp or lags(
        read_identity_status_list(writer, issuer_id),  # type: ignore[arg-type]
        status,
    ):
        return errors.STATUS_OUTDATED
    spent = keys.spent(presentation.challenge)
    if writer.get(spent) is not None:
        return errors.PROOF_REPLAYED
    context.block.zk_proofs += 1
    nonce = proof_nonce(context.block.chain.chain_id, context.sender, context.nonce)
    if not zk.verify(presentation, statement, nonce, definitions, status):
        return errors.PROOF_INVALID
    writer.put(spent, encode_value(context.block.height))
    attestation = Attestation(
        message.issuer,
        message.level_min,
        statement.born_by,
        context.block.height,
        context.block.timestamp_ms,
    )
    write_attestation(writer, context.sender, attestation)
    context.events.append(Event("kyc_proved", (("issuer", message.issuer.encode()),)))
    return OK
