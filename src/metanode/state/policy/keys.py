"""policy keys. Prefix 0x0d belongs to policy; a table byte, once used, is never reused.

0x0d 0x01 ‖ app_id(32) ‖ version(8, BE) → signed policy [document, signer, signature]
0x0d 0x02 ‖ app_id(32)                  → the app's current policy version (uint)
0x0d 0x03 ‖ address(20)                 → the node's declared region [region]
0x0d 0x04 ‖ app_id(32)                  → containment [height the proposal set it]
"""

from __future__ import annotations

from metanode.types import Address

PREFIX = b"\x0d"
POLICY = PREFIX + b"\x01"
CURRENT = PREFIX + b"\x02"
REGION = PREFIX + b"\x03"
CONTAINED = PREFIX + b"\x04"


def policy(app_id: bytes, version: int) -> bytes:
    return POLICY + app_id + version.to_bytes(8, "big")


def current(app_id: bytes) -> bytes:
    return CURRENT + app_id


def region(address: Address) -> bytes:
    return REGION + address.raw


def contained(app_id: bytes) -> bytes:
    return CONTAINED + app_id
