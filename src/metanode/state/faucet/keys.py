"""faucet keys. Prefix 0x04 belongs to the faucet; a table byte, once used, is never reused.

0x04 0x00                          → parameters [enabled, request_coins_max,
                                      daily_coins_max, cooldown_ms]
0x04 0x01 ‖ address(20) ‖ denom(1) → claims [last_claim_ms, day, claimed_that_day]
"""

from __future__ import annotations

from metanode.types import Address, Denom

PREFIX = b"\x04"
PARAMS = PREFIX + b"\x00"
CLAIMS = PREFIX + b"\x01"


def claims(address: Address, denom: Denom) -> bytes:
    return CLAIMS + address.raw + bytes([denom])
