"""storage keys. Prefix 0x0c belongs to storage; a table byte, once used, is never reused.

0x0c 0x00                                  → parameters (params.py)
0x0c 0x01 ‖ root(32)                       → placement (records.py)
0x0c 0x02 ‖ owner(20)                      → [bytes of blobs the account owns]
0x0c 0x03 ‖ node(20)                       → [bytes of shares the node holds, failed challenges]
0x0c 0x04 ‖ root(32) ‖ share(2) ‖ node(20) → empty: `node` reported the share's holder failed
0x0c 0x05 ‖ module_hash(32)                → [root]: an app's module, stored as that blob
0x0c 0x06 ‖ root(32)                       → empty: the blob is an app's module (not deletable)
0x0c 0x07 ‖ root(32)                       → [epoch fees its owner failed to pay in a row]
"""

from __future__ import annotations

from metanode.types import Address

PREFIX = b"\x0c"
PARAMS = PREFIX + b"\x00"
PLACEMENT = PREFIX + b"\x01"
ACCOUNT = PREFIX + b"\x02"
NODE = PREFIX + b"\x03"
FAULT = PREFIX + b"\x04"
MODULE = PREFIX + b"\x05"
PINNED = PREFIX + b"\x06"
UNPAID = PREFIX + b"\x07"


def placement(root: bytes) -> bytes:
    return PLACEMENT + root


def account(owner: Address) -> bytes:
    return ACCOUNT + owner.raw


def node(address: Address) -> bytes:
    return NODE + address.raw


def faults_of(root: bytes, share: int) -> bytes:
    return FAULT + root + share.to_bytes(2, "big")


def fault(root: bytes, share: int, reporter: Address) -> bytes:
    return faults_of(root, share) + reporter.raw


def module(module_hash: bytes) -> bytes:
    return MODULE + module_hash


def pinned(root: bytes) -> bytes:
    return PINNED + root


def unpaid(root: bytes) -> bytes:
    return UNPAID + root
