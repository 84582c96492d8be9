"""Rendezvous (highest-random-weight) placement of a blob's shares on storage nodes.

Each candidate node scores `tagged_hash(STORAGE_PLACEMENT, root ‖ address)`; share j goes to
the node ranked j, lowest score first, ties (impossible short of a hash collision) broken by
the address. The ranking depends only on the blob and the node, so a node joining or leaving
moves only the shares it gains or held, and every validator computes the same nodes from the
same registered set: candidates are sorted here, never taken in the order a caller (or a
hash map) holds them. A share whose node is gone goes to the candidate, other than those
suspected, that holds the fewest shares of the blob, best-ranked among equals
(`replacement`): a node holding none while one exists, and otherwise a survivor takes a second
share, so that on fewer than n nodes every share still exists and any k still rebuild the
blob (the redundancy is back; spreading it again waits for new nodes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash


def score(root: bytes, node: bytes) -> bytes:
    return tagged_hash(tags.STORAGE_PLACEMENT, root + node)


def ranked(root: bytes, candidates: Iterable[bytes]) -> list[bytes]:
    return sorted(set(candidates), key=lambda node: (score(root, node), node))


def place(root: bytes, candidates: Iterable[bytes], n: int) -> tuple[bytes, ...] | None:
    """The n nodes for the blob's shares 0 … n−1, or None with fewer than n candidates."""
    order = ranked(root, candidates)
    return tuple(order[:n]) if len(order) >= n else None


def replacement(
    root: bytes, candidates: Iterable[bytes], holders: Sequence[bytes], suspected: Iterable[bytes]
) -> bytes | None:
    """The unsuspected candidate holding the fewest of `holders`' shares, best-ranked among
    equals; None if every candidate is suspected."""
    excluded = set(suspected)
    order = [node for node in ranked(root, candidates) if node not in excluded]
    if not order:
        return None
    return min(order, key=holders.count)
