"""auth result codes (range 100–199), stable forever. The number order is the ladder order
(`rules.guard_ladder`), pinned by tests/state/test_auth.py."""

from __future__ import annotations

from metanode.state.codes import register

WRONG_CHAIN = register("auth", 1, "wrong_chain")
EXPIRED = register("auth", 2, "expired")
FEE_TOO_LOW = register("auth", 3, "fee_too_low")
BAD_SIGNATURE = register("auth", 4, "bad_signature")
NONCE_TOO_LOW = register("auth", 5, "nonce_too_low")
NONCE_TOO_HIGH = register("auth", 6, "nonce_too_high")
INSUFFICIENT_FEE_BALANCE = register("auth", 7, "insufficient_fee_balance")
