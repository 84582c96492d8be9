"""apps messages and their stateless checks (the message types live in `metanode.types`, whose
decoders bound the module, function and input sizes). The module check is the cage's own
(`docklock.cage.check_module`): what deploy accepts is exactly what the cage will run."""

from __future__ import annotations

from metanode.crypto.hashing import blake3_hash
from metanode.docklock.cage import OK as CAGE_OK
from metanode.docklock.cage import check_module
from metanode.state.apps import errors
from metanode.state.apps.records import AppsParams
from metanode.state.codes import OK
from metanode.state.storage import errors as storage_errors
from metanode.types import (
    CallApp,
    DeployApp,
    DeployStoredApp,
    ScaleApp,
    UpgradeApp,
    UpgradeStoredApp,
)

MESSAGES = (DeployApp, DeployStoredApp, UpgradeApp, UpgradeStoredApp, CallApp, ScaleApp)

_CAGE_CODES = {
    "invalid_module": errors.MODULE_INVALID,
    "forbidden_import": errors.MODULE_FORBIDDEN_IMPORT,
    "start_function": errors.MODULE_START_FUNCTION,
}


def check_module_bytes(params: AppsParams, module: bytes) -> tuple[int, tuple[str, ...]]:
    """(code, the functions a call may name). The size guard comes first: it costs nothing,
    and compiling is the most expensive rung of the deploy ladder."""
    if len(module) > params.module_bytes_max:
        return errors.MODULE_TOO_LARGE, ()
    checked = check_module(module)
    if checked.outcome != CAGE_OK:
        return _CAGE_CODES[checked.outcome], ()
    return OK, checked.functions


def check_stored_module(module: bytes, module_hash: bytes, functions: tuple[str, ...]) -> int:
    """An executor's check of a module deployed from relay storage (DeployStoredApp, or a
    version of UpgradeStoredApp), once fetched and verified against its blob's root: the hash
    and functions the deploy or upgrade declared (the chain recorded those without the bytes)
    and the cage's rules. A module failing it is never run."""
    if blake3_hash(module) != module_hash:
        return storage_errors.MODULE_HASH_MISMATCH
    checked = check_module(module)
    if checked.outcome != CAGE_OK:
        return _CAGE_CODES[checked.outcome]
    if checked.functions != functions:
        return storage_errors.FUNCTIONS_INVALID
    return OK


def check_replicas(params: AppsParams, replicas: int) -> int:
    if not 1 <= replicas <= params.replicas_max:
        return errors.REPLICAS_OUT_OF_RANGE
    return OK


def check_deploy_terms(params: AppsParams, message: DeployApp | DeployStoredApp) -> int:
    code = check_replicas(params, message.replicas)
    if code != OK:
        return code
    if message.fuel_price < params.fuel_price_min:
        return errors.FUEL_PRICE_TOO_LOW
    if not 1 <= message.fuel_limit <= params.fuel_limit_max:
        return errors.FUEL_LIMIT_OUT_OF_RANGE
    return OK


def check_call(message: CallApp) -> int:
    return errors.FUEL_LIMIT_ZERO if message.fuel_limit == 0 else OK
