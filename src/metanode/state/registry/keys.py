"""registry keys. Prefix 0x05 belongs to the registry; a table byte, once used, is never reused.

0x05 0x00                  → parameters (records.py: encode_params)
0x05 0x01 ‖ address(20)    → node record (records.py: encode_node)
0x05 0x02 ‖ bls_key(48)    → node address (a BLS key serves one node)
0x05 0x03 ‖ evidence(32)   → height the evidence was used at (uint): never usable again
0x05 0x04 ‖ address(20)    → pending: activated at the next epoch boundary (empty value)
0x05 0x05                  → number of registered nodes (uint)
0x05 0x06 ‖ address(20)    → leaving: sent `ExitNode`, turns unbonding at the next epoch
                             boundary (empty value)
0x05 0x07 ‖ height(8, big-endian) ‖ address(20) → exits then: the node turns exited at the end
                             of that block, when staking pays its stake back (empty value)
0x05 0x08 ‖ address(20)    → missed-commit window (downtime.py: [counted, missed, bitmap])
0x05 0x09 ‖ address(20)    → jailed for downtime: the height from which `Unjail` may free it
0x05 0x0a ‖ address(20) ‖ height(8, big-endian) → a proven omission by that proposer at that
                             height (omission.py): 1 while it counts towards a slash, 2 once
                             a slash used it (kept, so the evidence is never counted again)
"""

from __future__ import annotations

from metanode.types import Address

PREFIX = b"\x05"
PARAMS = PREFIX + b"\x00"
NODE = PREFIX + b"\x01"
BLS_KEY = PREFIX + b"\x02"
EVIDENCE = PREFIX + b"\x03"
PENDING = PREFIX + b"\x04"
NODE_COUNT = PREFIX + b"\x05"
LEAVING = PREFIX + b"\x06"
EXIT = PREFIX + b"\x07"
SIGNING = PREFIX + b"\x08"
DOWNTIME_JAIL = PREFIX + b"\x09"
OMISSION = PREFIX + b"\x0a"


def node(address: Address) -> bytes:
    return NODE + address.raw


def bls_key(public_key: bytes) -> bytes:
    return BLS_KEY + public_key


def evidence(evidence_hash: bytes) -> bytes:
    return EVIDENCE + evidence_hash


def pending(address: Address) -> bytes:
    return PENDING + address.raw


def leaving(address: Address) -> bytes:
    return LEAVING + address.raw


def exits_at(height: int) -> bytes:
    return EXIT + height.to_bytes(8, "big")


def exit_entry(height: int, address: Address) -> bytes:
    return exits_at(height) + address.raw


def signing(address: Address) -> bytes:
    return SIGNING + address.raw


def downtime_jail(address: Address) -> bytes:
    return DOWNTIME_JAIL + address.raw


def omissions_of(address: Address) -> bytes:
    return OMISSION + address.raw


def omission(address: Address, height: int) -> bytes:
    return omissions_of(address) + height.to_bytes(8, "big")
