"""privacy invariants, named, checked after every block in tests (and by `metanode store check`).

- `issuers_are_complete`: every issuer with definitions has a status list and none without;
  both parse as what `PublishZkIssuer` accepted.
- `attestations_name_published_issuers`: each attestation names an issuer whose definitions
  the chain holds, a known level, and a height the chain has reached.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.genesis.chain import read_tip
from metanode.state.identity.records import did_id, did_of_id
from metanode.state.privacy import keys
from metanode.state.privacy.records import read_attestation, read_definitions, read_status_list
from metanode.state.registry.records import IdentityLevel
from metanode.state.view import StateReader
from metanode.types import Address


def issuers_are_complete(reader: StateReader) -> None:
    with_definitions = {key[len(keys.DEFINITIONS) :] for key, _ in reader.scan(keys.DEFINITIONS)}
    with_lists = {key[len(keys.STATUS_LIST) :] for key, _ in reader.scan(keys.STATUS_LIST)}
    check(
        with_definitions == with_lists,
        "privacy.issuers_are_complete: definitions and status lists name different issuers",
    )
    for issuer_id in sorted(with_definitions):
        issuer = did_of_id(issuer_id)
        read_definitions(reader, issuer, issuer_id)
        read_status_list(reader, issuer, issuer_id)


def attestations_name_published_issuers(reader: StateReader) -> None:
    height, _ = read_tip(reader)
    for key, _ in reader.scan(keys.ATTESTATION):
        attestation = read_attestation(reader, Address(key[len(keys.ATTESTATION) :]))
        issuer_id = did_id(attestation.issuer) if attestation is not None else None
        check(
            attestation is not None
            and issuer_id is not None
            and reader.get(keys.definitions(issuer_id)) is not None
            and IdentityLevel.BASIC <= attestation.level_min <= IdentityLevel.FULL
            and attestation.height <= height,
            f"privacy.attestations_name_published_issuers: the attestation at {key.hex()}",
        )


INVARIANTS = (issuers_are_complete, attestations_name_published_issuers)
