"""keys genesis: the parameters (the genesis document's `parameters.keys`, each field defaulting
to `params.DEFAULT`) and the module's records, in and out with their genesis-file form (the
document's top-level `keys`, left out while it is empty; round-trip tested in
tests/state/test_keys_rotation.py):

    "keys": {"migrated": [{"account": "mn1…", "to": "mn1…"}],
             "node_keys": [{"node": "mn1…", "mldsa_key": "…"}],
             "rotated": [{"public_key": "…", "node": "mn1…"}]}

`rotated` is every node key a rotation (message 43) named, with the identity it serves: a
validator or node whose key is listed there is that identity, not the hash of its key, so a
chain started from an export keeps its rotated validators under their own addresses (and its
retired keys out of use). Import runs before staking's and the registry's, which read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.state import constants
from metanode.state.genesis.fields import address, fail, hex_bytes, listed, table
from metanode.state.keys import keys
from metanode.state.keys.params import KeysParams, read_params, write_params
from metanode.state.view import Overlay, StateReader
from metanode.types import Address
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class KeysRecords:
    migrated: tuple[tuple[Address, Address], ...] = ()  # (account, where it moved), by account
    node_keys: tuple[tuple[Address, bytes], ...] = ()  # (identity, ML-DSA-65 key), by identity
    rotated: tuple[tuple[bytes, Address], ...] = ()  # (node key, identity it serves), by key

    def __bool__(self) -> bool:
        return bool(self.migrated or self.node_keys or self.rotated)

    def to_wire(self) -> list[Any]:
        return [
            [[account.raw, to.raw] for account, to in self.migrated],
            [[node.raw, key] for node, key in self.node_keys],
            [[key, node.raw] for key, node in self.rotated],
        ]

    def identity_of(self, public_key: bytes) -> Address:
        """The identity a node key serves: the one a rotation recorded, else its own hash."""
        return dict(self.rotated).get(public_key) or Address.from_public_key(public_key)


def import_genesis(writer: Overlay, params: KeysParams, records: KeysRecords) -> None:
    write_params(writer, params)
    for account, to in records.migrated:
        writer.put(keys.migrated(account), to.raw)
    for node, key in records.node_keys:
        writer.put(keys.node_key(node), key)
    for key, node in records.rotated:
        writer.put(keys.rotated(key), node.raw)


def export_genesis(reader: StateReader) -> KeysParams:
    return read_params(reader)


def export_records(reader: StateReader) -> KeysRecords:
    def table_of(prefix: bytes) -> list[tuple[bytes, bytes]]:
        return [(key[len(prefix) :], value) for key, value in reader.scan(prefix)]

    return KeysRecords(
        tuple((Address(key), Address(to)) for key, to in table_of(keys.MIGRATED)),
        tuple((Address(key), value) for key, value in table_of(keys.NODE_KEY)),
        tuple((key, Address(node)) for key, node in table_of(keys.ROTATED)),
    )


def to_json(records: KeysRecords) -> dict[str, Any]:
    return {
        "migrated": [{"account": str(a), "to": str(to)} for a, to in records.migrated],
        "node_keys": [{"node": str(n), "mldsa_key": key.hex()} for n, key in records.node_keys],
        "rotated": [{"public_key": key.hex(), "node": str(n)} for key, n in records.rotated],
    }


def from_json(tree: Any) -> KeysRecords:
    """The records of the document's `keys`, checked; each list sorted as state keeps it."""
    root = table(tree, "keys", {"migrated", "node_keys", "rotated"}, set())
    limit = constants.genesis_accounts_max
    migrated: dict[Address, Address] = {}
    for index, entry in enumerate(listed(root.get("migrated", []), "keys.migrated", limit)):
        path = f"keys.migrated[{index}]"
        item = table(entry, path, {"account", "to"}, {"account", "to"})
        account, to = address(item["account"], f"{path}.account"), address(item["to"], f"{path}.to")
        if account in migrated or account == to:
            raise fail(f"{path}.account", "an account moves once, and to another address")
        migrated[account] = to
    node_keys: dict[Address, bytes] = {}
    for index, entry in enumerate(listed(root.get("node_keys", []), "keys.node_keys", limit)):
        path = f"keys.node_keys[{index}]"
        item = table(entry, path, {"node", "mldsa_key"}, {"node", "mldsa_key"})
        node = address(item["node"], f"{path}.node")
        if node in node_keys:
            raise fail(f"{path}.node", "an identity records one ML-DSA key")
        node_keys[node] = hex_bytes(
            item["mldsa_key"], f"{path}.mldsa_key", types_constants.mldsa65_public_key_bytes
        )
    rotated: dict[bytes, Address] = {}
    for index, entry in enumerate(listed(root.get("rotated", []), "keys.rotated", limit)):
        path = f"keys.rotated[{index}]"
        item = table(entry, path, {"public_key", "node"}, {"public_key", "node"})
        key = hex_bytes(
            item["public_key"], f"{path}.public_key", types_constants.ed25519_public_key_bytes
        )
        node = address(item["node"], f"{path}.node")
        if key in rotated or node == Address.from_public_key(key):
            raise fail(
                f"{path}.public_key",
                "a key serves one identity, and never the identity that is its own address",
            )
        rotated[key] = node
    return KeysRecords(
        tuple(sorted(migrated.items())),
        tuple(sorted(node_keys.items())),
        tuple(sorted(rotated.items())),
    )
