"""storage result codes (range 1300–1399), stable forever: stored in receipts."""

from __future__ import annotations

from metanode.state.codes import register

LAYOUT_INVALID = register("storage", 1, "layout_invalid")
BLOB_EXISTS = register("storage", 2, "blob_exists")
ACCOUNT_QUOTA_EXCEEDED = register("storage", 3, "account_quota_exceeded")
NOT_ENOUGH_NODES = register("storage", 4, "not_enough_nodes")
FEE_UNFUNDED = register("storage", 5, "fee_unfunded")
BLOB_UNKNOWN = register("storage", 6, "blob_unknown")
SHARE_OUT_OF_RANGE = register("storage", 7, "share_out_of_range")
REPORTER_NOT_HOLDER = register("storage", 8, "reporter_not_holder")
FAULT_ALREADY_REPORTED = register("storage", 9, "fault_already_reported")
BLOB_NOT_OWNER = register("storage", 10, "blob_not_owner")
MODULE_SIZE_MISMATCH = register("storage", 11, "module_size_mismatch")
STORED_MODULE_TOO_LARGE = register("storage", 12, "stored_module_too_large")
FUNCTIONS_INVALID = register("storage", 13, "functions_invalid")
MODULE_NOT_SUPPLIED = register("storage", 14, "module_not_supplied")
BLOB_IN_USE = register("storage", 15, "blob_in_use")
MODULE_HASH_MISMATCH = register("storage", 16, "module_hash_mismatch")
MODULE_STORED_ELSEWHERE = register("storage", 17, "module_stored_elsewhere")
