"""apps keys. Prefix 0x08 belongs to apps; a table byte, once used, is never reused.

0x08 0x00                               → parameters (records.py: encode_params)
0x08 0x01 ‖ app_id(32)                  → app record (records.py: AppRecord)
0x08 0x02 ‖ app_id(32) ‖ version(8, BE) → version record (records.py: VersionRecord)
0x08 0x03 ‖ module_hash(32)             → module bytes (shared by every version naming them)
0x08 0x04 ‖ app_id(32) ‖ seq(8, BE)     → call record (records.py: CallRecord)
0x08 0x05                               → number of apps (uint)
0x08 0x06                               → executor draw seed [epoch, seed(32)] (assignment.py)
0x08 0x07 ‖ app_id(32) ‖ epoch(8, BE)   → the app's executors of that epoch [address…]
0x08 0x08 ‖ app_id(32) ‖ epoch(8, BE)   → those of them a committed LogBlock holds receipts of,
                                          for calls of that epoch [address…] (assignment.py)
Big-endian numbers, so a scan lists versions and calls in order.
"""

from __future__ import annotations

PREFIX = b"\x08"
PARAMS = PREFIX + b"\x00"
APP = PREFIX + b"\x01"
VERSION = PREFIX + b"\x02"
MODULE = PREFIX + b"\x03"
CALL = PREFIX + b"\x04"
APP_COUNT = PREFIX + b"\x05"
DRAW_SEED = PREFIX + b"\x06"
ASSIGNED = PREFIX + b"\x07"
SERVED = PREFIX + b"\x08"


def app(app_id: bytes) -> bytes:
    return APP + app_id


def version(app_id: bytes, number: int) -> bytes:
    return VERSION + app_id + number.to_bytes(8, "big")


def module(module_hash: bytes) -> bytes:
    return MODULE + module_hash


def call(app_id: bytes, seq: int) -> bytes:
    return CALL + app_id + seq.to_bytes(8, "big")


def assigned(app_id: bytes, epoch: int) -> bytes:
    return ASSIGNED + app_id + epoch.to_bytes(8, "big")


def served(app_id: bytes, epoch: int) -> bytes:
    return SERVED + app_id + epoch.to_bytes(8, "big")
