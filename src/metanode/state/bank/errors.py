"""bank result codes (range 200–299), stable forever: stored in receipts."""

from __future__ import annotations

from metanode.state.codes import register

AMOUNT_MUST_NOT_BE_ZERO = register("bank", 1, "amount_must_not_be_zero")
INSUFFICIENT_FUNDS = register("bank", 2, "insufficient_funds")
RECIPIENT_IS_MODULE_ACCOUNT = register("bank", 3, "recipient_is_module_account")
SUPPLY_OVERFLOW = register("bank", 4, "supply_overflow")
