"""policy result codes (range 1400–1499), stable forever: stored in receipts.

A policy document (document.py) is refused with `document_malformed` (not the canonical CBOR
of a positional array of the right types, lists not strictly sorted or too long),
`document_version_unknown`, `unknown_field` (more fields than its version defines),
`name_invalid` (a region, purpose or data type outside the name syntax), `contradiction` (a
region both allowed and blocked, a data type both plain and under review); its registration
with `bad_signature`, `signer_not_allowed` (neither the app's owner nor an authority node),
`app_unknown`, `version_not_next` (versions count 1, 2, … per app). `DeclareRegion`: the
sender is no registered node (`node_unknown`) or the region breaks the name syntax
(`region_invalid`). A call (state/apps) is refused while governance contains its app
(`app_contained`), or when its policy names regions and no candidate executor runs in one it
allows (`no_executor_in_region`).
"""

from __future__ import annotations

from metanode.state.codes import register

DOCUMENT_MALFORMED = register("policy", 1, "document_malformed")
DOCUMENT_VERSION_UNKNOWN = register("policy", 2, "document_version_unknown")
UNKNOWN_FIELD = register("policy", 3, "unknown_field")
NAME_INVALID = register("policy", 4, "name_invalid")
CONTRADICTION = register("policy", 5, "contradiction")
BAD_SIGNATURE = register("policy", 6, "bad_signature")
SIGNER_NOT_ALLOWED = register("policy", 7, "signer_not_allowed")
APP_UNKNOWN = register("policy", 8, "app_unknown")
VERSION_NOT_NEXT = register("policy", 9, "version_not_next")
NODE_UNKNOWN = register("policy", 10, "node_unknown")
REGION_INVALID = register("policy", 11, "region_invalid")
APP_CONTAINED = register("policy", 12, "app_contained")
NO_EXECUTOR_IN_REGION = register("policy", 13, "no_executor_in_region")
