"""notary result codes (range 900–999), stable forever: stored in receipts.

`range_invalid`: first_seq > last_seq, or a leaf's call outside the range. `leaves_not_in_order`:
leaves must be strictly ordered by (call_seq, executor), so each replica's receipt of a call
appears once. `range_not_covered`: a call of the range has no leaf. `range_not_contiguous`: the
range does not start right after the app's last committed LogBlock. `range_disputed`: replicas
disagreed on a call of this range and the court has not settled it, so the range is withheld.
`signers_invalid`: the bitmap names a member past the committee's end.
`receipt_already_notarised`: a receipt hash that a committed LogBlock (or this one) already
holds. `receipt_proven_false`: the court ruled a leaf's receipt false (state/court), so a
corrected LogBlock leaves it out. `chain_link_broken`: a leaf's `previous` is not its
executor's previous receipt of the app. `supply_overflow`: the NEX it would mint passes the
uint64 supply.

Against state/apps: `app_unknown`: no app has that id. `app_version_unknown`: the app has no
such version. `call_unknown`: a seq of the range was never called (seq ≥ the app's calls).
`call_version_mismatch`: a call of the range named another version than the LogBlock's (a
LogBlock holds one version's receipts; a notary cuts at an upgrade). `executor_not_assigned`: a
leaf's executor is not among the executors drawn for its call's epoch (state/apps/
assignment.py). `fuel_above_call_limit`: a leaf reports more fuel than its call's limit, which
the escrow could not pay. `request_mismatch`: a leaf of a split-origin (version 2) receipt
names another transaction than the CallApp its call came from (the call record keeps that
transaction's hash): the executor signed a request the client never made. A version 1 leaf
names none and is not refused for it (docs/notary.md says why).
"""

from __future__ import annotations

from metanode.state.codes import register

RANGE_INVALID = register("notary", 1, "range_invalid")
LEAVES_NOT_IN_ORDER = register("notary", 2, "leaves_not_in_order")
RANGE_NOT_COVERED = register("notary", 3, "range_not_covered")
RANGE_NOT_CONTIGUOUS = register("notary", 4, "range_not_contiguous")
RANGE_DISPUTED = register("notary", 5, "range_disputed")
WRONG_ROOT = register("notary", 6, "wrong_root")
SIGNERS_INVALID = register("notary", 7, "signers_invalid")
NOTARY_POWER_TOO_LOW = register("notary", 8, "notary_power_too_low")
RECEIPT_ALREADY_NOTARISED = register("notary", 9, "receipt_already_notarised")
CHAIN_LINK_BROKEN = register("notary", 10, "chain_link_broken")
AGGREGATE_INVALID = register("notary", 11, "aggregate_invalid")
SUPPLY_OVERFLOW = register("notary", 12, "supply_overflow")
APP_UNKNOWN = register("notary", 13, "app_unknown")
APP_VERSION_UNKNOWN = register("notary", 14, "app_version_unknown")
CALL_UNKNOWN = register("notary", 15, "call_unknown")
CALL_VERSION_MISMATCH = register("notary", 16, "call_version_mismatch")
EXECUTOR_NOT_ASSIGNED = register("notary", 17, "executor_not_assigned")
FUEL_ABOVE_CALL_LIMIT = register("notary", 18, "fuel_above_call_limit")
RECEIPT_PROVEN_FALSE = register("notary", 19, "receipt_proven_false")
REQUEST_MISMATCH = register("notary", 20, "request_mismatch")
