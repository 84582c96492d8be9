"""Storage challenges: which coded chunk a holder must produce, drawn from a block hash.

At a challenge height every holder of every share is asked for one chunk of it, the stripe
being `tagged_hash(STORAGE_CHALLENGE, block_hash ‖ root ‖ share) mod stripes`: nobody knows
the draw before the block is certified, so a holder cannot keep only the chunks it will be
asked for, and every node computes the same draw.
"""

from __future__ import annotations

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash


def challenged_stripe(block_hash: bytes, root: bytes, share: int, stripes: int) -> int:
    digest = tagged_hash(tags.STORAGE_CHALLENGE, block_hash + root + share.to_bytes(2, "big"))
    return int.from_bytes(digest, "big") % stripes
