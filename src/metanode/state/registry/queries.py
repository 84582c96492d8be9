"""registry queries: read-only."""

from __future__ import annotations

from collections.abc import Iterator

from metanode.state import constants
from metanode.state.identity.queries import level_of
from metanode.state.registry import keys
from metanode.state.registry.records import (
    IdentityLevel,
    NodeRecord,
    RegistryParams,
    decode_node,
    read_node,
)
from metanode.state.registry.records import read_params as read_registry_params
from metanode.state.staking import keys as staking_keys
from metanode.state.staking.records import read_uint
from metanode.state.view import StateReader
from metanode.types import Address


def node(reader: StateReader, address: Address) -> NodeRecord | None:
    return read_node(reader, address)


def nodes(
    reader: StateReader, after: Address | None = None
) -> Iterator[tuple[Address, NodeRecord]]:
    """Every registered node, by address (bytewise), from the first one past `after`."""
    for key, value in reader.scan(keys.NODE):
        address = Address(key[len(keys.NODE) :])
        if after is None or address.raw > after.raw:
            yield address, decode_node(value, key)


def node_stake(reader: StateReader, address: Address, record: NodeRecord) -> int:
    """The GEN a node has locked: its own bond in staking for a validator node, else what the
    registry holds for it."""
    if record.is_validator:
        return read_uint(reader, staking_keys.delegation(address, address))
    return record.stake


def voting_power(params: RegistryParams, stake: int, record: NodeRecord) -> int:
    """The node type's rule: one vote per `power_divisor` whole GEN, floored; 1 if the divisor
    is 0 (community nodes)."""
    divisor = params.of(record.node_type).power_divisor
    if divisor == 0:
        return 1
    return stake // (divisor * constants.base_units_per_coin)


def evidence_used_at(reader: StateReader, evidence_hash: bytes) -> int | None:
    """The height at which this evidence slashed, or None if it never did."""
    key = keys.evidence(evidence_hash)
    return None if reader.get(key) is None else read_uint(reader, key)


def params(reader: StateReader) -> RegistryParams:
    return read_registry_params(reader)


def identity_level(reader: StateReader, record: NodeRecord, time_ms: int) -> IdentityLevel:
    """The node's identity level at `time_ms`: its DID's highest credential valid then and not
    revoked. It was at least its type's level when it registered; an expired or revoked
    credential lowers it to what the node's other credentials still show."""
    return level_of(reader, record.did, time_ms)
