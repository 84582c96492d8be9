"""auth keys. Prefix 0x01 belongs to auth; a table byte, once used, is never reused.

    0x01 0x00   → parameters [fee_min, treasury_fee_bps]

Nonces live in the account record (`bank/keys.py`, 0x02 0x01), in auth's field of it.
"""

from __future__ import annotations

PREFIX = b"\x01"
PARAMS = PREFIX + b"\x00"
