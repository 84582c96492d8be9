"""Views of state: a read-only reader protocol over committed state, and a write overlay.

Rules:
- Queries, invariants and the API get a `StateReader`; only rules get an `Overlay` (STYLE §5).
- Keys and values are bytes. A value of `None` in an overlay is a deletion.
- Iteration is always by key, bytewise: never in dict or hash order. `Overlay.sorted_writes()`
  is what the state tree and the store receive, so every node writes the same sequence.

Theory: an `Overlay` sits on a reader; `get` looks in the overlay first, then below. One
overlay holds a whole block's writes; the dict keeps first-write order (the log of what was
written). Its keys in bytewise order are kept as a list sorted when a scan or
`sorted_writes()` asks: a key only ever joins the dict (a delete writes None), at its end, so
the keys new since the last sort are the dict's tail, and sorting the sorted list with that
tail appended is a merge (Timsort finds the runs). A block's end-of-block scans then cost a
bisection each, not a `startswith` test of every one of its ≈ 10,000 writes, and
`sorted_writes()` reuses the same sort. `write_count` counts every put and
delete, so a rule's caller can check that a rule which returned a failure code wrote nothing.

Hot records (accounts) go through `get_object` / `put_object`: the overlay keeps the decoded
record, so a block decodes each account it touches once and encodes it once, in
`sorted_writes()`, however many transactions touch it (the profile of a block of transfers
was dominated by CBOR decoding and encoding of the same few records).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Protocol, TypeVar

from metanode.errors import check

Write = tuple[bytes, bytes | None]
T = TypeVar("T")


class Encodable(Protocol):
    def encode(self) -> bytes: ...


class StateReader(Protocol):
    """Read-only access to committed state (LMDB in a node, a dict in tests)."""

    def get(self, key: bytes) -> bytes | None: ...

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with `prefix`, in bytewise key order."""
        ...


def read_many(reader: StateReader, keys: list[bytes]) -> list[bytes | None]:
    """`reader.get` of each key, in one call when the reader has `get_many` (the store's
    reader: one loop over LMDB, no call per key); `get_many` is not part of `StateReader`
    because a dict-backed reader gains nothing from it."""
    get_many = getattr(reader, "get_many", None)
    if get_many is not None:
        return get_many(keys)  # type: ignore[no-any-return]
    return [reader.get(key) for key in keys]


class MemoryReader:
    """A reader over a dict it owns (not copied): for genesis, tests and the in-memory ledger.
    `apply` changes it in place, so a reader handed out earlier sees the change."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[bytes, bytes] | None = None) -> None:
        self._items: dict[bytes, bytes] = {} if items is None else items

    def get(self, key: bytes) -> bytes | None:
        return self._items.get(key)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self._items if k.startswith(prefix)):
            yield key, self._items[key]

    def apply(self, writes: Iterable[Write]) -> None:
        items = self._items
        for key, value in writes:
            if value is None:
                items.pop(key, None)
            else:
                items[key] = value

    def __len__(self) -> int:
        return len(self._items)


_MISSING = object()


class Overlay:
    """Writes recorded over a reader; reads see the writes first."""

    __slots__ = ("_base", "_decoded", "_objects", "_sorted", "_writes", "write_count")

    def __init__(self, base: StateReader) -> None:
        self._base = base
        # Values are bytes, None (deleted) or a record whose encoding is deferred.
        self._writes: dict[bytes, bytes | Encodable | None] = {}
        self._decoded: dict[bytes, object] = {}  # records decoded from the base, by key
        self._sorted: list[bytes] = []  # the first len(_sorted) keys of _writes, sorted
        self._objects: dict[bytes, None] = {}  # keys ever written a deferred record
        self.write_count = 0

    def get(self, key: bytes) -> bytes | None:
        value = self._writes.get(key, _MISSING)
        if value is _MISSING:
            return self._base.get(key)
        if value is None or type(value) is bytes:
            return value  # type: ignore[return-value]
        return value.encode()  # type: ignore[union-attr]

    def get_object(self, key: bytes, decode: Callable[[bytes, bytes], T]) -> T | None:
        """The record at `key`, decoded once per block (`decode(data, key)`)."""
        value = self._writes.get(key, _MISSING)
        if value is _MISSING:
            cached = self._decoded.get(key, _MISSING)
            if cached is _MISSING:
                data = self._base.get(key)
                cached = None if data is None else decode(data, key)
                self._decoded[key] = cached
            return cached  # type: ignore[return-value]
        if value is None:
            return None
        if type(value) is bytes:
            return decode(value, key)
        return value  # type: ignore[return-value]

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """`get` of each key; the keys not written here are read from the base in one call
        when it has `get_many` (the store's reader: one loop over LMDB, no call per key)."""
        writes = self._writes
        read = read_many(self._base, [key for key in keys if key not in writes])
        if len(read) == len(keys):  # none written here: a run's first reads, usually
            return read  # type: ignore[no-any-return]
        found = iter(read)
        return [self.get(key) if key in writes else next(found) for key in keys]

    def put(self, key: bytes, value: bytes) -> None:
        check(type(value) is bytes, f"state value for {key.hex()} must be bytes")
        self._writes[key] = value
        self.write_count += 1

    def put_many(self, items: list[Write]) -> None:
        """`put` of each (key, value) in order, a None value a `delete`: one call for the
        records a run of transfers changed (the core encoded them)."""
        self._writes.update(items)
        self.write_count += len(items)

    def put_object(self, key: bytes, value: Encodable) -> None:
        """Write a record; it is encoded once, when the block's writes are listed."""
        self._writes[key] = value
        self._objects[key] = None
        self.write_count += 1

    def delete(self, key: bytes) -> None:
        self._writes[key] = None
        self.write_count += 1

    def _sorted_keys(self) -> list[bytes]:
        """Every key written, in bytewise order."""
        keys = self._sorted
        if len(keys) != len(self._writes):
            keys.extend(islice(self._writes, len(keys), None))
            keys.sort()
        return keys

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """The merged view in key order: overlay entries shadow the base, deletions hide it."""
        keys = self._sorted_keys()
        mine = []
        for key in islice(keys, bisect_left(keys, prefix), None):
            if not key.startswith(prefix):
                break
            mine.append((key, self.get(key)))
        overlay_keys = {k for k, _ in mine}
        base = ((k, v) for k, v in self._base.scan(prefix) if k not in overlay_keys)
        for key, value in heapq.merge(mine, base, key=lambda item: item[0]):
            if value is not None:
                yield key, value

    def sorted_writes(self) -> list[Write]:
        """The net writes in bytewise key order (each key once, its last value)."""
        keys = self._sorted_keys()
        writes = self._writes
        listed: list[Write] = list(zip(keys, map(writes.__getitem__, keys), strict=True))  # type: ignore[arg-type]
        # Only the keys a record was put under can hold one still unencoded.
        for key in self._objects:
            value = writes[key]
            if value is not None and type(value) is not bytes:
                listed[bisect_left(keys, key)] = (key, value.encode())  # type: ignore[union-attr]
        return listed

    def __len__(self) -> int:
        return len(self._writes)


class FrozenOverlay:
    """A read-only reader: `base` with a block's sorted writes on top (the state after a block
    before the store has committed it). The map of the writes is built at the first read: a
    node that commits the block before reading it (a follower) never builds it."""

    __slots__ = ("_base", "_listed", "_map")

    def __init__(self, base: StateReader, writes: Iterable[Write]) -> None:
        self._base = base
        self._listed = writes
        self._map: dict[bytes, bytes | None] | None = None

    @property
    def _writes(self) -> dict[bytes, bytes | None]:
        if self._map is None:
            self._map = dict(self._listed)
        return self._map

    def get(self, key: bytes) -> bytes | None:
        value = self._writes.get(key, _MISSING)
        if value is _MISSING:
            return self._base.get(key)
        return value  # type: ignore[return-value]

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        mine = sorted((k, v) for k, v in self._writes.items() if k.startswith(prefix))
        overlay_keys = {k for k, _ in mine}
        base = ((k, v) for k, v in self._base.scan(prefix) if k not in overlay_keys)
        for key, value in heapq.merge(mine, base, key=lambda item: item[0]):
            if value is not None:
                yield key, value
