"""identity queries: read-only. The registry reads `level_of` and `controls` through here."""

from __future__ import annotations

from collections.abc import Iterator

from metanode.state.identity import keys
from metanode.state.identity.records import (
    CredentialRecord,
    DidRecord,
    bit_is_set,
    decode_credential,
    decode_did,
    did_id,
    read_did,
    read_status_list,
)
from metanode.state.registry.records import IdentityLevel, Status, read_node
from metanode.state.view import StateReader
from metanode.types import Address, NodeType, Relationship, Role

AUTHORITY_TYPES = (NodeType.BANK, NodeType.GOVERNMENT)


def did(reader: StateReader, name: str) -> DidRecord | None:
    return read_did(reader, name)


def dids(reader: StateReader) -> Iterator[tuple[bytes, DidRecord]]:
    """Every DID record, by id."""
    for key, value in reader.scan(keys.DID):
        yield key[len(keys.DID) :], decode_did(value, key)


def controls(reader: StateReader, name: str, record: DidRecord, public_key: bytes) -> bool:
    """Whether `public_key` is an authentication key of an active controller of DID `name`
    (the DID itself when it names no controllers). One level deep: a controller's own
    controllers do not control it."""
    for controller in record.controllers_of(name):
        holder = record if controller == name else read_did(reader, controller)
        if (
            holder is not None
            and not holder.deactivated
            and public_key in holder.keys_for(Relationship.AUTHENTICATION)
        ):
            return True
    return False


def is_authority(reader: StateReader, name: str, record: DidRecord) -> bool:
    """A DID is an authority's when the account that created it is an active registered bank or
    government node holding the authority role, and that node's record names this DID."""
    node = read_node(reader, Address.from_public_key(record.creator_key))
    return (
        node is not None
        and node.node_type in AUTHORITY_TYPES
        and Role.AUTHORITY in node.roles
        and node.status is Status.ACTIVE
        and node.did == name
    )


def credentials(reader: StateReader, subject: str) -> Iterator[tuple[bytes, CredentialRecord]]:
    """The subject's registered credentials: (credential hash, record), by hash."""
    identifier = did_id(subject)
    if identifier is None:
        return
    prefix = keys.credentials_of(identifier)
    for key, value in reader.scan(prefix):
        yield key[len(prefix) :], decode_credential(value, key)


def is_revoked(reader: StateReader, record: CredentialRecord) -> bool:
    issuer = did_id(record.issuer)
    return issuer is not None and bit_is_set(read_status_list(reader, issuer), record.status_index)


def level_of(reader: StateReader, subject: str, time_ms: int) -> IdentityLevel:
    """The highest level among the subject's credentials that are valid at `time_ms` (the block
    time) and not revoked; NONE for a DID that does not exist or is deactivated. An expired or
    revoked credential stops counting, so the level falls back to what the others still show."""
    record = read_did(reader, subject)
    if record is None or record.deactivated:
        return IdentityLevel.NONE
    return max(
        (
            credential.level
            for _hash, credential in credentials(reader, subject)
            if credential.is_valid_at(time_ms) and not is_revoked(reader, credential)
        ),
        default=IdentityLevel.NONE,
    )
