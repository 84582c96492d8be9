"""shadow result codes (range 1500–1599), stable forever: stored in receipts. Codes 1–7 end
transactions; 8–11 are the answers of the acting check (`queries.acting`) that the gateway
and a shadow receipt's verifier give, never stored in a block."""

from __future__ import annotations

from metanode.state.codes import register

DOMAIN_INVALID = register("shadow", 1, "domain_invalid")
DOMAIN_TAKEN = register("shadow", 2, "domain_taken")
SHADOW_UNKNOWN = register("shadow", 3, "shadow_unknown")
GRANT_EXPIRY_PASSED = register("shadow", 4, "grant_expiry_passed")
GRANT_EXPIRY_TOO_FAR = register("shadow", 5, "grant_expiry_too_far")
SCOPE_INVALID = register("shadow", 6, "scope_invalid")
GRANT_UNKNOWN = register("shadow", 7, "grant_unknown")
GRANT_EXPIRED = register("shadow", 8, "grant_expired")
OUT_OF_SCOPE = register("shadow", 9, "out_of_scope")
SERVICE_SIGNATURE_INVALID = register("shadow", 10, "service_signature_invalid")
RECEIPT_MISMATCH = register("shadow", 11, "receipt_mismatch")
