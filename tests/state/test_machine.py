"""The state machine: header checks, rule atomicity, random transaction sequences that keep
every invariant, and determinism (same blocks → same roots and receipts, across processes)."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from metanode.errors import InvariantViolation
from metanode.state import machine
from metanode.state.auth.params import AuthParams
from metanode.state.bank import queries as bank_queries
from metanode.state.bank.accounts import MODULE_ADDRESSES, TREASURY
from metanode.state.codes import OK, is_auth_code
from metanode.state.constants import basis_points
from metanode.state.invariants import check_all
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import InvalidBlock, apply_block
from metanode.state.values import encode_plain
from metanode.types import (
    Address,
    Block,
    Bond,
    Denom,
    FaucetClaim,
    Receipt,
    RegisterValidator,
    Transaction,
    Transfer,
    Unbond,
    constants,
)
from tests.conftest import examples
from tests.state.support import (
    COIN,
    Chain,
    Wallet,
    bls_material,
    make_genesis,
    seed,
    validator_wallet,
)

REPO = Path(__file__).resolve().parents[2]


# Header checks -------------------------------------------------------------------------------


def _tamper(block: Block, **fields: object) -> Block:
    return Block(dataclasses.replace(block.header, **fields), block.txs)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("chain_id", "elsewhere", "wrong_chain"),
        ("height", 9, "wrong_height"),
        ("previous_hash", bytes(32), "wrong_previous_hash"),
        ("timestamp_ms", 0, "time_went_back"),
        ("validator_set_hash", bytes(32), "wrong_validator_set_hash"),
        ("next_validator_set_hash", bytes(32), "wrong_next_validator_set_hash"),
        ("txs_root", bytes(32), "wrong_txs_root"),
        ("state_root", bytes(32), "wrong_state_root"),
        ("receipts_root", bytes(32), "wrong_receipts_root"),
    ],
)
def test_header_fields_are_checked(field: str, value: object, reason: str) -> None:
    chain = Chain()
    block = chain.propose([Wallet.of(0).tx(0, Transfer(Wallet.of(1).address, 1, Denom.GEN))]).block
    with pytest.raises(InvalidBlock) as raised:
        apply_block(chain.state, _tamper(block, **{field: value}))
    assert raised.value.reason == reason
    # The untampered block applies.
    assert apply_block(chain.state, block).state_root == block.header.state_root


def test_preverify_sees_the_transactions_only_of_a_block_whose_header_holds() -> None:
    chain = Chain()
    txs = [Wallet.of(0).tx(0, Transfer(Wallet.of(1).address, 1, Denom.GEN))]
    block = chain.propose(txs).block
    seen: list[tuple[Transaction, ...]] = []
    with pytest.raises(InvalidBlock):
        apply_block(chain.state, _tamper(block, previous_hash=bytes(32)), preverify=seen.append)
    assert seen == []
    apply_block(chain.state, block, preverify=seen.append)
    assert seen == [block.txs]


def test_a_rule_that_writes_then_fails_is_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def sloppy(writer, context, message) -> int:
        writer.put(b"\x02\xff", b"x")
        return 202

    chain = Chain()
    # The reference's check: the compiled core runs transfers without HANDLERS.
    monkeypatch.setenv("METANODE_CORE", "python")
    monkeypatch.setitem(machine.HANDLERS, Transfer, sloppy)
    with pytest.raises(InvariantViolation, match="wrote before failing"):
        chain.propose([Wallet.of(0).tx(0, Transfer(Wallet.of(1).address, 1, Denom.GEN))])


def test_plain_receipt_encoding_is_the_types_encoding() -> None:
    from metanode.types import Event

    for receipt in (
        Receipt(bytes(32), 0, 1000),
        Receipt(b"\xff" * 32, 202, 2**64 - 1, (Event("unbonding", (("h", b"\x00" * 8),)),)),
    ):
        assert encode_plain(receipt.to_wire()) == receipt.encode()


@given(keys=st.lists(st.tuples(st.binary(min_size=32, max_size=32), st.booleans()), max_size=6))
@settings(max_examples=examples(60), deadline=None)
def test_the_compiled_decoder_gives_each_transfer_its_senders_address(
    keys: list[tuple[bytes, bool]],
) -> None:
    """The address the core hashes while decoding is the one `Address.from_public_key`
    makes, for Ed25519 and hybrid senders; the transaction holds it, so execution reads it."""
    pq_key = bytes(range(256)) * 7 + bytes(constants.mldsa65_public_key_bytes - 1792)
    txs = [
        Transaction(
            "test",
            sender,
            0,
            1,
            9,
            Transfer(Wallet.of(1).address, 1, Denom.GEN),
            bytes(constants.ed25519_signature_bytes + hybrid * constants.mldsa65_signature_bytes),
            pq_key if hybrid else None,
        ).encode()
        for sender, hybrid in keys
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", "rust")
        decoded = Transaction.decode_many(txs)
    for (sender, hybrid), tx in zip(keys, decoded, strict=True):
        assert isinstance(tx, Transaction)
        expected = Address.from_public_key(sender, *([pq_key] if hybrid else []))
        assert tx._sender_address == expected
        assert tx.sender_address == expected


def test_empty_blocks_move_time_and_height() -> None:
    chain = Chain()
    roots = {chain.state.state_root}
    for _ in range(3):
        changes = chain.run([])
        roots.add(changes.state_root)
    # The tip record is in state, so every height has its own root.
    assert len(roots) == 4


# Fee distribution --------------------------------------------------------------------------


@given(fees=st.integers(0, 2**64 - 1), bps=st.integers(0, basis_points))
def test_fee_split_floors_the_treasury_and_loses_no_base_unit(fees: int, bps: int) -> None:
    treasury, proposer = AuthParams(treasury_fee_bps=bps).split_fees(fees)
    assert treasury + proposer == fees
    assert treasury * basis_points <= fees * bps < (treasury + 1) * basis_points
    assert 0 <= treasury <= fees


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fees=st.lists(st.integers(1_000, 10**12), min_size=0, max_size=4),
    bps=st.sampled_from([0, 1, 100, 500, 3_333, 9_999, basis_points]) | st.integers(0, 10_000),
)
def test_a_blocks_fees_go_to_the_treasury_and_the_proposer(fees: list[int], bps: int) -> None:
    parameters = {"auth": {"treasury_fee_bps": bps}}
    chain = Chain(make_genesis(kind="testnet", parameters=parameters))  # checks the invariants
    senders = [Wallet.of(index) for index in range(len(fees))]
    txs = [
        wallet.tx(0, Transfer(Wallet.of(3).address, 1, Denom.NEX), fee=fee)
        for wallet, fee in zip(senders, fees, strict=True)
    ]

    def flx(address: Address) -> int:
        return bank_queries.account(chain.state.reader, address).balance(Denom.FLX)

    before = (flx(TREASURY), flx(chain.proposer))
    changes = chain.run(txs)
    assert [receipt.fee_charged for receipt in changes.receipts] == fees
    share = sum(fees) * bps // basis_points
    assert (flx(TREASURY) - before[0], flx(chain.proposer) - before[1]) == (
        share,
        sum(fees) - share,
    )


# Random sequences ----------------------------------------------------------------------------

WALLETS = 6
VALIDATORS = 2


def _register_message(index: int, good: bool) -> RegisterValidator:
    bls_key, pop = bls_material(100 + index)
    _, other_pop = bls_material(200 + index)
    return RegisterValidator(bls_key, pop if good else other_pop, seed("vrf", 100 + index))


def random_tx(rng: random.Random, nonces: dict[int, int], validators: list[Address]) -> Transaction:
    """A transaction that may pass or fail its rule, or fail the ladder (and be left out)."""
    index = rng.randrange(WALLETS)
    wallet = Wallet.of(index)
    nonce = nonces[index]
    others = [Wallet.of(i).address for i in range(WALLETS)] + [
        Address(seed("x", rng.randrange(3))[:20])
    ]
    kind = rng.randrange(10)
    amount = rng.choice([0, 1, 7, COIN, 50 * COIN, 10**6 * COIN])
    if kind <= 3:
        to = rng.choice([*others, sorted(MODULE_ADDRESSES)[0]] if kind == 0 else others)
        message: object = Transfer(to, amount, rng.choice(list(Denom)))
    elif kind == 4:
        message = Bond(rng.choice([*validators, others[0]]), amount)
    elif kind == 5:
        message = Unbond(rng.choice(validators), amount)
    elif kind == 6:
        message = _register_message(index, rng.random() < 0.7)
    else:
        message = FaucetClaim(
            rng.choice([0, 1, 100_000 * COIN, 100_001 * COIN]), rng.choice(list(Denom))
        )
    fault = rng.randrange(12)
    if fault == 0:
        return wallet.tx(nonce + rng.choice([1, 5]), message)  # type: ignore[arg-type]
    if fault == 1:
        return wallet.tx(nonce, message).with_signature(bytes(64))  # type: ignore[arg-type]
    if fault == 2:
        return wallet.tx(nonce, message, chain_id="other")  # type: ignore[arg-type]
    if fault == 3:
        return wallet.tx(nonce, message, fee=10**30 % 2**64)  # type: ignore[arg-type]
    tx = wallet.tx(nonce, message)  # type: ignore[arg-type]
    nonces[index] += 1  # optimistic; corrected from the state after each block
    return tx


def run_scenario(
    seed_value: int, blocks: int = 6, per_block: int = 8
) -> list[tuple[str, list[str]]]:
    """Roots and encoded receipts of a seeded random chain (also run in a subprocess)."""
    rng = random.Random(seed_value)
    chain = Chain(make_genesis(wallets=WALLETS, validators=VALIDATORS), check=False)
    validators = [validator_wallet(i).address for i in range(VALIDATORS)]
    out = []
    for _ in range(blocks):
        nonces = {
            i: bank_queries.account(chain.state.reader, Wallet.of(i).address).nonce
            for i in range(WALLETS)
        }
        txs = [random_tx(rng, nonces, validators) for _ in range(per_block)]
        changes = chain.run(txs, step_ms=rng.choice([1, 1_000, 3_600_000]))
        out.append((changes.state_root.hex(), [r.encode().hex() for r in changes.receipts]))
    return out


class LedgerMachine(RuleBasedStateMachine):
    """Random blocks of valid and invalid transactions; every invariant after every block;
    nonces only ever go up by the number of included transactions; a fresh ledger fed the
    same blocks reaches the same roots."""

    def __init__(self) -> None:
        super().__init__()
        self.chain = Chain(make_genesis(wallets=WALLETS, validators=VALIDATORS))
        self.validators = [validator_wallet(i).address for i in range(VALIDATORS)]
        self.pending: list[Transaction] = []
        self.roots = [self.chain.state.state_root]

    def _nonces(self) -> dict[int, int]:
        reader = self.chain.state.reader
        return {i: bank_queries.account(reader, Wallet.of(i).address).nonce for i in range(WALLETS)}

    @rule(seed_value=st.integers(0, 2**32), count=st.integers(1, 6))
    def add_transactions(self, seed_value: int, count: int) -> None:
        rng = random.Random(seed_value)
        nonces = self._nonces()
        for tx in self.pending:
            index = next(i for i in range(WALLETS) if Wallet.of(i).public_key == tx.sender)
            nonces[index] = max(nonces[index], tx.nonce + 1)
        self.pending += [random_tx(rng, nonces, self.validators) for _ in range(count)]

    @rule(step_ms=st.sampled_from([0, 1, 1_000, 3_600_000, 86_400_000]))
    def produce_block(self, step_ms: int) -> None:
        before = self._nonces()
        proposal = self.chain.propose(self.pending, step_ms=step_ms)
        self.chain.time_ms -= step_ms  # `run` steps the clock again
        changes = self.chain.run(self.pending, step_ms=step_ms)
        assert changes.block is not None
        assert changes.block.txs == proposal.block.txs
        for _, code in proposal.dropped:
            assert is_auth_code(code)
        for receipt in changes.receipts:
            assert not is_auth_code(receipt.code)
        after = self._nonces()
        included: dict[int, int] = {}
        for tx in changes.block.txs:
            index = next(i for i in range(WALLETS) if Wallet.of(i).public_key == tx.sender)
            included[index] = included.get(index, 0) + 1
        for index in range(WALLETS):
            assert after[index] == before[index] + included.get(index, 0)
        self.pending = []
        self.roots.append(changes.state_root)

    @precondition(lambda self: len(self.chain.blocks) > 0)
    @rule()
    def replay_from_genesis(self) -> None:
        ledger = MemoryLedger(self.chain.document)
        roots = [ledger.state.state_root]
        for block in self.chain.blocks:
            roots.append(ledger.commit(apply_block(ledger.state, block)).state_root)
        assert roots == self.roots

    @invariant()
    def invariants_hold(self) -> None:
        check_all(self.chain.state.reader)


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_a_seeded_scenario_includes_successes_and_each_kind_of_failure() -> None:
    results = run_scenario(3, blocks=8, per_block=10)
    codes = {json.dumps(r) for _, receipts in results for r in receipts}
    assert len(results) == 8 and codes
    decoded = [Receipt.decode(bytes.fromhex(r)) for _, rs in results for r in rs]
    assert any(r.code == OK for r in decoded)
    assert len({r.code for r in decoded if r.code != OK}) >= 3


def test_two_processes_agree_on_roots_and_receipts() -> None:
    here = run_scenario(11)
    script = (
        "import json; from tests.state.test_machine import run_scenario; "
        "print(json.dumps(run_scenario(11)))"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        outputs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    expected = [[root, receipts] for root, receipts in here]
    assert outputs[0] == outputs[1] == expected
