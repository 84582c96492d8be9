"""The authenticated state: one root over every key and value, with inclusion and
non-inclusion proofs a light client checks with hashing alone.

Structure (docs/decisions/state-tree.md): a sparse Merkle tree of radix 16 over the SHA-256 of
each state key, with compressed paths and versioned nodes, after Diem's Jellyfish Merkle Tree:
- a leaf sits at the shallowest depth where its key hash's nibble prefix is unique;
- an internal node has up to 16 children and is hashed as a 4-level binary tree over its 16
  slots (empty slot = 32 zero bytes; a pair of empties stays zero), so a proof carries four
  sibling hashes per level, not fifteen;
- leaf hash = SHA-256(0x00 ‖ key hash ‖ value hash), pair hash = SHA-256(0x01 ‖ left ‖ right);
  the empty tree's root is 32 zero bytes;
- nodes are stored under (version ‖ depth ‖ packed nibble path), written once and never
  changed, so every old root stays readable for proofs at a past height; each update lists the
  nodes it made stale, for pruning after a retention window. A root-index entry
  (`R` ‖ root hash → node key) finds the root node of any retained version.
Cost per block of k writes in a tree of n keys: about k·log16(n) nodes rehashed and written,
each once, whatever the order of the writes (they are applied as one sorted batch).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from metanode.codec import decode, encode
from metanode.errors import DecodeError, InvariantViolation, VerificationError

ZERO = bytes(32)
EMPTY_ROOT = ZERO
_ROOT_INDEX = b"R"
_LEAF = b"\x00"
_NODE = b"\x01"
_INTERNAL_TAG = 1
_LEAF_TAG = 0
_DEPTH_MAX = 64
_sha256 = hashlib.sha256


class NodeReader(Protocol):
    def get(self, node_key: bytes) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class TreeUpdate:
    root: bytes
    node_writes: tuple[tuple[bytes, bytes], ...]
    stale: tuple[bytes, ...]


class MemoryNodes(dict[bytes, bytes]):
    """Nodes in memory (tests, genesis before the store exists)."""

    def apply(self, update: TreeUpdate) -> None:
        self.update(update.node_writes)


@dataclass(frozen=True, slots=True)
class _Overlay:
    base: NodeReader
    writes: Mapping[bytes, bytes]

    def get(self, node_key: bytes) -> bytes | None:
        found = self.writes.get(node_key)
        return found if found is not None else self.base.get(node_key)


def overlay(nodes: NodeReader, update: TreeUpdate) -> NodeReader:
    """`nodes` as they are once `update` is written."""
    return _Overlay(nodes, dict(update.node_writes))


def key_hash(key: bytes) -> bytes:
    return _sha256(key).digest()


def value_hash(value: bytes) -> bytes:
    return _sha256(value).digest()


def leaf_hash(hashed_key: bytes, hashed_value: bytes) -> bytes:
    return _sha256(_LEAF + hashed_key + hashed_value).digest()


def _pair(left: bytes, right: bytes) -> bytes:
    if left == ZERO and right == ZERO:
        return ZERO
    return _sha256(_NODE + left + right).digest()


def _nibble(hashed: bytes, depth: int) -> int:
    byte = hashed[depth >> 1]
    return byte >> 4 if depth % 2 == 0 else byte & 0x0F


def _node_key(version: int, hashed: bytes, depth: int) -> bytes:
    packed = bytearray(hashed[: (depth + 1) // 2])
    if depth % 2:
        packed[-1] &= 0xF0
    return version.to_bytes(8, "big") + bytes([depth]) + bytes(packed)


@dataclass(slots=True)
class _Child:
    hash: bytes
    version: int
    is_leaf: bool


@dataclass(slots=True)
class _Internal:
    children: dict[int, _Child] = field(default_factory=dict)

    def hash(self) -> bytes:
        level = [self.children[slot].hash if slot in self.children else ZERO for slot in range(16)]
        while len(level) > 1:
            level = [_pair(level[index], level[index + 1]) for index in range(0, len(level), 2)]
        return level[0]

    def siblings(self, slot: int) -> list[bytes]:
        """The four sibling hashes from the slot up to the node's hash, lowest first."""
        level = [self.children[s].hash if s in self.children else ZERO for s in range(16)]
        found = []
        position = slot
        while len(level) > 1:
            found.append(level[position ^ 1])
            level = [_pair(level[index], level[index + 1]) for index in range(0, len(level), 2)]
            position >>= 1
        return found

    def encode(self) -> bytes:
        bitmap = 0
        body = bytearray()
        for slot in sorted(self.children):
            child = self.children[slot]
            bitmap |= 1 << slot
            body += bytes([child.is_leaf]) + child.hash + child.version.to_bytes(8, "big")
        return bytes([_INTERNAL_TAG]) + bitmap.to_bytes(2, "big") + bytes(body)


def _decode_node(data: bytes) -> _Internal | tuple[bytes, bytes]:
    if data[0] == _LEAF_TAG:
        return data[1:33], data[33:65]
    bitmap = int.from_bytes(data[1:3], "big")
    node = _Internal()
    offset = 3
    for slot in range(16):
        if bitmap >> slot & 1:
            node.children[slot] = _Child(
                data[offset + 1 : offset + 33],
                int.from_bytes(data[offset + 33 : offset + 41], "big"),
                bool(data[offset]),
            )
            offset += 41
    return node


def _encode_leaf(hashed_key: bytes, hashed_value: bytes) -> bytes:
    return bytes([_LEAF_TAG]) + hashed_key + hashed_value


class _Batch:
    """One update: the new nodes it writes and the old ones it makes stale."""

    def __init__(self, nodes: NodeReader, version: int) -> None:
        self.nodes = nodes
        self.version = version
        self.writes: dict[bytes, bytes] = {}
        self.stale: list[bytes] = []

    def load(self, node_key: bytes) -> _Internal | tuple[bytes, bytes]:
        data = self.writes.get(node_key) or self.nodes.get(node_key)
        if data is None:
            raise InvariantViolation(f"state tree node {node_key.hex()} is missing")
        return _decode_node(data)

    def retire(self, node_key: bytes) -> None:
        if node_key in self.writes:
            del self.writes[node_key]
        else:
            self.stale.append(node_key)

    def put_leaf(self, hashed_key: bytes, hashed_value: bytes, depth: int) -> _Child:
        self.writes[_node_key(self.version, hashed_key, depth)] = _encode_leaf(
            hashed_key, hashed_value
        )
        return _Child(leaf_hash(hashed_key, hashed_value), self.version, True)

    def build(self, items: list[tuple[bytes, bytes]], depth: int) -> _Child | None:
        """A fresh subtree at `depth` holding `items` (sorted (key hash, value hash) puts)."""
        if not items:
            return None
        if len(items) == 1:
            return self.put_leaf(items[0][0], items[0][1], depth)
        if depth >= _DEPTH_MAX:
            raise InvariantViolation("two state keys share a 256-bit hash")
        node = _Internal()
        for slot, group in _groups(items, depth):
            child = self.build(group, depth + 1)
            if child is not None:
                node.children[slot] = child
        return self.finish(node, items[0][0], depth)

    def finish(self, node: _Internal, path: bytes, depth: int) -> _Child | None:
        """Store an internal node, collapsing it into its only child when that is a leaf."""
        if not node.children:
            return None
        if len(node.children) == 1:
            (child,) = node.children.values()
            if child.is_leaf:
                slot = next(iter(node.children))
                child_key = _node_key(child.version, _path_with(path, depth, slot), depth + 1)
                hashed_key, hashed_value = self.load(child_key)  # type: ignore[misc]
                self.retire(child_key)
                return self.put_leaf(hashed_key, hashed_value, depth)
        self.writes[_node_key(self.version, path, depth)] = node.encode()
        return _Child(node.hash(), self.version, False)

    def apply(
        self, child: _Child | None, path: bytes, depth: int, items: list[tuple[bytes, bytes | None]]
    ) -> _Child | None:
        """The subtree at (path, depth), currently `child`, after `items` (sorted)."""
        if not items:
            return child
        if child is None:
            return self.build([(k, v) for k, v in items if v is not None], depth)
        node_key = _node_key(child.version, path, depth)
        loaded = self.load(node_key)
        if child.is_leaf:
            assert isinstance(loaded, tuple)
            existing_key, existing_value = loaded
            merged = {existing_key: existing_value}
            for hashed_key, hashed_value in items:
                if hashed_value is None:
                    merged.pop(hashed_key, None)
                else:
                    merged[hashed_key] = hashed_value
            if merged == {existing_key: existing_value}:
                return child
            self.retire(node_key)
            return self.build(sorted(merged.items()), depth)
        assert isinstance(loaded, _Internal)
        self.retire(node_key)
        for slot, group in _groups(items, depth):
            before = loaded.children.get(slot)
            after = self.apply(before, _path_with(path, depth, slot), depth + 1, group)
            if after is None:
                loaded.children.pop(slot, None)
            else:
                loaded.children[slot] = after
        return self.finish(loaded, path, depth)


def _path_with(path: bytes, depth: int, slot: int) -> bytes:
    """A 32-byte path whose first depth+1 nibbles are path's first `depth` then `slot`."""
    padded = bytearray(path.ljust(32, b"\x00"))
    index = depth >> 1
    if depth % 2 == 0:
        padded[index] = (slot << 4) | (padded[index] & 0x0F)
    else:
        padded[index] = (padded[index] & 0xF0) | slot
    return bytes(padded)


def _groups(items: list, depth: int) -> Iterable[tuple[int, list]]:
    start = 0
    while start < len(items):
        slot = _nibble(items[start][0], depth)
        end = start + 1
        while end < len(items) and _nibble(items[end][0], depth) == slot:
            end += 1
        yield slot, items[start:end]
        start = end


def _root_child(nodes: NodeReader, root: bytes | None) -> _Child | None:
    if root is None or root == EMPTY_ROOT:
        return None
    located = nodes.get(_ROOT_INDEX + root)
    if located is None:
        raise InvariantViolation(f"no state tree root {root.hex()} in the node store")
    version = int.from_bytes(located[:8], "big")
    data = nodes.get(located)
    if data is None:
        raise InvariantViolation(f"state tree root node {located.hex()} is missing")
    return _Child(root, version, data[0] == _LEAF_TAG)


def update(
    nodes: NodeReader,
    root: bytes | None,
    version: int,
    writes: Sequence[tuple[bytes, bytes | None]],
) -> TreeUpdate:
    """Apply one block's writes (key → value, None deletes) as one batch at `version`."""
    items = sorted(
        (key_hash(key), None if value is None else value_hash(value)) for key, value in writes
    )
    batch = _Batch(nodes, version)
    before = _root_child(nodes, root)
    after = batch.apply(before, ZERO, 0, items)
    new_root = EMPTY_ROOT if after is None else after.hash
    if new_root == (root or EMPTY_ROOT):
        # Nothing changed (deletes of absent keys, rewrites of equal values): keep the old
        # nodes, which the root index points at, and write nothing.
        return TreeUpdate(new_root, (), ())
    if before is not None:
        batch.stale.append(_ROOT_INDEX + before.hash)
    if after is not None:
        batch.writes[_ROOT_INDEX + new_root] = _node_key(after.version, ZERO, 0)
    return TreeUpdate(new_root, tuple(sorted(batch.writes.items())), tuple(batch.stale))


# --- proofs ---------------------------------------------------------------------------------


def prove(nodes: NodeReader, root: bytes, key: bytes) -> bytes:
    """A proof that `key` has its current value, or is absent, under `root`."""
    hashed = key_hash(key)
    siblings: list[bytes] = []
    child = _root_child(nodes, root)
    terminal: list[bytes] = []
    depth = 0
    path = ZERO
    while child is not None:
        data = nodes.get(_node_key(child.version, path, depth))
        if data is None:
            raise InvariantViolation("state tree node missing while proving")
        node = _decode_node(data)
        if isinstance(node, tuple):
            terminal = [node[0], node[1]]
            break
        slot = _nibble(hashed, depth)
        siblings.append(b"".join(node.siblings(slot)))
        child = node.children.get(slot)
        path = _path_with(path, depth, slot)
        depth += 1
    return encode([siblings, terminal])


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: bytes) -> None:
    """Raise VerificationError unless `proof` shows `key` = `value` (None: absent) under `root`."""
    try:
        fields = decode(proof)
    except DecodeError as error:
        raise VerificationError(f"malformed state proof: {error}") from None
    if not isinstance(fields, tuple) or len(fields) != 2:
        raise VerificationError("a state proof is [siblings, terminal]")
    levels, terminal = fields
    if (
        not isinstance(levels, tuple)
        or len(levels) > _DEPTH_MAX
        or any(not isinstance(level, bytes) or len(level) != 128 for level in levels)
        or not isinstance(terminal, tuple)
        or len(terminal) not in (0, 2)
        or any(not isinstance(item, bytes) or len(item) != 32 for item in terminal)
    ):
        raise VerificationError("malformed state proof")
    hashed = key_hash(key)
    depth = len(levels)
    if terminal:
        leaf_key, leaf_value = terminal
        if leaf_key[: depth // 2] != hashed[: depth // 2] or (
            depth % 2 and _nibble(leaf_key, depth - 1) != _nibble(hashed, depth - 1)
        ):
            raise VerificationError("the proof's leaf is not on the key's path")
        current = leaf_hash(leaf_key, leaf_value)
        present = leaf_key == hashed
        if present and (value is None or value_hash(value) != leaf_value):
            raise VerificationError("the key's value differs from the one claimed")
        if not present and value is not None:
            raise VerificationError("the proof shows another key where this one would be")
    else:
        if value is not None:
            raise VerificationError("the proof shows the key is absent")
        current = ZERO
    for level in range(depth - 1, -1, -1):
        slot = _nibble(hashed, level)
        siblings = levels[level]
        for step in range(4):
            sibling = siblings[32 * step : 32 * step + 32]
            current = _pair(sibling, current) if slot >> step & 1 else _pair(current, sibling)
    if current != (root or EMPTY_ROOT):
        raise VerificationError("the state proof does not lead to the root")
