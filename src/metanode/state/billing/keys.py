"""billing keys. Prefix 0x0a is shared with poe (state/poe/keys.py): billing takes table bytes
from 0x80 up. A table byte, once used, is never reused.

0x0a 0x80 ‖ app_id(32) ‖ epoch(8, BE)   → the app's statement of the epoch (records.py)
0x0a 0x81 ‖ address(20) ‖ epoch(8, BE)  → the executor's statement of the epoch
Big-endian epochs, so a scan lists an app's or an executor's statements in epoch order.
"""

from __future__ import annotations

PREFIX = b"\x0a"
APP_STATEMENT = PREFIX + b"\x80"
EXECUTOR_STATEMENT = PREFIX + b"\x81"


def app_statement(app_id: bytes, epoch: int) -> bytes:
    return APP_STATEMENT + app_id + epoch.to_bytes(8, "big")


def executor_statement(address: bytes, epoch: int) -> bytes:
    return EXECUTOR_STATEMENT + address + epoch.to_bytes(8, "big")
