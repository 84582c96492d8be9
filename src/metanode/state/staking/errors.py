"""staking result codes (range 300–399), stable forever: stored in receipts."""

from __future__ import annotations

from metanode.state.codes import register

AMOUNT_MUST_NOT_BE_ZERO = register("staking", 1, "amount_must_not_be_zero")
VALIDATOR_NOT_FOUND = register("staking", 2, "validator_not_found")
INSUFFICIENT_FUNDS = register("staking", 3, "insufficient_funds")
INSUFFICIENT_DELEGATION = register("staking", 4, "insufficient_delegation")
ALREADY_REGISTERED = register("staking", 5, "already_registered")
BLS_KEY_IN_USE = register("staking", 6, "bls_key_in_use")
CANDIDATES_FULL = register("staking", 7, "candidates_full")
INVALID_PROOF_OF_POSSESSION = register("staking", 8, "invalid_proof_of_possession")
HYBRID_ACCOUNT_CANNOT_VALIDATE = register("staking", 9, "hybrid_account_cannot_validate")
UNBONDING_QUEUE_FULL = register("staking", 10, "unbonding_queue_full")
