"""state/apps + state/storage: a module too large for a transaction is placed as a blob and
deployed by its root (message 41). The chain records the declared hash and functions and pins
the blob; the deploy ladder's refusals in order change nothing but the fee; executors check a
fetched module against what was declared; a ruling on one of its calls must carry the module,
checked against its hash by every validator."""

from __future__ import annotations

from typing import Any

from metanode.crypto.hashing import blake3_hash
from metanode.docklock import cage
from metanode.docklock.appstate import ProvenState, prove_keys, state_root
from metanode.state.apps import errors as apps_errors
from metanode.state.apps import queries as apps
from metanode.state.apps.messages import check_stored_module
from metanode.state.codes import OK
from metanode.state.court.records import ZERO, Dispute, Kind, Status
from metanode.state.court.ruling import call_context, carried_module, reads_for, rule
from metanode.state.genesis.document import from_tree
from metanode.state.storage import errors
from metanode.state.storage import queries as storage
from metanode.types import (
    CallApp,
    DeployApp,
    DeployStoredApp,
    PlaceBlob,
    RuleDispute,
    Transaction,
    UpgradeApp,
    UpgradeStoredApp,
)
from metanode.types import constants as types_constants
from metanode.types.messages import Message
from tests.state.support import COIN, Chain, Wallet, genesis_tree, validator_wallet
from tests.state.test_apps import COUNTER, EXAMPLES, FORBIDDEN, send_checked
from tests.state.test_storage import VALIDATORS, place_message

OWNER = Wallet.of(0)
OTHER = Wallet.of(1)
PRICE = 10
LIMIT = 1_000_000


def big_module(fill: str = "z") -> bytes:
    """The counter with a data segment of 8,000 `fill`s: past the inline limit."""
    counter = (EXAMPLES / "counter.wat").read_text()
    segment = f'(data (i32.const 0) "count") (data (i32.const 1024) "{fill * 8_000}")'
    return cage.wat_to_wasm(counter.replace('(data (i32.const 0) "count")', segment))


BIG = big_module()
BIG_ID = blake3_hash(BIG)
NEXT = big_module("w")  # the version an upgrade by root brings
NEXT_ID = blake3_hash(NEXT)


class Modules:
    """A chain whose seven validators stand in as storage nodes, with VRF block proofs (a
    ruling replays a call with its block's seed); each message runs in its own block, and a
    refused one is checked to change nothing but its fee (`send_checked`)."""

    def __init__(self, **apps_parameters: int) -> None:
        tree: dict[str, Any] = genesis_tree(wallets=2, validators=VALIDATORS)
        tree["apps"] = {"parameters": {name: str(v) for name, v in apps_parameters.items()}}
        # No epoch fees: a refused message must be seen to change nothing but its own fee.
        tree["parameters"]["storage"] = {"epoch_fee_per_kib": 0}
        tree["accounts"] += [
            {"address": str(validator_wallet(i).address), "balances": {"FLX": 100 * COIN}}
            for i in range(VALIDATORS)
        ]
        self.chain = Chain(from_tree(tree), vrf=True)
        self.nonces: dict[bytes, int] = {}

    def send(self, wallet: Wallet, message: Message) -> int:
        nonce = self.nonces.get(wallet.address.raw, 0)
        self.nonces[wallet.address.raw] = nonce + 1
        return send_checked(self.chain, wallet, nonce, message)

    def place(self, module: bytes = BIG, wallet: Wallet = OWNER) -> PlaceBlob:
        message = place_message(module, 2, 4)
        assert self.send(wallet, message) == OK
        return message

    @property
    def reader(self) -> Any:
        return self.chain.state.reader


def deploy_of(placed: PlaceBlob, module: bytes = BIG, **changes: Any) -> DeployStoredApp:
    fields: dict[str, Any] = {
        "root": placed.root,
        "size": placed.size,
        "module_hash": blake3_hash(module),
        "functions": ("increment",),
        "replicas": 2,
        "fuel_price": PRICE,
        "fuel_limit": LIMIT,
    }
    return DeployStoredApp(**{**fields, **changes})


def upgrade_of(placed: PlaceBlob, module: bytes = NEXT, **changes: Any) -> UpgradeStoredApp:
    fields: dict[str, Any] = {
        "app_id": BIG_ID,
        "root": placed.root,
        "size": placed.size,
        "module_hash": blake3_hash(module),
        "functions": ("increment",),
    }
    return UpgradeStoredApp(**{**fields, **changes})


def test_a_module_past_the_inline_limit_is_deployed_by_root_and_called() -> None:
    assert len(BIG) > types_constants.app_module_bytes_max
    modules = Modules()
    placed = modules.place()
    assert modules.send(OWNER, deploy_of(placed)) == OK
    app = apps.app(modules.reader, BIG_ID)
    assert app is not None and (app.owner, app.replicas, app.fuel_price) == (
        OWNER.address,
        2,
        PRICE,
    )
    (version,) = apps.versions(modules.reader, BIG_ID, app)
    assert (version.module_hash, version.functions) == (BIG_ID, ("increment",))
    # The chain holds the hash and the blob's root, not the bytes; the blob is pinned.
    assert apps.module(modules.reader, BIG_ID) is None
    stored = storage.stored_module(modules.reader, BIG_ID)
    assert stored is not None and stored[0] == placed.root
    assert storage.pinned(modules.reader, placed.root)
    assert apps.module_of(modules.reader, BIG_ID, BIG) == BIG
    assert apps.module_of(modules.reader, BIG_ID, BIG[:-1] + b"\x01") is None
    assert modules.send(OTHER, CallApp(BIG_ID, 0, "increment", b"", 1_000)) == OK
    assert modules.send(OTHER, CallApp(BIG_ID, 0, "decrement", b"", 1_000)) == (
        apps_errors.FUNCTION_NOT_EXPORTED
    )


def test_deploy_by_root_refusals_in_ladder_order_change_nothing() -> None:
    modules = Modules()
    placed = modules.place()
    foreign = modules.place(COUNTER, OTHER)
    refusals = [
        (deploy_of(placed, replicas=0), apps_errors.REPLICAS_OUT_OF_RANGE),
        (deploy_of(placed, functions=()), errors.FUNCTIONS_INVALID),
        (deploy_of(placed, functions=("b", "a")), errors.FUNCTIONS_INVALID),
        (deploy_of(placed, functions=("a", "a")), errors.FUNCTIONS_INVALID),
        (
            deploy_of(placed, size=types_constants.app_stored_module_bytes_max + 1),
            errors.STORED_MODULE_TOO_LARGE,
        ),
        (deploy_of(place_message(b"never placed", 2, 4)), errors.BLOB_UNKNOWN),
        (deploy_of(foreign, COUNTER), errors.BLOB_NOT_OWNER),
        (deploy_of(placed, size=placed.size - 1), errors.MODULE_SIZE_MISMATCH),
    ]
    for message, code in refusals:
        assert modules.send(OWNER, message) == code, message
    assert list(apps.apps(modules.reader)) == []
    assert storage.stored_module(modules.reader, BIG_ID) is None
    assert not storage.pinned(modules.reader, placed.root)
    assert modules.send(OWNER, deploy_of(placed)) == OK
    assert modules.send(OWNER, deploy_of(placed)) == apps_errors.APP_EXISTS
    # The same module is the same app however it came: an inline deploy of it is refused too.
    assert modules.send(OWNER, DeployApp(COUNTER, 1, PRICE, LIMIT)) == OK
    assert modules.send(OTHER, deploy_of(foreign, COUNTER)) == apps_errors.APP_EXISTS


def test_executors_check_a_fetched_module_against_the_deploy() -> None:
    assert check_stored_module(BIG, BIG_ID, ("increment",)) == OK
    assert check_stored_module(BIG, bytes(32), ("increment",)) == errors.MODULE_HASH_MISMATCH
    assert check_stored_module(BIG, BIG_ID, ("increment", "more")) == errors.FUNCTIONS_INVALID
    forbidden = blake3_hash(FORBIDDEN)
    assert check_stored_module(FORBIDDEN, forbidden, ()) == apps_errors.MODULE_FORBIDDEN_IMPORT


def test_a_ruling_on_a_stored_modules_call_must_carry_the_module() -> None:
    modules = Modules()
    assert modules.send(OWNER, deploy_of(modules.place())) == OK
    assert modules.send(OTHER, CallApp(BIG_ID, 0, "increment", b"", LIMIT)) == OK
    reader = modules.reader
    context = call_context(reader, BIG_ID, 0)
    assert not isinstance(context, int) and context.module is None
    assert carried_module(reader, BIG_ID, 0, {}) == b""
    assert carried_module(reader, BIG_ID, 0, {1: BIG}) == BIG
    truth = {b"count": (1).to_bytes(8, "little")}
    dispute = Dispute(
        BIG_ID, Kind.CHALLENGE, (OWNER.address, OTHER.address), 0, 1, 0, 0, (ZERO, ZERO),
        (ZERO, ZERO), 0, 0, state_root({}), (blake3_hash(b"a lie"), state_root(truth)), (),
        0, 100, 0, Status.RULING_DUE,
    )  # fmt: skip
    # The reads are learnt by replaying the call, which needs the module too.
    assert reads_for(reader, dispute, {}) == errors.MODULE_NOT_SUPPLIED
    reads = reads_for(reader, dispute, {}, BIG)
    assert isinstance(reads, bytes)
    proven = ProvenState.check(dispute.agreed_root, reads)
    for wrong in (b"", BIG[:-1] + b"\x01", COUNTER):
        assert rule(reader, dispute, proven.copy(), [], wrong) == errors.MODULE_NOT_SUPPLIED
    judged = rule(reader, dispute, proven, [], BIG)
    assert not isinstance(judged, int)
    status, ruling = judged
    assert status is Status.CHALLENGER_WON and ruling.root == state_root(truth)
    # The module rides in the ruling's transaction beside the reads, within its bound.
    tx = OTHER.tx(9, RuleDispute(0, reads, b"", BIG))
    assert Transaction.decode(tx.encode()) == tx


def test_a_module_at_the_cap_leaves_a_ruling_room_for_the_reads_of_80_keys() -> None:
    """docs/decisions/stored-modules.md: with the module at `app_stored_module_bytes_max`, a
    ruling's signed transaction still holds the reads of 80 scattered keys of a 20,000-entry
    app (61 KiB)."""
    entries = 20_000
    state = {index.to_bytes(4, "big"): bytes(8) for index in range(entries)}
    keys = [index.to_bytes(4, "big") for index in range(0, entries, entries // 80)]
    reads = prove_keys(state, keys)
    module = bytes(types_constants.app_stored_module_bytes_max)
    tx = OTHER.tx(9, RuleDispute(0, reads, b"", module))
    encoded = tx.encode()
    assert len(encoded) <= types_constants.logblock_tx_bytes_max
    assert Transaction.decode(encoded) == tx


def test_the_owner_upgrades_an_app_to_a_module_by_root_and_old_calls_keep_their_version() -> None:
    modules = Modules()
    first = modules.place()
    assert modules.send(OWNER, deploy_of(first)) == OK
    assert modules.send(OTHER, CallApp(BIG_ID, 0, "increment", b"", LIMIT)) == OK
    placed = modules.place(NEXT)
    assert modules.send(OWNER, upgrade_of(placed)) == OK
    reader = modules.reader
    app = apps.app(reader, BIG_ID)
    assert app is not None and (app.version, app.versions) == (2, 2)
    old, new = apps.versions(reader, BIG_ID, app)
    assert (old.module_hash, new.module_hash, new.functions) == (BIG_ID, NEXT_ID, ("increment",))
    # Each version's blob is found by its hash and pinned; the chain holds neither's bytes.
    for module_hash, root in ((BIG_ID, first.root), (NEXT_ID, placed.root)):
        assert apps.module(reader, module_hash) is None
        assert storage.stored_module(reader, module_hash) == (
            root,
            storage.placement(reader, root),
        )
        assert storage.pinned(reader, root)
    assert modules.send(OTHER, CallApp(BIG_ID, 0, "increment", b"", LIMIT)) == OK
    assert modules.send(OTHER, CallApp(BIG_ID, 1, "increment", b"", LIMIT)) == OK
    reader = modules.reader
    assert [call.version for _, call in apps.calls(reader, BIG_ID)] == [1, 2, 1]
    # A ruling replays each call with the module of the version it names.
    supplied = {1: BIG, 2: NEXT}
    assert [carried_module(reader, BIG_ID, seq, supplied) for seq in range(3)] == [BIG, NEXT, BIG]
    # Back to the inline module, then to the first blob again: versions 3 and 4.
    assert modules.send(OWNER, UpgradeApp(BIG_ID, COUNTER)) == OK
    assert modules.send(OWNER, upgrade_of(first, BIG)) == OK
    app = apps.app(modules.reader, BIG_ID)
    assert app is not None and (app.version, app.versions) == (4, 4)


def test_upgrade_by_root_refusals_in_ladder_order_change_nothing_but_the_fee() -> None:
    modules = Modules(versions_max=2)
    first = modules.place()
    assert modules.send(OWNER, deploy_of(first)) == OK
    placed = modules.place(NEXT)
    foreign = modules.place(COUNTER, OTHER)
    elsewhere = big_module("x")  # deployed as its own app by root: its hash maps to its blob
    assert modules.send(OWNER, deploy_of(modules.place(elsewhere), elsewhere)) == OK
    refusals = [
        (OWNER, upgrade_of(placed, app_id=bytes(32)), apps_errors.APP_UNKNOWN),
        (OTHER, upgrade_of(placed), apps_errors.NOT_OWNER),
        (OWNER, upgrade_of(first, BIG), apps_errors.MODULE_UNCHANGED),
        (OWNER, upgrade_of(placed, functions=()), errors.FUNCTIONS_INVALID),
        (OWNER, upgrade_of(placed, functions=("b", "a")), errors.FUNCTIONS_INVALID),
        (
            OWNER,
            upgrade_of(placed, size=types_constants.app_stored_module_bytes_max + 1),
            errors.STORED_MODULE_TOO_LARGE,
        ),
        (OWNER, upgrade_of(place_message(b"never placed", 2, 4)), errors.BLOB_UNKNOWN),
        (OWNER, upgrade_of(foreign, COUNTER), errors.BLOB_NOT_OWNER),
        (OWNER, upgrade_of(placed, size=placed.size - 1), errors.MODULE_SIZE_MISMATCH),
        (OWNER, upgrade_of(placed, elsewhere), errors.MODULE_STORED_ELSEWHERE),
    ]
    for sender, message, code in refusals:
        assert modules.send(sender, message) == code, message
    app = apps.app(modules.reader, BIG_ID)
    assert app is not None and (app.version, app.versions) == (1, 1)
    assert storage.stored_module(modules.reader, NEXT_ID) is None
    assert not storage.pinned(modules.reader, placed.root)
    # The hash stored elsewhere cannot take over that app's blob by a deploy either.
    assert modules.send(OWNER, deploy_of(placed, elsewhere)) == errors.MODULE_STORED_ELSEWHERE
    assert modules.send(OWNER, upgrade_of(placed)) == OK
    assert modules.send(OWNER, upgrade_of(first, BIG)) == apps_errors.VERSIONS_FULL
