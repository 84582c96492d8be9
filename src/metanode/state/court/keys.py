"""court keys. Prefix 0x0b belongs to the court; a table byte, once used, is never reused.

0x0b 0x00                           → parameters (params.py)
0x0b 0x01 ‖ id(8)                   → dispute record (records.py)
0x0b 0x02                           → the next dispute id
0x0b 0x03 ‖ deadline(8) ‖ id(8)     → empty: the dispute's current deadline, for end_block
0x0b 0x04 ‖ receipt_hash(32)        → the dispute that challenged the receipt (one, ever)
0x0b 0x05 ‖ receipt_hash(32)        → the dispute that proved the receipt false
0x0b 0x06 ‖ height(8)               → [block time, VRF proof] of a block that included calls
0x0b 0x07                           → disputes open
0x0b 0x08 ‖ receipt_hash(32)        → [NEX burned, NEX short] of a false receipt's PoE mint
0x0b 0x09 ‖ app_id(32) ‖ id(8)      → empty: the app's disputes, in id order
0x0b 0x0a ‖ app_id(32)              → [open, settled]: the app's disputes by state
Big-endian numbers, so scans go in id and deadline order.
"""

from __future__ import annotations

PREFIX = b"\x0b"
PARAMS = PREFIX + b"\x00"
DISPUTE = PREFIX + b"\x01"
NEXT_ID = PREFIX + b"\x02"
DEADLINE = PREFIX + b"\x03"
CHALLENGED = PREFIX + b"\x04"
FALSE_RECEIPT = PREFIX + b"\x05"
CALL_BLOCK = PREFIX + b"\x06"
OPEN_COUNT = PREFIX + b"\x07"
CLAWBACK = PREFIX + b"\x08"
APP_DISPUTE = PREFIX + b"\x09"
APP_COUNTS = PREFIX + b"\x0a"


def dispute(dispute_id: int) -> bytes:
    return DISPUTE + dispute_id.to_bytes(8, "big")


def deadlines_at(height: int) -> bytes:
    return DEADLINE + height.to_bytes(8, "big")


def deadline(height: int, dispute_id: int) -> bytes:
    return deadlines_at(height) + dispute_id.to_bytes(8, "big")


def challenged(receipt_hash: bytes) -> bytes:
    return CHALLENGED + receipt_hash


def false_receipt(receipt_hash: bytes) -> bytes:
    return FALSE_RECEIPT + receipt_hash


def call_block(height: int) -> bytes:
    return CALL_BLOCK + height.to_bytes(8, "big")


def clawback(receipt_hash: bytes) -> bytes:
    return CLAWBACK + receipt_hash


def app_disputes(app_id: bytes) -> bytes:
    return APP_DISPUTE + app_id


def app_dispute(app_id: bytes, dispute_id: int) -> bytes:
    return app_disputes(app_id) + dispute_id.to_bytes(8, "big")


def app_counts(app_id: bytes) -> bytes:
    return APP_COUNTS + app_id
