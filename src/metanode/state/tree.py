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
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from metanode import core
from metanode.codec import decode, encode
from metanode.errors import DecodeError, InvariantViolation, VerificationError, check

ZERO = bytes(32)
EMPTY_ROOT = ZERO
_ROOT_INDEX = b"R"
_LEAF = b"\x00"
_NODE = b"\x01"
_INTERNAL_TAG = 1
_LEAF_TAG = 0
_INTERNAL_BYTE = bytes([_INTERNAL_TAG])
_LEAF_BYTE = bytes([_LEAF_TAG])
_DEPTH_MAX = 64
_sha256 = hashlib.sha256
# A batch of at least this many writes read through the node cache (`CachedNodes`) is updated
# by the core on two threads, the GIL released, when the cache holds every node it reads:
# the same update (rust/src/tree.rs, `update_split`), about half the wall clock on a free
# second core. A split costs a thread's start and join and a merge (measured in
# docs/performance.md, "The ledger path, w25"), which a smaller batch would not win back, and
# on a machine whose cores are both busy (four validators) only that cost would show.
SPLIT_WRITES_MIN = 256


class NodeReader(Protocol):
    def get(self, node_key: bytes) -> bytes | None: ...


class TreeUpdate:
    """One batch's result: the new root, the nodes it writes (node key, node) sorted by key, and
    the keys of the nodes it made stale in the walk's order. From the compiled core, the nodes
    and keys stay in the core (`core`, a `_core.TreeWrites`) and become Python objects only
    when read here: a node that commits the block hands them to its store's node table and
    cache from the core (`TreeWrites.node_rows`, `NodeCache.apply_update`), which made ≈ 63,000
    objects a block of 5,000 transfers for nothing."""

    __slots__ = ("_node_writes", "_stale", "core", "root")

    def __init__(
        self,
        root: bytes,
        node_writes: tuple[tuple[bytes, bytes], ...] = (),
        stale: tuple[bytes, ...] = (),
        *,
        core: Any = None,
    ) -> None:
        self.root = root
        self.core = core
        has_objects = core is None
        self._node_writes = node_writes if has_objects else None
        self._stale = stale if has_objects else None

    @property
    def node_writes(self) -> tuple[tuple[bytes, bytes], ...]:
        if self._node_writes is None:
            self._node_writes = tuple(self.core.node_writes())
        return self._node_writes

    @property
    def stale(self) -> tuple[bytes, ...]:
        if self._stale is None:
            self._stale = tuple(self.core.stale())
        return self._stale

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeUpdate):
            return NotImplemented
        return (self.root, self.node_writes, self.stale) == (
            other.root,
            other.node_writes,
            other.stale,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        writes, stale = len(self.node_writes), len(self.stale)
        return f"TreeUpdate(root={self.root.hex()}, {writes} node writes, {stale} stale)"


class MemoryNodes(dict[bytes, bytes]):
    """Nodes in memory (tests, genesis before the store exists)."""

    def apply(self, update: TreeUpdate) -> None:
        self.update(update.node_writes)


class _Overlay:
    """`base` with an update's nodes over it. Their map is built at the first read: a block's
    changes carry the state after it, which a node that commits them never reads (a dict of
    its ~21,000 nodes was ≈ 2% of a block's apply)."""

    __slots__ = ("_base", "_update", "_writes")

    def __init__(self, base: NodeReader, update: TreeUpdate) -> None:
        self._base = base
        self._update = update
        self._writes: dict[bytes, bytes] | None = None

    def get(self, node_key: bytes) -> bytes | None:
        writes = self._writes
        if writes is None:
            writes = self._writes = dict(self._update.node_writes)
        found = writes.get(node_key)
        return found if found is not None else self._base.get(node_key)


@dataclass(frozen=True, slots=True)
class CachedNodes:
    """A node store's nodes through the core's `NodeCache` (`_core.NodeCache`: the store's node
    table held in memory between blocks, which the store keeps equal to the table), `rows`
    reading the table's row at a key on a miss. `update` hands both to the core, which then
    reads each node without a call into Python."""

    cache: Any
    rows: Callable[[bytes], bytes | None]

    def get(self, node_key: bytes) -> bytes | None:
        return self.cache.get(self.rows, node_key)


def overlay(nodes: NodeReader, update: TreeUpdate) -> NodeReader:
    """`nodes` as they are once `update` is written."""
    return _Overlay(nodes, update)


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


_DEPTH_BYTE = [bytes([depth]) for depth in range(_DEPTH_MAX + 1)]
_HIGH_NIBBLE = [bytes([byte & 0xF0]) for byte in range(256)]


def _node_key(version: bytes, hashed: bytes, depth: int) -> bytes:
    """Where the node at `depth` on `hashed`'s path, written at `version` (8 bytes big-endian),
    is stored: version ‖ depth ‖ the path's first `depth` nibbles packed, an odd one padded."""
    packed = hashed[: (depth + 1) >> 1]
    if depth & 1:
        packed = packed[:-1] + _HIGH_NIBBLE[packed[-1]]
    return version + _DEPTH_BYTE[depth] + packed


# A child is held as its 41-byte record, exactly as its parent stores it: is_leaf (1) ‖ hash
# (32) ‖ version (8). Records stay bytes, never unpacked into objects: decoding a node is
# slicing, encoding it is a join, and its untouched children are copied as they were read
# (the object form spent a third of each batch building and re-encoding child objects).
_RECORD_BYTES = 41
_IS_LEAF = b"\x01"
_IS_INTERNAL = b"\x00"
Slots = list[bytes | None]  # 16 entries, each a child record or None


def _decode_slots(data: bytes) -> Slots:
    bitmap = (data[1] << 8) | data[2]
    slots: Slots = [None] * 16
    offset = 3
    for slot in range(16):
        if bitmap >> slot & 1:
            slots[slot] = data[offset : offset + _RECORD_BYTES]
            offset += _RECORD_BYTES
    return slots


def _encode_slots(slots: Slots) -> bytes:
    bitmap = 0
    for slot in range(16):
        if slots[slot] is not None:
            bitmap |= 1 << slot
    present = b"".join([record for record in slots if record is not None])
    return _INTERNAL_BYTE + bitmap.to_bytes(2, "big") + present


def _fold(level: list[bytes]) -> list[bytes]:
    """One level up the node's binary tree: `_pair` over adjacent hashes, inlined because this
    runs four times per rewritten node and is the batch's hottest loop."""
    sha256 = _sha256
    pairs = iter(level)
    return [
        ZERO if left == ZERO and right == ZERO else sha256(_NODE + left + right).digest()
        for left, right in zip(pairs, pairs, strict=True)
    ]


def _slot_hashes(slots: Slots) -> list[bytes]:
    return [ZERO if record is None else record[1:33] for record in slots]


def _slots_hash(slots: Slots) -> bytes:
    return _fold(_fold(_fold(_fold(_slot_hashes(slots)))))[0]


def _siblings(slots: Slots, slot: int) -> list[bytes]:
    """The four sibling hashes from the slot up to the node's hash, lowest first."""
    level = _slot_hashes(slots)
    found = []
    position = slot
    while len(level) > 1:
        found.append(level[position ^ 1])
        level = _fold(level)
        position >>= 1
    return found


def _slices(keys: list[bytes], low: int, high: int, depth: int) -> Iterator[tuple[int, int, int]]:
    """(slot, start, end) for each run of keys[low:high] (sorted, sharing their first `depth`
    nibbles) with the same nibble at `depth`."""
    index = depth >> 1
    if high - low > 32:
        # Wide ranges (the upper levels, thousands of keys): 15 bisections in C instead of a
        # nibble computed in Python for every key.
        prefix = keys[low][:index]
        bounds = [low]
        for slot in range(1, 16):
            if depth & 1:
                boundary = prefix + bytes([(keys[low][index] & 0xF0) | slot])
            else:
                boundary = prefix + bytes([slot << 4])
            bounds.append(bisect_left(keys, boundary, bounds[-1], high))
        bounds.append(high)
        for slot in range(16):
            if bounds[slot] < bounds[slot + 1]:
                yield slot, bounds[slot], bounds[slot + 1]
        return
    start = low
    while start < high:
        slot = _nibble(keys[start], depth)
        end = start + 1
        while end < high and _nibble(keys[end], depth) == slot:
            end += 1
        yield slot, start, end
        start = end


class _Batch:
    """One update: the new nodes it writes and the old ones it makes stale. The block's writes
    are two parallel lists sorted by key hash (value hash, or None to delete); a subtree's
    share of them is a range [low, high) of those lists."""

    def __init__(
        self, nodes: NodeReader, version: int, keys: list[bytes], values: list[bytes | None]
    ) -> None:
        self.nodes = nodes
        self.version = version.to_bytes(8, "big")
        self.keys = keys
        self.values = values
        self.writes: dict[bytes, bytes] = {}
        self.stale: list[bytes] = []

    def load(self, node_key: bytes) -> bytes:
        data = self.writes.get(node_key)
        if data is None:
            data = self.nodes.get(node_key)
        if data is None:
            raise InvariantViolation(f"state tree node {node_key.hex()} is missing")
        return data

    def retire(self, node_key: bytes) -> None:
        if node_key in self.writes:
            del self.writes[node_key]
        else:
            self.stale.append(node_key)

    def put_leaf(self, hashed_key: bytes, hashed_value: bytes, depth: int) -> bytes:
        self.writes[_node_key(self.version, hashed_key, depth)] = (
            _LEAF_BYTE + hashed_key + hashed_value
        )
        return _IS_LEAF + leaf_hash(hashed_key, hashed_value) + self.version

    def build(
        self, keys: list[bytes], values: list[bytes], low: int, high: int, depth: int
    ) -> bytes | None:
        """A fresh subtree at `depth` holding the puts keys[low:high] → values[low:high]."""
        if low == high:
            return None
        if high - low == 1:
            return self.put_leaf(keys[low], values[low], depth)
        if depth >= _DEPTH_MAX:
            raise InvariantViolation("two state keys share a 256-bit hash")
        slots: Slots = [None] * 16
        for slot, start, end in _slices(keys, low, high, depth):
            slots[slot] = self.build(keys, values, start, end, depth + 1)
        return self.finish(slots, keys[low], depth)

    def finish(self, slots: Slots, path: bytes, depth: int) -> bytes | None:
        """Store an internal node, collapsing it into its only child when that is a leaf."""
        empty = slots.count(None)
        if empty == 16:
            return None
        if empty == 15:
            slot, only = next((slot, record) for slot, record in enumerate(slots) if record)
            if only[0]:
                child_key = _node_key(only[33:], _path_with(path, depth, slot), depth + 1)
                data = self.load(child_key)
                self.retire(child_key)
                return self.put_leaf(data[1:33], data[33:65], depth)
        self.writes[_node_key(self.version, path, depth)] = _encode_slots(slots)
        return _IS_INTERNAL + _slots_hash(slots) + self.version

    def apply(self, record: bytes | None, depth: int, low: int, high: int) -> bytes | None:
        """The subtree at `depth` on keys[low]'s path, now `record`, after writes[low:high]."""
        if low == high:
            return record
        keys = self.keys
        values = self.values
        if record is None:
            if None not in values[low:high]:
                return self.build(keys, values, low, high, depth)  # type: ignore[arg-type]
            puts = [index for index in range(low, high) if values[index] is not None]
            return self.build(
                [keys[index] for index in puts],
                [values[index] for index in puts],
                0,
                len(puts),
                depth,
            )  # type: ignore[arg-type]
        node_key = _node_key(record[33:], keys[low], depth)
        data = self.load(node_key)
        if record[0]:
            existing = {data[1:33]: data[33:65]}
            merged = dict(existing)
            for index in range(low, high):
                value = values[index]
                if value is None:
                    merged.pop(keys[index], None)
                else:
                    merged[keys[index]] = value
            if merged == existing:
                return record
            self.retire(node_key)
            ordered = sorted(merged)
            return self.build(ordered, [merged[key] for key in ordered], 0, len(ordered), depth)
        self.retire(node_key)
        slots = _decode_slots(data)
        for slot, start, end in _slices(keys, low, high, depth):
            slots[slot] = self.apply(slots[slot], depth + 1, start, end)
        return self.finish(slots, keys[low], depth)


def _path_with(path: bytes, depth: int, slot: int) -> bytes:
    """A 32-byte path whose first depth+1 nibbles are path's first `depth` then `slot`."""
    padded = bytearray(path.ljust(32, b"\x00"))
    index = depth >> 1
    if depth % 2 == 0:
        padded[index] = (slot << 4) | (padded[index] & 0x0F)
    else:
        padded[index] = (padded[index] & 0xF0) | slot
    return bytes(padded)


def _root_record(nodes: NodeReader, root: bytes | None) -> bytes | None:
    if root is None or root == EMPTY_ROOT:
        return None
    located = nodes.get(_ROOT_INDEX + root)
    if located is None:
        raise InvariantViolation(f"no state tree root {root.hex()} in the node store")
    data = nodes.get(located)
    if data is None:
        raise InvariantViolation(f"state tree root node {located.hex()} is missing")
    return (_IS_LEAF if data[0] == _LEAF_TAG else _IS_INTERNAL) + root + located[:8]


def update(
    nodes: NodeReader,
    root: bytes | None,
    version: int,
    writes: Sequence[tuple[bytes, bytes | None]],
) -> TreeUpdate:
    """Apply one block's writes (key → value, None deletes) as one batch at `version`. The
    compiled core does it node for node as below, reading nodes through `nodes.get`
    (`metanode.core`; `METANODE_CORE=python` runs this code)."""
    compiled = core.native()
    if compiled is not None:
        if isinstance(nodes, CachedNodes):
            new_root, made = compiled.tree_update(
                nodes.rows, root, version, writes, nodes.cache, SPLIT_WRITES_MIN
            )
        else:
            new_root, made = compiled.tree_update(nodes.get, root, version, writes)
        return TreeUpdate(new_root, core=made)
    items = sorted(
        (key_hash(key), None if value is None else value_hash(value)) for key, value in writes
    )
    keys = [hashed_key for hashed_key, _ in items]
    check(len(set(keys)) == len(keys), "a state tree batch writes each key once")
    batch = _Batch(nodes, version, keys, [hashed_value for _, hashed_value in items])
    before = _root_record(nodes, root)
    after = batch.apply(before, 0, 0, len(keys))
    new_root = EMPTY_ROOT if after is None else after[1:33]
    if new_root == (root or EMPTY_ROOT):
        # Nothing changed (deletes of absent keys, rewrites of equal values): keep the old
        # nodes, which the root index points at, and write nothing.
        return TreeUpdate(new_root, (), ())
    if before is not None:
        batch.stale.append(_ROOT_INDEX + before[1:33])
    if after is not None:
        batch.writes[_ROOT_INDEX + new_root] = _node_key(after[33:], ZERO, 0)
    return TreeUpdate(new_root, tuple(sorted(batch.writes.items())), tuple(batch.stale))


# --- proofs ---------------------------------------------------------------------------------


def prove(nodes: NodeReader, root: bytes, key: bytes) -> bytes:
    """A proof that `key` has its current value, or is absent, under `root`."""
    hashed = key_hash(key)
    siblings: list[bytes] = []
    record = _root_record(nodes, root)
    terminal: list[bytes] = []
    depth = 0
    while record is not None:
        data = nodes.get(_node_key(record[33:], hashed, depth))
        if data is None:
            raise InvariantViolation("state tree node missing while proving")
        if data[0] == _LEAF_TAG:
            terminal = [data[1:33], data[33:65]]
            break
        slots = _decode_slots(data)
        slot = _nibble(hashed, depth)
        siblings.append(b"".join(_siblings(slots, slot)))
        record = slots[slot]
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
