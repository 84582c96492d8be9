"""apps: deploy, upgrade, call and scale through the state machine (each guard code pinned, in
ladder order), the escrow of a call and its settlement (conserved to the base unit, a trap
pays for the fuel it burned), hypothesis over message shapes (a refused transaction changes
nothing but the fee), and genesis. Every block runs every invariant (support.Chain)."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto.hashing import blake3_hash
from metanode.docklock.cage import wat_to_wasm
from metanode.errors import ConfigError, NotBuiltError
from metanode.state.apps import assignment, errors, queries, records
from metanode.state.apps import invariants as apps_invariants
from metanode.state.apps import keys as apps_keys
from metanode.state.apps.records import AppsParams, CallStatus
from metanode.state.apps.rules import ESCROW, Served, settle_call, settle_calls, settlement
from metanode.state.bank import invariants as bank_invariants
from metanode.state.bank import keys as bank_keys
from metanode.state.bank.accounts import TREASURY, read_account
from metanode.state.codes import OK, name_of
from metanode.state.genesis import keys as genesis_keys
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis
from metanode.state.registry import keys as registry_keys
from metanode.state.view import Overlay, StateReader
from metanode.types import (
    Address,
    CallApp,
    Denom,
    DeployApp,
    Message,
    ScaleApp,
    Transfer,
    UpgradeApp,
)
from tests.state.support import FEE, Chain, Wallet, genesis_tree

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COUNTER = wat_to_wasm((EXAMPLES / "counter.wat").read_text())
COUNTER_ID = blake3_hash(COUNTER)
PRICE = 10
LIMIT = 1_000_000
OWNER = Wallet.of(0)
CALLER = Wallet.of(1)


def wat(body: str) -> bytes:
    return wat_to_wasm(f"(module {body})")


# A second version of the counter: another module (its hash differs), another function.
COUNTER_V2 = wat('(memory (export "memory") 1) (func (export "increment")) (func (export "reset"))')
FORBIDDEN = wat('(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32)))')
WRONG_TYPE = wat('(import "env" "log" (func (param i32)))')
STARTS = wat('(func $boot) (start $boot) (func (export "run"))')


def send_checked(chain: Chain, wallet: Wallet, nonce: int, message: Message) -> int:
    """Run `message` in its own block; return its code, checking that a refused one wrote
    nothing but the fee, the nonce and the tip."""
    before = read_account(chain.state.reader, wallet.address)
    changes = chain.run([wallet.tx(nonce, message)])
    (receipt,) = changes.receipts
    if receipt.code != OK:
        allowed = {
            bank_keys.account(wallet.address),
            bank_keys.account(chain.proposer),
            bank_keys.account(TREASURY),
            genesis_keys.TIP,
            apps_keys.DRAW_SEED,  # each block ends an epoch of one block here
        }
        # Every block also counts the last certificate into the signers' windows.
        written = {key for key, _value in changes.writes}
        assert {key for key in written if not key.startswith(registry_keys.SIGNING)} <= allowed
        after = read_account(chain.state.reader, wallet.address)
        assert after.balance(Denom.FLX) == before.balance(Denom.FLX) - FEE
        assert after.nonce == before.nonce + 1
    return receipt.code


class Apps:
    """A chain with apps parameters, and each wallet's next nonce."""

    def __init__(self, treasury_fee_bps: int = 0, **apps: int) -> None:
        parameters = {
            "staking": {"unbonding_delay_blocks": 3},
            "auth": {"treasury_fee_bps": treasury_fee_bps},
        }
        tree = genesis_tree(parameters=parameters)
        tree["apps"] = {"parameters": {name: str(value) for name, value in apps.items()}}
        self.chain = Chain(from_tree(tree))
        self.nonces: dict[Address, int] = {}

    def send(self, wallet: Wallet, message: Message) -> int:
        nonce = self.nonces.get(wallet.address, 0)
        self.nonces[wallet.address] = nonce + 1
        return send_checked(self.chain, wallet, nonce, message)

    def deploy(self, module: bytes = COUNTER, replicas: int = 2, limit: int = LIMIT) -> int:
        return self.send(OWNER, DeployApp(module, replicas, PRICE, limit))

    def call(self, fuel: int = 1_000, function: str = "increment", version: int = 0) -> int:
        return self.send(CALLER, CallApp(COUNTER_ID, version, function, b"", fuel))

    @property
    def reader(self):  # type: ignore[no-untyped-def]
        return self.chain.state.reader

    def flx(self, address: Address) -> int:
        return read_account(self.reader, address).balance(Denom.FLX)


def test_deploy_records_the_app_its_version_and_module() -> None:
    apps = Apps()
    assert apps.deploy() == OK
    app = queries.app(apps.reader, COUNTER_ID)
    assert app is not None
    assert (app.owner, app.version, app.versions, app.replicas) == (OWNER.address, 1, 1, 2)
    assert (app.fuel_price, app.fuel_limit, app.calls) == (PRICE, LIMIT, 0)
    (version,) = queries.versions(apps.reader, COUNTER_ID, app)
    assert version.module_hash == COUNTER_ID
    assert version.functions == ("increment",)
    assert queries.module(apps.reader, COUNTER_ID) == COUNTER
    assert [app_id for app_id, _ in queries.apps(apps.reader)] == [COUNTER_ID]


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"replicas": 0}, errors.REPLICAS_OUT_OF_RANGE),
        ({"replicas": 9}, errors.REPLICAS_OUT_OF_RANGE),
        ({"limit": 0}, errors.FUEL_LIMIT_OUT_OF_RANGE),
        ({"limit": 50_000_001}, errors.FUEL_LIMIT_OUT_OF_RANGE),
        ({"module": b"\x00asm\x01\x00\x00\x00\xff"}, errors.MODULE_INVALID),
        ({"module": b"not wasm"}, errors.MODULE_INVALID),
        ({"module": FORBIDDEN}, errors.MODULE_FORBIDDEN_IMPORT),
        ({"module": WRONG_TYPE}, errors.MODULE_FORBIDDEN_IMPORT),
        ({"module": STARTS}, errors.MODULE_START_FUNCTION),
    ],
)
def test_deploy_refusals(options: dict[str, object], code: int) -> None:
    apps = Apps()
    assert name_of(apps.deploy(**options)) == name_of(code)  # type: ignore[arg-type]
    assert list(queries.apps(apps.reader)) == []


def test_deploy_refusals_in_ladder_order() -> None:
    apps = Apps(module_bytes_max=64)
    # Terms before the module; the size before compiling; a second deploy is refused as such.
    assert apps.send(OWNER, DeployApp(FORBIDDEN, 0, PRICE, LIMIT)) == errors.REPLICAS_OUT_OF_RANGE
    assert apps.send(OWNER, DeployApp(COUNTER, 1, 0, LIMIT)) == errors.FUEL_PRICE_TOO_LOW
    assert apps.send(OWNER, DeployApp(COUNTER, 1, PRICE, 0)) == errors.FUEL_LIMIT_OUT_OF_RANGE
    assert apps.deploy() == errors.MODULE_TOO_LARGE
    small = wat('(func (export "f"))')
    assert apps.deploy(small) == OK
    assert apps.send(CALLER, DeployApp(small, 1, PRICE, LIMIT)) == errors.APP_EXISTS


def test_call_escrows_the_fee_in_chain_order() -> None:
    apps = Apps()
    apps.deploy()
    before = apps.flx(CALLER.address)
    txs = [CALLER.tx(i, CallApp(COUNTER_ID, 0, "increment", bytes([i]), 100)) for i in range(3)]
    apps.nonces[CALLER.address] = 3
    changes = apps.chain.run(txs)
    assert [receipt.code for receipt in changes.receipts] == [OK] * 3
    calls = list(queries.calls(apps.reader, COUNTER_ID))
    assert [(seq, call.input) for seq, call in calls] == [(i, bytes([i])) for i in range(3)]
    assert all(
        call.status is CallStatus.ESCROWED and call.escrow == 100 * PRICE for _, call in calls
    )
    assert apps.flx(ESCROW) == 3 * 100 * PRICE
    assert apps.flx(CALLER.address) == before - 3 * (100 * PRICE + FEE)
    assert [seq for seq, _ in queries.calls(apps.reader, COUNTER_ID, start=2)] == [2]


def test_a_blocks_calls_decode_the_app_its_version_and_the_draw_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each call reads the app, its version and the draw, and writes the app's call count;
    # per call those decodings were most of a call's cost to a block (docs/performance.md).
    apps = Apps()
    apps.deploy()
    decoded: collections.Counter[str] = collections.Counter()
    for module, name in [
        (records, "decode_app"),
        (records, "decode_version"),
        (assignment, "_decode_draw_seed"),
    ]:
        original = getattr(module, name)

        def counted(data: bytes, key: bytes, original=original, name=name):  # type: ignore[no-untyped-def]
            decoded[name] += 1
            return original(data, key)

        monkeypatch.setattr(module, name, counted)
    counts = []
    for first, calls in [(0, 1), (1, 6)]:
        decoded.clear()
        txs = [
            CALLER.tx(nonce, CallApp(COUNTER_ID, 0, "increment", b"", 100))
            for nonce in range(first, first + calls)
        ]
        changes = apps.chain.run(txs)  # built by the proposer, applied by a follower
        assert [receipt.code for receipt in changes.receipts] == [OK] * calls
        counts.append(dict(decoded))
    assert counts[0] == counts[1]  # as many decodings for six calls in a block as for one
    app = queries.app(apps.reader, COUNTER_ID)
    assert app is not None and app.calls == 7


def test_call_refusals_in_ladder_order() -> None:
    apps = Apps()
    assert apps.call() == errors.APP_UNKNOWN
    apps.deploy(limit=500)
    assert apps.call(fuel=0) == errors.FUEL_LIMIT_ZERO
    assert apps.call(version=2) == errors.VERSION_UNKNOWN
    assert apps.call(function="reset") == errors.FUNCTION_NOT_EXPORTED
    assert apps.call(function="memory") == errors.FUNCTION_NOT_EXPORTED
    assert apps.call(fuel=501) == errors.FUEL_ABOVE_APP_LIMIT
    poor = Wallet.of(3)
    balance = read_account(apps.reader, poor.address).balance(Denom.FLX)
    apps.chain.run([poor.tx(0, _transfer_all_but(balance, 500 * PRICE + FEE - 1))])
    apps.nonces[poor.address] = 1
    assert (
        apps.send(poor, CallApp(COUNTER_ID, 0, "increment", b"", 500)) == errors.INSUFFICIENT_FUNDS
    )
    assert apps.call(fuel=500) == OK


def _transfer_all_but(balance: int, keep: int) -> Transfer:
    return Transfer(Wallet.of(2).address, balance - keep - FEE, Denom.FLX)


def test_escrow_above_uint64_is_refused() -> None:
    apps = Apps()
    assert apps.send(OWNER, DeployApp(COUNTER, 1, 2**63, LIMIT)) == OK
    assert apps.call(fuel=4) == errors.ESCROW_TOO_LARGE


def test_upgrade_keeps_old_versions_callable() -> None:
    apps = Apps(versions_max=2)
    apps.deploy()
    assert apps.send(CALLER, UpgradeApp(COUNTER_ID, COUNTER_V2)) == errors.NOT_OWNER
    assert apps.send(OWNER, UpgradeApp(COUNTER_ID, COUNTER)) == errors.MODULE_UNCHANGED
    assert apps.send(OWNER, UpgradeApp(COUNTER_ID, STARTS)) == errors.MODULE_START_FUNCTION
    assert apps.send(OWNER, UpgradeApp(bytes(32), COUNTER_V2)) == errors.APP_UNKNOWN
    assert apps.send(OWNER, UpgradeApp(COUNTER_ID, COUNTER_V2)) == OK
    app = queries.app(apps.reader, COUNTER_ID)
    assert app is not None and (app.version, app.versions) == (2, 2)
    assert apps.call(function="reset") == OK  # the current version
    assert apps.call(function="reset", version=1) == errors.FUNCTION_NOT_EXPORTED
    assert apps.call(version=1) == OK
    assert [call.version for _, call in queries.calls(apps.reader, COUNTER_ID)] == [2, 1]
    third = wat('(func (export "third"))')
    assert apps.send(OWNER, UpgradeApp(COUNTER_ID, third)) == errors.VERSIONS_FULL


def test_scale() -> None:
    apps = Apps()
    apps.deploy()
    assert apps.send(CALLER, ScaleApp(COUNTER_ID, 3)) == errors.NOT_OWNER
    assert apps.send(OWNER, ScaleApp(COUNTER_ID, 0)) == errors.REPLICAS_OUT_OF_RANGE
    assert apps.send(OWNER, ScaleApp(bytes(32), 3)) == errors.APP_UNKNOWN
    assert apps.send(OWNER, ScaleApp(COUNTER_ID, 3)) == OK
    app = queries.app(apps.reader, COUNTER_ID)
    assert app is not None and app.replicas == 3


EXECUTORS = [Wallet.of(20 + i).address for i in range(3)]


def check_escrow(reader: StateReader) -> None:
    """The invariants settle_call alone must keep: billing's (statements) come from the
    LogBlock commit that calls it (tests/state/test_billing.py)."""
    for invariant in (*apps_invariants.INVARIANTS, *bank_invariants.INVARIANTS):
        invariant(reader)


@pytest.mark.parametrize("fuel_used", [0, 1, 777, 1_000])
@pytest.mark.parametrize("executors", [1, 3])
def test_settle_conserves_the_escrow(fuel_used: int, executors: int) -> None:
    apps = Apps(treasury_fee_bps=1_234)
    apps.deploy()
    apps.call(fuel=1_000)
    apps.call(fuel=1_000)
    writer = Overlay(apps.reader)
    before = {a: read_account(writer, a).balance(Denom.FLX) for a in (CALLER.address, TREASURY)}
    payees = EXECUTORS[:executors]
    assert settle_call(writer, COUNTER_ID, 0, fuel_used, payees) == OK
    charge = fuel_used * PRICE
    treasury = charge * 1_234 // 10_000
    each = (charge - treasury) // executors
    remainder = charge - treasury - each * executors
    assert read_account(writer, CALLER.address).balance(Denom.FLX) == before[CALLER.address] + (
        1_000 * PRICE - charge
    )
    assert all(read_account(writer, a).balance(Denom.FLX) == each for a in payees)
    assert (
        read_account(writer, TREASURY).balance(Denom.FLX) == before[TREASURY] + treasury + remainder
    )
    assert read_account(writer, ESCROW).balance(Denom.FLX) == 1_000 * PRICE  # call 1's
    call = queries.call(writer, COUNTER_ID, 0)
    assert call is not None and (call.status, call.fuel_used) == (CallStatus.SETTLED, fuel_used)
    check_escrow(writer)


def test_settle_refusals_write_nothing() -> None:
    apps = Apps()
    apps.deploy()
    apps.call(fuel=1_000)
    writer = Overlay(apps.reader)
    assert settle_call(writer, COUNTER_ID, 1, 10, EXECUTORS) == errors.SETTLE_CALL_UNKNOWN
    assert settle_call(writer, COUNTER_ID, 0, 1_001, EXECUTORS) == errors.SETTLE_FUEL_ABOVE_LIMIT
    assert settle_call(writer, COUNTER_ID, 0, 10, []) == errors.SETTLE_NO_EXECUTORS
    assert writer.write_count == 0
    # A call that trapped reports the fuel it burned, all of it: it pays for all of it.
    assert settle_call(writer, COUNTER_ID, 0, 1_000, EXECUTORS[:1]) == OK
    assert read_account(writer, EXECUTORS[0]).balance(Denom.FLX) == 1_000 * PRICE
    count = writer.write_count
    assert settle_call(writer, COUNTER_ID, 0, 10, EXECUTORS) == errors.SETTLE_CALL_ALREADY_SETTLED
    assert writer.write_count == count
    check_escrow(writer)


@pytest.mark.parametrize("fee_bps", [0, 1_234])
def test_settling_a_logblocks_calls_at_once_leaves_the_state_of_settling_them_in_turn(
    fee_bps: int,
) -> None:
    """`settle_calls` sums each account's payments into one move; the state it leaves must be
    exactly that of `settle_call` on each call in turn, and its settlements those `settlement`
    gives."""
    apps = Apps(treasury_fee_bps=fee_bps)
    apps.deploy()
    for _ in range(4):
        apps.call(fuel=1_000)
    served = [
        Served(0, 1_000, EXECUTORS[:2]),
        Served(1, 0, EXECUTORS[1:]),
        Served(2, 777, EXECUTORS[:1]),
        Served(3, 13, EXECUTORS),
    ]
    in_turn, at_once = Overlay(apps.reader), Overlay(apps.reader)
    expected = []
    for call in served:
        record = queries.call(in_turn, COUNTER_ID, call.seq)
        assert record is not None
        expected.append(settlement(in_turn, record, call.fuel_used, len(call.executors)))
        assert settle_call(in_turn, COUNTER_ID, call.seq, call.fuel_used, call.executors) == OK
    assert settle_calls(at_once, COUNTER_ID, served) == expected
    assert at_once.sorted_writes() == in_turn.sorted_writes()
    check_escrow(at_once)


def test_settling_calls_at_once_refuses_as_in_turn_and_writes_nothing() -> None:
    apps = Apps()
    apps.deploy()
    apps.call(fuel=1_000)
    apps.call(fuel=1_000)
    writer = Overlay(apps.reader)
    good = Served(0, 10, EXECUTORS)
    refusals = [
        ([good, Served(2, 10, EXECUTORS)], errors.SETTLE_CALL_UNKNOWN),
        ([good, Served(1, 1_001, EXECUTORS)], errors.SETTLE_FUEL_ABOVE_LIMIT),
        ([good, Served(1, 10, [])], errors.SETTLE_NO_EXECUTORS),
        ([good, good], errors.SETTLE_CALL_ALREADY_SETTLED),
    ]
    for calls, code in refusals:
        assert settle_calls(writer, COUNTER_ID, calls) == code
    assert writer.write_count == 0


MODULES = st.sampled_from([COUNTER, COUNTER_V2, FORBIDDEN, STARTS, b"", b"\x00asm"])
APP_IDS = st.sampled_from([COUNTER_ID, blake3_hash(COUNTER_V2), bytes(32)])
NUMBERS = st.integers(0, 12) | st.integers(0, 2**64 - 1)
MESSAGES = st.one_of(
    st.builds(DeployApp, MODULES, NUMBERS, NUMBERS, NUMBERS),
    st.builds(UpgradeApp, APP_IDS, MODULES),
    st.builds(
        CallApp,
        APP_IDS,
        st.integers(0, 3),
        st.sampled_from(["increment", "reset", "memory", ""]),
        st.binary(max_size=8),
        NUMBERS,
    ),
    st.builds(ScaleApp, APP_IDS, NUMBERS),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), MESSAGES), min_size=1, max_size=6))
def test_any_message_sequence_keeps_the_invariants(steps: list[tuple[bool, Message]]) -> None:
    """Random shapes from either of two senders: each refused one changes nothing but the fee
    (Apps.send), and every invariant holds after every block (Chain), escrow included."""
    apps = Apps()
    for by_owner, message in steps:
        apps.send(OWNER if by_owner else CALLER, message)


def test_genesis_parameters_round_trip_and_apps_are_not_exported_yet() -> None:
    apps = Apps(replicas_max=5, versions_max=3)
    document = apps.chain.document
    assert document.apps.params == AppsParams(replicas_max=5, versions_max=3)
    assert parse_genesis(document.to_json()) == document
    assert export_genesis(apps.reader).apps == document.apps
    apps.deploy()
    with pytest.raises(NotBuiltError, match="not built yet"):
        export_genesis(apps.reader)


def test_genesis_parameter_out_of_range_is_refused() -> None:
    tree = genesis_tree()
    tree["apps"] = {"parameters": {"replicas_max": "0"}}
    with pytest.raises(ConfigError, match=r"apps\.parameters\.replicas_max: must be at least 1"):
        from_tree(tree)
    tree["apps"] = {"parameters": {"replicas": "2"}}
    with pytest.raises(ConfigError, match=r"apps\.parameters\.replicas: unknown field"):
        from_tree(tree)
