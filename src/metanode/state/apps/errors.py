"""apps result codes (range 800–899), stable forever: stored in receipts.

`module_invalid`, `module_forbidden_import`, `module_start_function`: the cage's own rules
(`docklock.cage.check_module`) refused the module. `function_not_exported`: the version called
exports no function of that name without parameters (the cage calls only those).
`escrow_too_large`: fuel_limit × fuel_price exceeds the largest amount an account can hold.
The `settle_*` codes are returned by `settle_call`, the notary's interface, never by a message.
"""

from __future__ import annotations

from metanode.state.codes import register

MODULE_TOO_LARGE = register("apps", 1, "module_too_large")
MODULE_INVALID = register("apps", 2, "module_invalid")
MODULE_FORBIDDEN_IMPORT = register("apps", 3, "module_forbidden_import")
MODULE_START_FUNCTION = register("apps", 4, "module_start_function")
REPLICAS_OUT_OF_RANGE = register("apps", 5, "replicas_out_of_range")
FUEL_PRICE_TOO_LOW = register("apps", 6, "fuel_price_too_low")
FUEL_LIMIT_OUT_OF_RANGE = register("apps", 7, "fuel_limit_out_of_range")
APP_EXISTS = register("apps", 8, "app_exists")
APPS_FULL = register("apps", 9, "apps_full")
APP_UNKNOWN = register("apps", 10, "app_unknown")
NOT_OWNER = register("apps", 11, "not_owner")
MODULE_UNCHANGED = register("apps", 12, "module_unchanged")
VERSIONS_FULL = register("apps", 13, "versions_full")
VERSION_UNKNOWN = register("apps", 14, "version_unknown")
FUNCTION_NOT_EXPORTED = register("apps", 15, "function_not_exported")
FUEL_ABOVE_APP_LIMIT = register("apps", 16, "fuel_above_app_limit")
ESCROW_TOO_LARGE = register("apps", 17, "escrow_too_large")
INSUFFICIENT_FUNDS = register("apps", 18, "insufficient_funds")
SETTLE_CALL_UNKNOWN = register("apps", 19, "settle_call_unknown")
SETTLE_CALL_ALREADY_SETTLED = register("apps", 20, "settle_call_already_settled")
SETTLE_FUEL_ABOVE_LIMIT = register("apps", 21, "settle_fuel_above_limit")
SETTLE_NO_EXECUTORS = register("apps", 22, "settle_no_executors")
FUEL_LIMIT_ZERO = register("apps", 23, "fuel_limit_zero")
