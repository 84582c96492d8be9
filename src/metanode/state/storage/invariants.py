"""storage invariants, named, checked after every block in tests.

- `usage_matches_placements`: each account's recorded bytes are the sizes of the blobs it
  owns, each node's the share bytes of the shares it holds.
- `records_name_placements`: every unpaid-epochs count, stored module and pin names a placed
  blob (a deletion or an expiry leaves none behind); a pinned blob holds a stored module.
"""

from __future__ import annotations

from collections import Counter

from metanode.errors import check
from metanode.state.storage import keys
from metanode.state.storage.records import placements
from metanode.state.values import decode_array, decode_uints
from metanode.state.view import StateReader


def usage_matches_placements(reader: StateReader) -> None:
    owned: Counter[bytes] = Counter()
    held: Counter[bytes] = Counter()
    for _root, record in placements(reader):
        owned[record.owner.raw] += record.size
        for holder in record.holders:
            held[holder.raw] += record.layout.share_bytes
    for prefix, expected in ((keys.ACCOUNT, owned), (keys.NODE, held)):
        for key, value in reader.scan(prefix):
            recorded = decode_uints(value, key, 1 if prefix == keys.ACCOUNT else 2)[0]
            address = key[len(prefix) :]
            check(
                recorded == expected.pop(address, 0),
                f"storage.usage_matches_placements: {key.hex()} records {recorded} bytes",
            )
        check(
            not +expected,
            f"storage.usage_matches_placements: unrecorded usage of {sorted(expected)}",
        )


def records_name_placements(reader: StateReader) -> None:
    roots = {root for root, _record in placements(reader)}
    for prefix in (keys.UNPAID, keys.PINNED):
        for key, _value in reader.scan(prefix):
            check(
                key[len(prefix) :] in roots,
                f"storage.records_name_placements: {key.hex()} names no placed blob",
            )
    stored = set()
    for key, value in reader.scan(keys.MODULE):
        (root,) = decode_array(value, key, 1)
        check(root in roots, f"storage.records_name_placements: {key.hex()} names no blob")
        stored.add(root)
    pinned = {key[len(keys.PINNED) :] for key, _value in reader.scan(keys.PINNED)}
    check(pinned == stored, "storage.records_name_placements: pins are not the stored modules")


INVARIANTS = (usage_matches_placements, records_name_placements)
