"""governance result codes (range 700–799), stable forever: stored in receipts."""

from __future__ import annotations

from metanode.state.codes import register

TITLE_INVALID = register("governance", 1, "title_invalid")
UNKNOWN_PARAMETER = register("governance", 2, "unknown_parameter")
VALUE_OUT_OF_RANGE = register("governance", 3, "value_out_of_range")
AMOUNT_MUST_NOT_BE_ZERO = register("governance", 4, "amount_must_not_be_zero")
RECIPIENT_IS_MODULE_ACCOUNT = register("governance", 5, "recipient_is_module_account")
UPGRADE_NAME_INVALID = register("governance", 6, "upgrade_name_invalid")
UPGRADE_HEIGHT_PASSED = register("governance", 7, "upgrade_height_passed")
NODE_NOT_FOUND = register("governance", 8, "node_not_found")
NODE_NOT_AUTHORITY_TYPE = register("governance", 9, "node_not_authority_type")
AUTHORITY_UNCHANGED = register("governance", 10, "authority_unchanged")
SPEND_ABOVE_TREASURY_BALANCE = register("governance", 11, "spend_above_treasury_balance")
DEPOSIT_TOO_SMALL = register("governance", 12, "deposit_too_small")
INSUFFICIENT_FUNDS = register("governance", 13, "insufficient_funds")
TOO_MANY_OPEN_PROPOSALS = register("governance", 14, "too_many_open_proposals")
PROPOSAL_NOT_FOUND = register("governance", 15, "proposal_not_found")
PROPOSAL_CLOSED = register("governance", 16, "proposal_closed")
DEPOSITORS_FULL = register("governance", 17, "depositors_full")
VOTE_OUTSIDE_PERIOD = register("governance", 18, "vote_outside_period")
NO_BONDED_STAKE = register("governance", 19, "no_bonded_stake")
