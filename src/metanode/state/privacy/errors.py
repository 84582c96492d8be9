"""privacy result codes (range 1600–1699), stable forever: stored in receipts."""

from __future__ import annotations

from metanode.state.codes import register

ISSUER_INVALID = register("privacy", 1, "issuer_invalid")
STATEMENT_INVALID = register("privacy", 2, "statement_invalid")
FEE_BELOW_PROOF_FEE = register("privacy", 3, "fee_below_proof_fee")
BLOCK_PROOFS_FULL = register("privacy", 4, "block_proofs_full")
ISSUER_NOT_FOUND = register("privacy", 5, "issuer_not_found")
ISSUER_NOT_AUTHORITY = register("privacy", 6, "issuer_not_authority")
PRESENTATION_MALFORMED = register("privacy", 7, "presentation_malformed")
STATEMENT_MISMATCH = register("privacy", 8, "statement_mismatch")
STATUS_OUTDATED = register("privacy", 9, "status_outdated")
PROOF_REPLAYED = register("privacy", 10, "proof_replayed")
PROOF_INVALID = register("privacy", 11, "proof_invalid")
NOT_CONTROLLER = register("privacy", 12, "not_controller")
DEFINITIONS_MALFORMED = register("privacy", 13, "definitions_malformed")
DEFINITIONS_EXIST = register("privacy", 14, "definitions_exist")
DEFINITIONS_MISSING = register("privacy", 15, "definitions_missing")
STATUS_LIST_MALFORMED = register("privacy", 16, "status_list_malformed")
STATUS_LIST_TIME_INVALID = register("privacy", 17, "status_list_time_invalid")
STATUS_LIST_LAGS_REVOCATIONS = register("privacy", 18, "status_list_lags_revocations")
