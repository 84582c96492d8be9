"""keys queries: read-only."""

from __future__ import annotations

from metanode.state.keys import keys
from metanode.state.registry.records import read_node
from metanode.state.staking.records import read_validator
from metanode.state.view import StateReader
from metanode.types import Address


def migrated_to(reader: StateReader, address: Address) -> Address | None:
    """The hybrid address an Ed25519 account moved to, or None if it has not migrated."""
    data = reader.get(keys.migrated(address))
    return None if data is None else Address(data)


def node_key(reader: StateReader, address: Address) -> bytes | None:
    """The ML-DSA-65 key a node identity added (message 38), or None."""
    return reader.get(keys.node_key(address))


def node_of_key(reader: StateReader, public_key: bytes) -> Address | None:
    """The identity a rotated-to Ed25519 node key serves (message 43), or None: a key no
    rotation named, whose identity is its own address."""
    data = reader.get(keys.rotated(public_key))
    return None if data is None else Address(data)


def current_node_key(reader: StateReader, address: Address) -> bytes | None:
    """The Ed25519 node key the identity's records name (staking's and the registry's hold the
    same one), or None for an address that is neither a validator nor a registered node."""
    validator = read_validator(reader, address)
    if validator is not None:
        return validator.public_key
    node = read_node(reader, address)
    return None if node is None else node.public_key
