"""identity invariants, named, checked after every block in tests.

- `dids_are_well_formed`: each DID record sits under its creator key's id, keeps at least one
  authentication method, and its fragments and keys are distinct and within the limits.
- `credentials_match_status_indexes`: each credential's subject and issuer DIDs exist, its
  (issuer, status index) entry names it, and every status index entry names a credential of
  that issuer with that index.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.identity import keys
from metanode.state.identity.queries import dids
from metanode.state.identity.records import (
    ID_BYTES,
    decode_credential,
    did_id,
    did_of_id,
    did_of_key,
    read_did,
)
from metanode.state.view import StateReader
from metanode.types import Relationship
from metanode.types import constants as types_constants


def dids_are_well_formed(reader: StateReader) -> None:
    for identifier, record in dids(reader):
        did = did_of_id(identifier)
        check(
            did_of_key(record.creator_key) == did,
            f"identity.dids_are_well_formed: {did} is not its creator key's DID",
        )
        fragments = [m.fragment for m in record.methods] + [s.fragment for s in record.services]
        check(
            len(set(fragments)) == len(fragments)
            and len({m.public_key for m in record.methods}) == len(record.methods)
            and len(record.methods) <= types_constants.did_methods_max
            and len(record.services) <= types_constants.did_services_max
            and any(Relationship.AUTHENTICATION in m.relationships for m in record.methods),
            f"identity.dids_are_well_formed: {did} has duplicate, too many or no auth methods",
        )


def credentials_match_status_indexes(reader: StateReader) -> None:
    held: set[tuple[bytes, int, bytes]] = set()
    for key, value in reader.scan(keys.CREDENTIAL):
        body = key[len(keys.CREDENTIAL) :]
        record = decode_credential(value, key)
        issuer = did_id(record.issuer)
        check(
            issuer is not None
            and read_did(reader, record.issuer) is not None
            and read_did(reader, did_of_id(body[:ID_BYTES])) is not None,
            f"identity.credentials_match_status_indexes: {key.hex()} names an unknown DID",
        )
        index_key = keys.status_index(issuer, record.status_index)  # type: ignore[arg-type]
        check(
            reader.get(index_key) == body[ID_BYTES:],
            f"identity.credentials_match_status_indexes: {key.hex()} index entry",
        )
        held.add((issuer, record.status_index, body[ID_BYTES:]))  # type: ignore[arg-type]
    for key, value in reader.scan(keys.STATUS_INDEX):
        body = key[len(keys.STATUS_INDEX) :]
        entry = (body[:ID_BYTES], int.from_bytes(body[ID_BYTES:], "big"), value)
        check(
            entry in held,
            f"identity.credentials_match_status_indexes: {key.hex()} names no credential",
        )


INVARIANTS = (dids_are_well_formed, credentials_match_status_indexes)
