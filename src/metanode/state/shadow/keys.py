"""shadow keys. Prefix 0x0e belongs to the shadow registry; a table byte, once used, is never
reused.

0x0e 0x01 ‖ shadow_id(32)              → shadow [domain, owner, service_key, encryption_key,
                                           registered_height]
0x0e 0x02 ‖ user(20) ‖ shadow_id(32)   → grant [[[app_id, [function…]]…], expiry_height,
                                           granted_height]

A shadow's id is `tagged_hash("metanode/shadow/v1", CBOR ["id", domain])`: fixed-length keys
for any domain, and one shadow per domain.
"""

from __future__ import annotations

from metanode.codec import encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.types import Address

PREFIX = b"\x0e"
SHADOWS = PREFIX + b"\x01"
GRANTS = PREFIX + b"\x02"


def shadow_id(domain: str) -> bytes:
    return tagged_hash(tags.SHADOW, encode(["id", domain]))


def shadow(domain: str) -> bytes:
    return SHADOWS + shadow_id(domain)


def grant(user: Address, domain: str) -> bytes:
    return GRANTS + user.raw + shadow_id(domain)
