"""apps rules: the only code that writes apps, versions, modules, calls and the escrow.

Rules:
- Deploy: the app id is the module's BLAKE3 hash and the owner its sender; the module passes
  the cage's own check (`docklock.cage.check_module`: compiles within the size parameter,
  imports only the host's functions, no start function), and the functions a call may name are
  recorded with the version, so a call is checked without compiling anything.
- Deploy from storage (DeployStoredApp): a module too large for a transaction, placed in
  relay storage first by the deployer; the app id is the module's BLAKE3 hash as declared, the
  functions those declared (the chain holds no bytes to check: executors check both against
  the fetched module, docs/decisions/stored-modules.md).
- Upgrade (owner only): a new version with its own module; every earlier version stays on
  record, so a receipt naming one stays valid. Calls name a version (0 = the current one).
  Upgrade from storage (UpgradeStoredApp): the owner's rungs of an inline upgrade, then the
  stored module's of a deploy from storage; the version records the declared hash and
  functions, which the executors check against the fetched module.
- Call: ordered by the chain with a per-app sequence number (`AppRecord.calls` before the
  call). Its fee for `fuel_limit` fuel at the app's price is moved from the sender's FLX to the
  module account `apps/escrow` at inclusion, where it stays until `settle_call` (or
  `settle_calls`, a LogBlock's calls at once). The court
  keeps the including block's time and VRF proof, which a replay of the call needs.
- A call is refused while governance contains its app (state/policy: emergency mode, the
  chain goes on), and when the app's policy names regions and no candidate executor runs in
  one it allows (the draw would leave the call to no one).
- Scale (owner only): the replica count; the executor draw (assignment.py) reads it.
Each handler is a flat guard ladder (tests/state/test_apps.py pins the order): it returns its
failure code before writing anything; compiling a module is the last rung.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from metanode.crypto.hashing import blake3_hash
from metanode.errors import check
from metanode.state import constants
from metanode.state.apps import errors, keys
from metanode.state.apps.assignment import assign, current, note_served
from metanode.state.apps.messages import (
    check_call,
    check_deploy_terms,
    check_module_bytes,
    check_replicas,
)
from metanode.state.apps.records import (
    AppRecord,
    CallRecord,
    CallStatus,
    VersionRecord,
    read_app,
    read_call,
    read_params,
    read_version,
    write_app,
    write_call,
    write_version,
)
from metanode.state.auth.params import AuthParams
from metanode.state.auth.params import read_params as read_auth_params
from metanode.state.bank.accounts import TREASURY, module_address, read_account
from metanode.state.bank.rules import move
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.court.records import note_call_block
from metanode.state.policy import errors as policy_errors
from metanode.state.policy.queries import contained
from metanode.state.staking.records import read_uint, write_uint
from metanode.state.storage import errors as storage_errors
from metanode.state.storage.queries import stored_module
from metanode.state.storage.records import read_placement
from metanode.state.storage.rules import store_module
from metanode.state.view import Overlay, StateReader
from metanode.types import (
    Address,
    CallApp,
    Denom,
    DeployApp,
    DeployStoredApp,
    Event,
    ScaleApp,
    UpgradeApp,
    UpgradeStoredApp,
)
from metanode.types import constants as types_constants

ESCROW = module_address("apps/escrow")


def _add_version(
    writer: Overlay,
    app_id: bytes,
    number: int,
    module: bytes,
    functions: tuple[str, ...],
    height: int,
) -> None:
    module_hash = blake3_hash(module)
    writer.put(keys.module(module_hash), module)
    write_version(writer, app_id, number, VersionRecord(module_hash, functions, height))


def on_deploy_app(writer: Overlay, context: TxContext, message: DeployApp) -> int:
    params = read_params(writer)
    code = check_deploy_terms(params, message)
    if code != OK:
        return code
    app_id = blake3_hash(message.module)
    code = _room_for(writer, app_id)
    if code != OK:
        return code
    code, functions = check_module_bytes(params, message.module)
    if code != OK:
        return code
    _add_version(writer, app_id, 1, message.module, functions, context.block.height)
    _create_app(writer, context, app_id, message)
    return OK


def on_deploy_stored_app(writer: Overlay, context: TxContext, message: DeployStoredApp) -> int:
    """A module placed in relay storage: the chain checks the blob (`_check_stored`) and
    records the declared hash (the app id) and functions; it holds no bytes to hash or
    compile, so the executors check the module when they fetch it
    (docs/decisions/stored-modules.md)."""
    code = check_deploy_terms(read_params(writer), message)
    if code != OK:
        return code
    code = _check_stored(writer, context.sender, message)
    if code != OK:
        return code
    app_id = message.module_hash
    code = _room_for(writer, app_id)
    if code != OK:
        return code
    _add_stored_version(writer, app_id, 1, message, context.block.height)
    _create_app(writer, context, app_id, message)
    return OK


def _check_stored(
    reader: StateReader, sender: Address, message: DeployStoredApp | UpgradeStoredApp
) -> int:
    """The stored module's rungs of a deploy or an upgrade by root, all the chain can check
    without the bytes: declared functions non-empty, sorted and distinct; the size within the
    cap a ruling can carry; the blob placed, the sender's, of the declared size; and the
    declared hash not already stored as another blob, which the new version would take over
    from the versions that named it (a lie in this one would stop their executors)."""
    if list(message.functions) != sorted(set(message.functions)) or not message.functions:
        return storage_errors.FUNCTIONS_INVALID
    if message.size > types_constants.app_stored_module_bytes_max:
        return storage_errors.STORED_MODULE_TOO_LARGE
    placement = read_placement(reader, message.root)
    if placement is None:
        return storage_errors.BLOB_UNKNOWN
    if placement.owner != sender:
        return storage_errors.BLOB_NOT_OWNER
    if placement.size != message.size:
        return storage_errors.MODULE_SIZE_MISMATCH
    stored = stored_module(reader, message.module_hash)
    if stored is not None and stored[0] != message.root:
        return storage_errors.MODULE_STORED_ELSEWHERE
    return OK


def _add_stored_version(
    writer: Overlay,
    app_id: bytes,
    number: int,
    message: DeployStoredApp | UpgradeStoredApp,
    height: int,
) -> None:
    version = VersionRecord(message.module_hash, message.functions, height)
    write_version(writer, app_id, number, version)
    store_module(writer, message.module_hash, message.root)


def _room_for(reader: StateReader, app_id: bytes) -> int:
    if read_app(reader, app_id) is not None:
        return errors.APP_EXISTS
    if read_uint(reader, keys.APP_COUNT) >= constants.apps_max:
        return errors.APPS_FULL
    return OK


def _create_app(
    writer: Overlay, context: TxContext, app_id: bytes, message: DeployApp | DeployStoredApp
) -> None:
    record = AppRecord(
        context.sender,
        1,
        1,
        message.replicas,
        message.fuel_price,
        message.fuel_limit,
        0,
        context.block.height,
    )
    write_app(writer, app_id, record)
    write_uint(writer, keys.APP_COUNT, read_uint(writer, keys.APP_COUNT) + 1)
    context.events.append(Event("app_deployed", (("app", app_id),)))


def on_upgrade_app(writer: Overlay, context: TxContext, message: UpgradeApp) -> int:
    app = _upgradable(writer, context.sender, message.app_id, blake3_hash(message.module))
    if isinstance(app, int):
        return app
    code, functions = check_module_bytes(read_params(writer), message.module)
    if code != OK:
        return code
    number = app.versions + 1
    _add_version(writer, message.app_id, number, message.module, functions, context.block.height)
    _upgraded(writer, context, message.app_id, app)
    return OK


def on_upgrade_stored_app(writer: Overlay, context: TxContext, message: UpgradeStoredApp) -> int:
    """An upgrade to a module placed in relay storage: the owner's rungs of an inline upgrade,
    then the stored module's of a deploy by root; the executors check the module when they
    fetch it, as for a deploy by root."""
    app = _upgradable(writer, context.sender, message.app_id, message.module_hash)
    if isinstance(app, int):
        return app
    code = _check_stored(writer, context.sender, message)
    if code != OK:
        return code
    number = app.versions + 1
    _add_stored_version(writer, message.app_id, number, message, context.block.height)
    _upgraded(writer, context, message.app_id, app)
    return OK


def _upgradable(
    reader: StateReader, sender: Address, app_id: bytes, module_hash: bytes
) -> AppRecord | int:
    """The app `sender` may upgrade to the module hashing to `module_hash`, or the code that
    refuses it: the app exists, is the sender's, has room for a version and runs another
    module now."""
    app = read_app(reader, app_id)
    if app is None:
        return errors.APP_UNKNOWN
    if app.owner != sender:
        return errors.NOT_OWNER
    if app.versions >= read_params(reader).versions_max:
        return errors.VERSIONS_FULL
    current = read_version(reader, app_id, app.version)
    check(current is not None, "an app's current version has a record")
    if current is not None and current.module_hash == module_hash:
        return errors.MODULE_UNCHANGED
    return app


def _upgraded(writer: Overlay, context: TxContext, app_id: bytes, app: AppRecord) -> None:
    """Version `app.versions + 1`, its record written, becomes the app's current one."""
    number = app.versions + 1
    write_app(writer, app_id, replace(app, version=number, versions=number))
    context.events.append(
        Event("app_upgraded", (("app", app_id), ("version", number.to_bytes(8, "big"))))
    )


def on_call_app(writer: Overlay, context: TxContext, message: CallApp) -> int:
    code = check_call(message)
    if code != OK:
        return code
    app = read_app(writer, message.app_id)
    if app is None:
        return errors.APP_UNKNOWN
    if contained(writer, message.app_id) is not None:
        return policy_errors.APP_CONTAINED
    number = message.version or app.version
    version = read_version(writer, message.app_id, number) if number <= app.versions else None
    if version is None:
        return errors.VERSION_UNKNOWN
    if message.function not in version.functions:
        return errors.FUNCTION_NOT_EXPORTED
    if message.fuel_limit > app.fuel_limit:
        return errors.FUEL_ABOVE_APP_LIMIT
    escrow = message.fuel_limit * app.fuel_price
    if escrow > constants.supply_max:
        return errors.ESCROW_TOO_LARGE
    if read_account(writer, context.sender).balance(Denom.FLX) < escrow:
        return errors.INSUFFICIENT_FUNDS
    epoch, drawn = current(writer, message.app_id)
    if not drawn:
        return policy_errors.NO_EXECUTOR_IN_REGION
    check(
        move(writer, context.sender, ESCROW, Denom.FLX, escrow) == OK,
        "escrow moved after the funds check",
    )
    seq = app.calls
    record = CallRecord(
        context.sender,
        number,
        message.function,
        message.input,
        message.fuel_limit,
        app.fuel_price,
        context.block.height,
        CallStatus.ESCROWED,
        0,
        epoch,
        context.tx_hash,
    )
    assign(writer, message.app_id, epoch, drawn)
    write_call(writer, message.app_id, seq, record)
    write_app(writer, message.app_id, replace(app, calls=seq + 1))
    note_call_block(writer, context.block)
    context.events.append(
        Event("app_called", (("app", message.app_id), ("seq", seq.to_bytes(8, "big"))))
    )
    return OK


def on_scale_app(writer: Overlay, context: TxContext, message: ScaleApp) -> int:
    code = check_replicas(read_params(writer), message.replicas)
    if code != OK:
        return code
    app = read_app(writer, message.app_id)
    if app is None:
        return errors.APP_UNKNOWN
    if app.owner != context.sender:
        return errors.NOT_OWNER
    write_app(writer, message.app_id, replace(app, replicas=message.replicas))
    return OK


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a call's escrow is split when it settles; charge = each × executors + treasury."""

    charge: int  # fuel_used × the call's fuel price
    each: int  # to each executor that served it
    treasury: int  # auth.treasury_fee_bps of the charge, plus the executors' split remainder
    refund: int  # the escrow's unused rest, to the caller


def settlement(reader: StateReader, record: CallRecord, fuel_used: int, served: int) -> Settlement:
    """The split `settle_call` pays for `record` at `fuel_used` among `served` executors."""
    return _split(read_auth_params(reader), record, fuel_used, served)


def _split(params: AuthParams, record: CallRecord, fuel_used: int, served: int) -> Settlement:
    charge = fuel_used * record.fuel_price
    treasury, earned = params.split_fees(charge)
    each = earned // served
    return Settlement(charge, each, treasury + earned - each * served, record.escrow - charge)


@dataclass(frozen=True, slots=True)
class Served:
    """A call to settle: its seq, the fuel its receipts report and the executors to pay."""

    seq: int
    fuel_used: int
    executors: Sequence[Address]


def settle_call(
    writer: Overlay, app_id: bytes, seq: int, fuel_used: int, executors: Sequence[Address]
) -> int:
    """Settle call `seq` of `app_id` from its escrow: the notary's interface (state/notary calls
    it when a LogBlock covering the call commits; nothing else may).

    Contract: `fuel_used` is the fuel the agreeing receipts report, whatever their outcome (a
    call that trapped or ran out of fuel pays for the fuel it burned); `executors` are the
    distinct addresses to pay, in the order the caller fixes (the receipts' order in the
    LogBlock: deterministic on every node). The charge is fuel_used × the call's fuel price;
    `auth.treasury_fee_bps` of it (floored) goes to the treasury, the rest is split equally
    among `executors` (floored) and the remainder of that split to the treasury too, so no base
    unit is lost; the unused escrow returns to the caller. Returns OK, or a settle_* code having
    written nothing: the call is unknown, already settled, `fuel_used` exceeds its limit, or
    `executors` is empty."""
    settled = settle_calls(writer, app_id, [Served(seq, fuel_used, executors)])
    return settled if isinstance(settled, int) else OK


def settle_calls(writer: Overlay, app_id: bytes, calls: Sequence[Served]) -> list[Settlement] | int:
    """`settle_call` of each call in turn, as one step: the settlements in call order, or the
    first call's settle_* code having written nothing (a seq twice is already settled). The
    escrow pays each account the sum of its payments in one move: the balances are those of
    the calls settled one by one, and a LogBlock's 256 calls read and wrote the escrow account
    a thousand times (docs/performance.md)."""
    params = read_auth_params(writer)
    records: list[CallRecord] = []
    seen: set[int] = set()
    for call in calls:
        record = read_call(writer, app_id, call.seq)
        if record is None:
            return errors.SETTLE_CALL_UNKNOWN
        if record.status is CallStatus.SETTLED or call.seq in seen:
            return errors.SETTLE_CALL_ALREADY_SETTLED
        if call.fuel_used > record.fuel_limit:
            return errors.SETTLE_FUEL_ABOVE_LIMIT
        if not call.executors:
            return errors.SETTLE_NO_EXECUTORS
        check(
            len(set(call.executors)) == len(call.executors),
            "settle_call: executors must be distinct",
        )
        seen.add(call.seq)
        records.append(record)
    settlements: list[Settlement] = []
    payments: dict[Address, int] = {}  # in the order of the first payment to each
    served: dict[int, set[Address]] = {}  # by the epoch of the calls' draw
    for call, record in zip(calls, records, strict=True):
        served.setdefault(record.epoch, set()).update(call.executors)
        shares = _split(params, record, call.fuel_used, len(call.executors))
        settlements.append(shares)
        payments[record.caller] = payments.get(record.caller, 0) + shares.refund
        for executor in call.executors:
            payments[executor] = payments.get(executor, 0) + shares.each
        payments[TREASURY] = payments.get(TREASURY, 0) + shares.treasury
        write_call(writer, app_id, call.seq, record.settled(call.fuel_used))
    for target, amount in payments.items():
        check(move(writer, ESCROW, target, Denom.FLX, amount) == OK, "escrow holds every call")
    for epoch in sorted(served):
        note_served(writer, app_id, epoch, served[epoch])
    return settlements
