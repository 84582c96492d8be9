"""privacy's read-only queries: an issuer's published AnonCreds material (what a holder needs
to make a proof: the definitions and the current status list) and an account's attestation."""

from __future__ import annotations

from metanode.crypto import zk
from metanode.state.identity.records import did_id
from metanode.state.privacy.records import (
    Attestation,
    read_attestation,
    read_definitions,
    read_status_list,
)
from metanode.state.view import StateReader
from metanode.types import Address


def issuer(reader: StateReader, did: str) -> tuple[zk.Definitions, zk.StatusList] | None:
    """The issuer's definitions and current status list, or None if it published none."""
    identifier = did_id(did)
    if identifier is None:
        return None
    definitions = read_definitions(reader, did, identifier)
    if definitions is None:
        return None
    return definitions, read_status_list(reader, did, identifier)


def attestation(reader: StateReader, address: Address) -> Attestation | None:
    return read_attestation(reader, address)
