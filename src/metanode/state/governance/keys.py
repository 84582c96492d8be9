"""governance keys. Prefix 0x07 belongs to governance; a table byte, once used, is never
reused.

0x07 0x00                            → parameters (records.py: GovernanceParams)
0x07 0x01 ‖ id(8)                    → proposal record (records.py: ProposalRecord)
0x07 0x02 ‖ id(8) ‖ depositor(20)    → GEN deposited (uint), until refunded or burned
0x07 0x03 ‖ id(8) ‖ voter(20)        → vote option (uint), until the tally
0x07 0x04                            → the next proposal id (uint; ids start at 1)
0x07 0x05 ‖ id(8)                    → open: in its deposit or voting period, or passed and
                                       awaiting execution (empty value); end of block scans it
0x07 0x06                            → the last software upgrade signal [name, height, id]

Ids are 8-byte big-endian, so a prefix scan visits proposals in id order.
"""

from __future__ import annotations

from metanode.types import Address

PREFIX = b"\x07"
PARAMS = PREFIX + b"\x00"
PROPOSAL = PREFIX + b"\x01"
DEPOSIT = PREFIX + b"\x02"
VOTE = PREFIX + b"\x03"
NEXT_ID = PREFIX + b"\x04"
OPEN = PREFIX + b"\x05"
UPGRADE = PREFIX + b"\x06"


def _id(proposal_id: int) -> bytes:
    return proposal_id.to_bytes(8, "big")


def proposal(proposal_id: int) -> bytes:
    return PROPOSAL + _id(proposal_id)


def deposits_of(proposal_id: int) -> bytes:
    return DEPOSIT + _id(proposal_id)


def deposit(proposal_id: int, depositor: Address) -> bytes:
    return DEPOSIT + _id(proposal_id) + depositor.raw


def votes_of(proposal_id: int) -> bytes:
    return VOTE + _id(proposal_id)


def vote(proposal_id: int, voter: Address) -> bytes:
    return VOTE + _id(proposal_id) + voter.raw


def open_marker(proposal_id: int) -> bytes:
    return OPEN + _id(proposal_id)


def id_of(key: bytes, prefix: bytes) -> int:
    return int.from_bytes(key[len(prefix) : len(prefix) + 8], "big")


def address_of(key: bytes, prefix: bytes) -> Address:
    return Address(key[len(prefix) + 8 :])
