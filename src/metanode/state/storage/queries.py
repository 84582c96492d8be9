"""storage queries: read-only, for the node's chunk service, the API and the CLI."""

from __future__ import annotations

from collections.abc import Iterator

from metanode.errors import check
from metanode.state.storage import keys
from metanode.state.storage.params import StorageParams, read_params
from metanode.state.storage.records import (
    NodeUsage,
    Placement,
    placements,
    read_account_bytes,
    read_node_usage,
    read_placement,
)
from metanode.state.values import decode_array
from metanode.state.view import StateReader
from metanode.types import Address


def params(reader: StateReader) -> StorageParams:
    return read_params(reader)


def placement(reader: StateReader, root: bytes) -> Placement | None:
    return read_placement(reader, root)


def shares_held(reader: StateReader, node: Address) -> Iterator[tuple[bytes, int, Placement]]:
    """(root, share, placement) of every share `node` holds, by root."""
    for root, record in placements(reader):
        for share, holder in enumerate(record.holders):
            if holder == node:
                yield root, share, record


def account_bytes(reader: StateReader, owner: Address) -> int:
    return read_account_bytes(reader, owner)


def node_usage(reader: StateReader, node: Address) -> NodeUsage:
    return read_node_usage(reader, node)


def stored_module(reader: StateReader, module_hash: bytes) -> tuple[bytes, Placement] | None:
    """(root, placement) of the blob holding the app module whose BLAKE3 hash is
    `module_hash` (DeployStoredApp), or None if no module is stored so."""
    key = keys.module(module_hash)
    data = reader.get(key)
    if data is None:
        return None
    (root,) = decode_array(data, key, 1)
    placement = read_placement(reader, root)
    check(placement is not None, f"the blob of stored module {module_hash.hex()} is gone")
    return None if placement is None else (root, placement)


def pinned(reader: StateReader, root: bytes) -> bool:
    """Whether blob `root` is an app's module (and so cannot be deleted)."""
    return reader.get(keys.pinned(root)) is not None
