"""notary keys. Prefix 0x09 belongs to the notary; a table byte, once used, is never reused.

0x09 0x01 ‖ app_id(32) ‖ number(8)    → LogBlock [height, logblock wire] (records.py)
0x09 0x02 ‖ app_id(32)                → app tip [LogBlocks committed, next call seq]
0x09 0x03 ‖ receipt_hash(32)          → [app_id, LogBlock number, leaf index]
0x09 0x04 ‖ app_id(32) ‖ executor(32) → executor tip [last receipt hash, block_time, state_bytes]
0x09 0x05 ‖ app_id(32) ‖ first_seq(8) → dispute [height, call_seq, logblock wire]
"""

from __future__ import annotations

PREFIX = b"\x09"
LOGBLOCK = PREFIX + b"\x01"
APP_TIP = PREFIX + b"\x02"
RECEIPT = PREFIX + b"\x03"
EXECUTOR_TIP = PREFIX + b"\x04"
DISPUTE = PREFIX + b"\x05"


def logblock(app_id: bytes, number: int) -> bytes:
    return LOGBLOCK + app_id + number.to_bytes(8, "big")


def logblocks_of(app_id: bytes) -> bytes:
    return LOGBLOCK + app_id


def app_tip(app_id: bytes) -> bytes:
    return APP_TIP + app_id


def receipt(receipt_hash: bytes) -> bytes:
    return RECEIPT + receipt_hash


def executor_tip(app_id: bytes, executor: bytes) -> bytes:
    return EXECUTOR_TIP + app_id + executor


def dispute(app_id: bytes, first_seq: int) -> bytes:
    return DISPUTE + app_id + first_seq.to_bytes(8, "big")
