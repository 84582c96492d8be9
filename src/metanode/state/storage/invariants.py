"""storage invariants, named, checked after every block in tests.

- `usage_matches_placements`: each account's recorded bytes are the sizes of the blobs it
  owns, each node's the share bytes of the shares it holds.
"""

from __future__ import annotations

from collections import Counter

from metanode.errors import check
from metanode.state.storage import keys
from metanode.state.storage.records import placements
from metanode.state.values import decode_uints
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


INVARIANTS = (usage_matches_placements,)
