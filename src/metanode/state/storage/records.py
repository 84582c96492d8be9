"""storage's stored records: placements, account and node usage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from metanode.errors import check
from metanode.state.storage import keys
from metanode.state.values import decode_array, decode_uints, encode_uints, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.storage.coding import Layout
from metanode.types import Address


@dataclass(frozen=True, slots=True)
class Placement:
    owner: Address
    size: int
    chunk_bytes: int
    k: int
    n: int
    coded_root: bytes
    holders: tuple[Address, ...]  # share j's node at position j
    height: int  # where it was placed
    since: tuple[int, ...]  # the height share j's node took it (placed, or moved to it)

    @property
    def layout(self) -> Layout:
        return Layout(self.size, self.k, self.n, self.chunk_bytes)

    def to_wire(self) -> list[object]:
        return [
            self.owner.raw,
            self.size,
            self.chunk_bytes,
            self.k,
            self.n,
            self.coded_root,
            [holder.raw for holder in self.holders],
            self.height,
            list(self.since),
        ]


@dataclass(frozen=True, slots=True)
class NodeUsage:
    bytes_held: int = 0
    faults: int = 0  # failed challenges ever recorded against the node


def decode_placement(data: bytes, key: bytes) -> Placement:
    owner, size, chunk_bytes, k, n, coded_root, holders, height, since = decode_array(data, key, 9)
    check(
        isinstance(holders, tuple) and len(holders) == n and len(since) == n,
        f"placement at {key.hex()} names {len(holders)} holders for {n} shares",
    )
    return Placement(
        Address(owner),
        size,
        chunk_bytes,
        k,
        n,
        coded_root,
        tuple(map(Address, holders)),
        height,
        since,
    )


def read_placement(reader: StateReader, root: bytes) -> Placement | None:
    key = keys.placement(root)
    data = reader.get(key)
    return None if data is None else decode_placement(data, key)


def write_placement(writer: Overlay, root: bytes, placement: Placement) -> None:
    writer.put(keys.placement(root), encode_value(placement.to_wire()))


def placements(reader: StateReader) -> Iterator[tuple[bytes, Placement]]:
    """Every placement, by root (bytewise)."""
    for key, value in reader.scan(keys.PLACEMENT):
        yield key[len(keys.PLACEMENT) :], decode_placement(value, key)


def read_account_bytes(reader: StateReader, owner: Address) -> int:
    key = keys.account(owner)
    data = reader.get(key)
    return 0 if data is None else decode_uints(data, key, 1)[0]


def write_account_bytes(writer: Overlay, owner: Address, used: int) -> None:
    writer.put(keys.account(owner), encode_uints([used]))


def read_node_usage(reader: StateReader, node: Address) -> NodeUsage:
    key = keys.node(node)
    data = reader.get(key)
    return NodeUsage() if data is None else NodeUsage(*decode_uints(data, key, 2))


def write_node_usage(writer: Overlay, node: Address, usage: NodeUsage) -> None:
    writer.put(keys.node(node), encode_uints([usage.bytes_held, usage.faults]))
