"""faucet result codes (range 400–499), stable forever: stored in receipts."""

from __future__ import annotations

from metanode.state.codes import register

FAUCET_DISABLED = register("faucet", 1, "faucet_disabled")
DENOM_NOT_ALLOWED = register("faucet", 2, "denom_not_allowed")
AMOUNT_MUST_NOT_BE_ZERO = register("faucet", 3, "amount_must_not_be_zero")
AMOUNT_ABOVE_REQUEST_MAX = register("faucet", 4, "amount_above_request_max")
COOLDOWN_ACTIVE = register("faucet", 5, "cooldown_active")
DAILY_LIMIT_REACHED = register("faucet", 6, "daily_limit_reached")
SUPPLY_OVERFLOW = register("faucet", 7, "supply_overflow")
