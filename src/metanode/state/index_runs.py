"""The ledger indexes' recent runs (level 0): a block's index entries packed by key slice.

Rules:
- The transaction and address indexes are two levels (docs/decisions/ledger-indexes.md). Level
  1 is keyed by prefix (hash or address [:8]) → height u32 ‖ position u16; a block's entries
  go first to level 0, one row per slice of the prefix space: key = slice u8 ‖ height u32,
  value = the block's entries whose prefix falls in the slice, as records prefix (8 bytes) ‖
  position u16 sorted by record (the height is in the key). A block's rows land at the end of
  each slice's key range, never at random places; the store later moves a slice's rows into
  level 1 together (`Store._sweep`).
- Pure: this module packs, unpacks and searches rows; store.py does the reads and writes.
- A row this code did not write (a key not 5 bytes, a value not whole records) is a damaged
  store: `InvariantViolation` naming the table and the key, never a wrong answer.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from metanode.errors import InvariantViolation, check

PREFIX_BYTES = 8
RECORD_BYTES = PREFIX_BYTES + 2
KEY_BYTES = 1 + 4

Row = tuple[bytes, bytes]


def shift_of(slices: int) -> int:
    """slice(prefix) = the prefix's first byte's high log2(S) bits: the shift that takes it
    there, for S a power of two that divides 256 (`constants.index_slices`)."""
    check(
        0 < slices <= 256 and slices & (slices - 1) == 0,
        f"{slices} index slices: not a power of two that divides 256",
    )
    return 8 - (slices - 1).bit_length()


def slice_of(prefix: bytes, slices: int) -> int:
    return prefix[0] >> shift_of(slices)


def recent_rows(height: int, rows: Sequence[Row], slices: int) -> list[Row]:
    """Level 0's rows of one block at `height` from its level-1 rows (prefix, height u32 ‖
    position u16) sorted: one row per slice that holds an entry, in key order."""
    shift = shift_of(slices)
    head = height.to_bytes(4, "big")
    packed: dict[int, list[bytes]] = {}
    for prefix, location in rows:
        records = packed.setdefault(prefix[0] >> shift, [])
        record = prefix + location[4:]
        # Two addresses of one transaction may share a prefix: level 1 (dupsort) holds such
        # an entry once, and so does level 0.
        if not records or records[-1] != record:
            records.append(record)
    # `rows` are sorted, so each slice's records are, and the slices come in key order.
    return [(bytes((part,)) + head, b"".join(records)) for part, records in packed.items()]


def _checked(table: str, key: bytes, value: bytes) -> None:
    if len(key) != KEY_BYTES or not value or len(value) % RECORD_BYTES:
        raise InvariantViolation(
            f"ledger index {table} row {key.hex()} is damaged: a {len(key)}-byte key and "
            f"{len(value)} bytes of records of {RECORD_BYTES}"
        )


def swept(table: str, rows: Sequence[Row]) -> tuple[list[Row], list[bytes]]:
    """Level 1's rows (prefix, height u32 ‖ position u16) of level 0's `rows`, sorted, and
    their prefixes once each, sorted. The reference of the core's `index_swept`."""
    entries: list[Row] = []
    for key, value in rows:
        _checked(table, key, value)
        head = key[1:]
        entries += [
            (value[at : at + PREFIX_BYTES], head + value[at + PREFIX_BYTES : at + RECORD_BYTES])
            for at in range(0, len(value), RECORD_BYTES)
        ]
    entries.sort()
    return entries, sorted({prefix for prefix, _ in entries})


def locations(table: str, key: bytes, value: bytes, prefix: bytes) -> list[bytes]:
    """The locations (height u32 ‖ position u16) of `prefix`'s records in one level-0 row,
    by binary search, in position order."""
    _checked(table, key, value)
    low = bisect.bisect_left(
        range(len(value) // RECORD_BYTES),
        prefix,
        key=lambda index: value[index * RECORD_BYTES : index * RECORD_BYTES + PREFIX_BYTES],
    )
    found = []
    at = low * RECORD_BYTES
    while at < len(value) and value[at : at + PREFIX_BYTES] == prefix:
        found.append(key[1:] + value[at + PREFIX_BYTES : at + RECORD_BYTES])
        at += RECORD_BYTES
    return found
