"""keys keys. Prefix 0x10 belongs to keys; a table byte, once used, is never reused.

0x10 0x00                  → parameters (params.py)
0x10 0x01 ‖ address(20)    → migrated: the hybrid address the Ed25519 account moved to (20)
0x10 0x02 ‖ address(20)    → the ML-DSA-65 key of a node identity (message 38)
0x10 0x03 ‖ ed25519 key(32) → the identity (20) a rotated-to node key serves (message 43);
                              never removed, so a key serves one identity, once
"""

from __future__ import annotations

from metanode.types import Address

PREFIX = b"\x10"
PARAMS = PREFIX + b"\x00"
MIGRATED = PREFIX + b"\x01"
NODE_KEY = PREFIX + b"\x02"
ROTATED = PREFIX + b"\x03"


def migrated(address: Address) -> bytes:
    return MIGRATED + address.raw


def node_key(address: Address) -> bytes:
    return NODE_KEY + address.raw


def rotated(public_key: bytes) -> bytes:
    return ROTATED + public_key
