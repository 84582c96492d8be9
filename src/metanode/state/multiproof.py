"""A multiproof over the state tree (`metanode.state.tree`): the part of the tree on the paths
of some keys, from which the keys' values (or absence) are read and a batch of writes to them
is applied, giving the new root, with hashing alone and no node store.

Form (deterministic CBOR), one node per position the proof opens, from the root down:
- `null`: an empty slot (or the empty tree);
- 32 bytes: a subtree the proof does not open, by its hash (never zero: that is an empty slot);
- `[key hash, value hash]`: a leaf;
- an array of 16 nodes: an internal node, its slots in nibble order.
The root a proof proves is its root node's hash, computed as the tree hashes (leaf, the 4-level
binary fold of an internal node's 16 slots). Since the tree's shape is a function of its
content alone (a leaf at its key hash's shallowest unique prefix; a node left with one leaf
child is replaced by that leaf), a proof that hashes to a root shows that root's tree.

Why the root after writes follows from the proof: a write changes only the nodes on its key's
path, which the proof opens down to the key's leaf, another key's leaf where it would go, or an
empty slot; rebuilding those nodes as `tree.update` does needs the hashes of the slots beside
the path, which the proof carries. One case needs more: a delete that leaves a node with a
single child replaces the node by that child if it is a leaf, so the child's kind must be
known; the proof must open it (`Incomplete` names its position, and `expand` opens it).
tests/state/test_multiproof.py checks the root after random writes on random states against
the whole tree's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode
from metanode.errors import DecodeError, VerificationError
from metanode.state.tree import (
    _DEPTH_MAX,
    _LEAF_TAG,
    ZERO,
    NodeReader,
    _decode_slots,
    _fold,
    _nibble,
    _node_key,
    _path_with,
    _root_record,
    _slices,
    key_hash,
    leaf_hash,
    value_hash,
)

Leaf = tuple[bytes, bytes]  # (key hash, value hash)
Node = None | bytes | Leaf | list[Any]  # an internal node: 16 Nodes
_SLOTS = 16


class Incomplete(Exception):
    """The proof does not open a node an operation needs: `path` is a 32-byte path that leads
    to it, so a prover can open it (`expand`)."""

    def __init__(self, path: bytes, depth: int) -> None:
        super().__init__(f"the proof leaves the node at depth {depth} on {path.hex()} closed")
        self.path = path


def node_hash(node: Node) -> bytes:
    if node is None:
        return ZERO
    if isinstance(node, bytes):
        return node
    if isinstance(node, tuple):
        return leaf_hash(*node)
    return _fold(_fold(_fold(_fold([node_hash(slot) for slot in node]))))[0]


# --- proving ---------------------------------------------------------------------------------


def expand(
    nodes: NodeReader, root: bytes, keys: Iterable[bytes], paths: Iterable[bytes] = ()
) -> bytes:
    """The encoded proof of `keys` under `root`, read from the tree's node store; `paths` are
    key hashes whose paths it opens too (an `Incomplete`'s path)."""
    wanted = sorted({key_hash(key) for key in keys} | set(paths))
    return encode(_wire(_open(nodes, _root_record(nodes, root), 0, wanted, 0, len(wanted))))


def _open(
    nodes: NodeReader, record: bytes | None, depth: int, paths: list[bytes], low: int, high: int
) -> Node:
    """The node of `record` opened along paths[low:high] (sorted, all leading to it)."""
    if record is None:
        return None
    if low == high:
        return record[1:33]
    data = nodes.get(_node_key(record[33:], paths[low], depth))
    if data is None:
        raise VerificationError("a state tree node is missing while proving")
    if data[0] == _LEAF_TAG:
        return (data[1:33], data[33:65])
    slots = _decode_slots(data)
    below = _split(paths, low, high, depth)
    return [_open(nodes, slots[slot], depth + 1, paths, *below[slot]) for slot in range(_SLOTS)]


def _split(hashes: list[bytes], low: int, high: int, depth: int) -> list[tuple[int, int]]:
    """Each slot's range of hashes[low:high] (sorted, sharing their first `depth` nibbles):
    one pass over them, where filtering them once per slot read each 16 times."""
    ranges = [(low, low)] * _SLOTS
    for slot, start, end in _slices(hashes, low, high, depth):
        ranges[slot] = (start, end)
    return ranges


def _wire(node: Node) -> Any:
    if isinstance(node, tuple):
        return list(node)
    if isinstance(node, list):
        return [_wire(slot) for slot in node]
    return node


# --- checking --------------------------------------------------------------------------------


def parse(data: bytes) -> Node:
    """The proof's nodes; VerificationError if it is not of the form above."""
    try:
        value = decode(data)
    except DecodeError as error:
        raise VerificationError(f"malformed multiproof: {error}") from None
    return _node(value, 0)


def _node(value: Any, depth: int) -> Node:
    if value is None:
        return None
    if isinstance(value, bytes):
        if len(value) != 32 or value == ZERO:
            raise VerificationError("a closed subtree is its 32-byte hash, never zero")
        return value
    if isinstance(value, tuple) and len(value) == 2:
        if any(not isinstance(item, bytes) or len(item) != 32 for item in value):
            raise VerificationError("a leaf is [key hash, value hash], 32 bytes each")
        return (value[0], value[1])
    if isinstance(value, tuple) and len(value) == _SLOTS and depth < _DEPTH_MAX:
        children = [_node(item, depth + 1) for item in value]
        if all(child is None for child in children):
            raise VerificationError("an internal node holds at least one child")
        return children
    raise VerificationError("a multiproof node is null, a hash, a leaf or 16 slots")


@dataclass(frozen=True, slots=True)
class Proof:
    """A parsed proof whose root was checked: `read` and `apply` answer from it alone."""

    node: Node

    @classmethod
    def check(cls, root: bytes, data: bytes) -> Proof:
        node = parse(data)
        if node_hash(node) != root:
            raise VerificationError("the multiproof does not lead to the root")
        return cls(node)

    def read(self, key: bytes) -> bytes | None:
        """The value hash of `key` (None: absent); Incomplete if the proof does not show it."""
        hashed = key_hash(key)
        node, depth = self.node, 0
        while isinstance(node, list):
            node = node[_nibble(hashed, depth)]
            depth += 1
        if isinstance(node, bytes):
            raise Incomplete(hashed, depth)
        if node is None or node[0] != hashed:
            return None
        return node[1]

    def apply(self, writes: Mapping[bytes, bytes | None]) -> bytes:
        """The root after writing `writes` (key → value, None deletes), as `tree.update`
        gives it; Incomplete if the proof lacks a node the writes need."""
        hashed = sorted(
            (key_hash(key), None if value is None else value_hash(value))
            for key, value in writes.items()
        )
        return node_hash(_apply(self.node, 0, [item[0] for item in hashed], hashed))


def _apply(
    node: Node, depth: int, keys: list[bytes], writes: Sequence[tuple[bytes, bytes | None]]
) -> Node:
    """`writes` (sorted by key hash; `keys` their key hashes) applied below `node`."""
    if not writes:
        return node
    if isinstance(node, bytes):
        raise Incomplete(keys[0], depth)
    if node is None or isinstance(node, tuple):
        merged = {} if node is None else {node[0]: node[1]}
        for hashed, value in writes:
            if value is None:
                merged.pop(hashed, None)
            else:
                merged[hashed] = value
        items = sorted(merged.items())
        return _build([item[0] for item in items], items, 0, len(items), depth)
    slots = list(node)
    for slot, (start, end) in enumerate(_split(keys, 0, len(keys), depth)):
        if start < end:
            slots[slot] = _apply(slots[slot], depth + 1, keys[start:end], writes[start:end])
    present = [(slot, child) for slot, child in enumerate(slots) if child is not None]
    if not present:
        return None
    if len(present) == 1:
        slot, only = present[0]
        if isinstance(only, bytes):
            raise Incomplete(_path_with(keys[0], depth, slot), depth + 1)
        if isinstance(only, tuple):
            return only  # a node left with one leaf is replaced by it (tree.py `_Batch.finish`)
    return slots


def _build(keys: list[bytes], items: Sequence[Leaf], low: int, high: int, depth: int) -> Node:
    """The subtree of the leaves items[low:high] (sorted; `keys` their key hashes)."""
    if low == high:
        return None
    if high - low == 1:
        return items[low]
    return [_build(keys, items, *span, depth + 1) for span in _split(keys, low, high, depth)]
