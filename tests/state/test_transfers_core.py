"""The compiled core's transfer execution against the reference (`METANODE_CORE=python`), on
random chains of blocks of good and bad transfers (wrong chain, expired, fee below the floor,
forged signature, nonces behind and ahead, fees and amounts past the balance up to 2**64 - 1,
zero amounts, transfers to oneself, to a module account, to an unknown account, new senders
where the chain requires hybrid keys), mixed with migrations and hybrid transfers that split
the runs the core takes: the same blocks, codes, receipts, writes, roots, dropped transactions
and state, byte for byte; a block holding a transaction its proposer dropped is refused the
same way by both."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metanode.core import native
from metanode.errors import InvariantViolation
from metanode.state import transfers
from metanode.state.bank import errors as bank_errors
from metanode.state.bank.accounts import TREASURY, decode_account
from metanode.state.bank.keys import ACCOUNT
from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import GenesisDocument, from_tree
from metanode.state.invariants import check_all
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import InvalidBlock, apply_block, build_block
from metanode.state.view import MemoryReader
from metanode.types import Address, Block, CommitCertificate, Denom, Transaction, Transfer
from metanode.types import constants as types_constants
from tests.conftest import examples
from tests.state.support import (
    CHAIN_ID,
    COIN,
    FEE,
    Wallet,
    certify,
    genesis_tree,
    validator_wallet,
)
from tests.state.test_keys import hybrid_tx, migrate

WALLETS = 5  # the last one holds nothing: a new sender that cannot pay
UNKNOWN = Address(bytes(range(20)))
PROPOSER = validator_wallet(0).address
UNDECODABLE: dict[str, dict[str, Any]] = {
    "long_chain": {"chain_id": "x" * 65},
    "short": {"signature": b"\x01" * 10},
}


@functools.cache
def genesis(hybrid_required: bool) -> GenesisDocument:
    tree = genesis_tree(wallets=WALLETS - 1)
    tree["accounts"][3]["balances"] = {"GEN": 5, "NEX": 0, "FLX": 3 * FEE, "AUR": 1}
    if hybrid_required:
        tree["parameters"]["keys"] = {"hybrid_accounts_required": 1}
    return from_tree(tree)


@dataclass(frozen=True)
class Op:
    kind: str  # "transfer", "migrate", "hybrid"
    sender: int
    nonce: str  # "next", "low", "high"
    to: int  # a wallet, or -1 unknown, -2 the treasury, -3 the sender itself
    amount: int
    denom: Denom
    fee: int
    # "chain", "long_chain" (past what a decoder accepts), "expired", "signature", "short" (a
    # signature of the wrong length): the two a decoder refuses come only from Python callers
    flaw: str | None


AMOUNTS = st.one_of(
    *[st.integers(1, 10 * COIN)] * 4,
    st.just(0),
    st.integers(1, 2_000 * COIN),
    st.just(2**64 - 1),
)
transfer_ops = st.builds(
    Op,
    kind=st.just("transfer"),
    sender=st.integers(0, WALLETS - 1),
    nonce=st.sampled_from(["next"] * 6 + ["low", "high"]),
    to=st.integers(-3, WALLETS - 1),
    amount=AMOUNTS,
    denom=st.sampled_from(Denom),
    fee=st.sampled_from([FEE] * 12 + [FEE - 1, 2 * COIN, 2**64 - 1]),
    flaw=st.sampled_from([None] * 20 + ["chain", "long_chain", "expired", "signature", "short"]),
)
other_ops = st.builds(
    Op,
    kind=st.sampled_from(["migrate", "hybrid"]),
    sender=st.integers(0, WALLETS - 1),
    nonce=st.just("next"),
    to=st.integers(-3, WALLETS - 1),
    amount=st.integers(1, 10 * COIN),
    denom=st.sampled_from(Denom),
    fee=st.just(FEE),
    flaw=st.none(),
)
chains = st.lists(
    st.lists(st.one_of(*[transfer_ops] * 8, other_ops), max_size=14),
    min_size=1,
    max_size=3,
)


def _transactions(history: list[list[Op]]) -> list[list[Transaction]]:
    """The signed transactions of each block: every op signed once, for both sides."""
    nonces: dict[int, int] = {}
    blocks = []
    for ops in history:
        txs = []
        for op in ops:
            sender = -1 if op.kind == "hybrid" else op.sender
            nonce = nonces.get(sender, 0)
            if op.nonce == "next" and op.flaw is None and op.fee == FEE:
                nonces[sender] = nonce + 1  # likely to pass the ladder
            elif op.nonce == "low":
                nonce = nonce - 1 if nonce else 2**64 - 1
            else:
                nonce += 1
            if op.kind == "migrate":
                txs.append(migrate(Wallet.of(op.sender), nonce))
                continue
            special = {-1: UNKNOWN, -2: TREASURY, -3: Wallet.of(op.sender).address}
            to = special[op.to] if op.to < 0 else Wallet.of(op.to).address
            message = Transfer(to, op.amount, op.denom)
            if op.kind == "hybrid":
                txs.append(hybrid_tx(nonce, message))
                continue
            tx = Wallet.of(op.sender).tx(
                nonce,
                message,
                fee=op.fee,
                expiry=0 if op.flaw == "expired" else 1_000_000,
                chain_id="elsewhere" if op.flaw == "chain" else CHAIN_ID,
            )
            if op.flaw == "signature":
                tx = tx.with_signature(bytes(64))
            elif op.flaw in UNDECODABLE:
                # Built in Python and never decoded: no decoder would accept these bytes.
                tx = replace(tx, encoded=b"", **UNDECODABLE[op.flaw])
            txs.append(tx)
        blocks.append(txs)
    return blocks


def _run(
    choice: str,
    document: GenesisDocument,
    blocks: list[list[Transaction]],
    txs_max: int,
    bytes_room: int | None,
    insert_at: int,
) -> list[object]:
    """Everything each block gives under `choice`, as comparable values."""
    seen: list[object] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", choice)
        if bytes_room is not None:
            # build_block leaves 4,096 bytes for the header: the rest is the room for txs.
            patch.setattr(types_constants, "block_bytes_max", 4_096 + bytes_room)
        ledger = MemoryLedger(document)
        certificate: CommitCertificate | None = None
        for height, txs in enumerate(blocks, start=1):
            state = ledger.state
            proposal = build_block(
                state,
                txs,
                timestamp_ms=document.genesis_time_ms + 1_000 * height,
                proposer=PROPOSER,
                txs_max=txs_max,
                last_certificate=certificate,
            )
            changes = proposal.changes
            dropped = [(tx.hash(), name_of(code)) for tx, code in proposal.dropped]
            seen.append(
                (
                    proposal.block.encode(),
                    changes.writes,
                    changes.tree.node_writes,
                    changes.tree.stale,
                    [receipt.encode() for receipt in changes.receipts],
                    changes.touched,
                    dropped,
                )
            )
            applied = apply_block(state, proposal.block)
            assert applied.writes == changes.writes
            assert applied.receipts == changes.receipts
            for tx, _code in proposal.dropped[:1]:
                block = proposal.block
                position = insert_at % (len(block.txs) + 1)
                txs_with = (*block.txs[:position], tx, *block.txs[position:])
                forged = Block(block.header, txs_with, block.evidence, block.last_certificate)
                with pytest.raises(InvalidBlock) as refused:
                    apply_block(state, forged)
                seen.append((refused.value.reason, refused.value.detail, refused.value.tx_index))
            ledger.commit(applied)
            check_all(ledger.state.reader)
            seen.append(ledger.items)
            certificate = certify(ledger.state.reader, proposal.block)
    return seen


@given(
    chains,
    st.sampled_from([False] * 3 + [True]),
    st.integers(1, 16),
    st.one_of(st.none(), st.integers(0, 2_500)),
    st.integers(0, 20),
)
@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_blocks_give_the_same_results_with_the_core_and_the_reference(
    history: list[list[Op]],
    hybrid_required: bool,
    txs_max: int,
    bytes_room: int | None,
    insert_at: int,
) -> None:
    document = genesis(hybrid_required)
    blocks = _transactions(history)
    compiled = _run("rust", document, blocks, txs_max, bytes_room, insert_at)
    assert compiled == _run("python", document, blocks, txs_max, bytes_room, insert_at)


def test_every_outcome_has_its_code_and_the_ladder_keeps_its_order() -> None:
    names = [name_of(code) for code in transfers.OUTCOME_CODES]
    assert names[0] == "ok"
    assert names[1:10] == [
        "auth.wrong_chain",
        "auth.expired",
        "auth.fee_too_low",
        "auth.bad_signature",
        "keys.account_migrated",
        "keys.hybrid_key_required",
        "auth.nonce_too_low",
        "auth.nonce_too_high",
        "auth.insufficient_fee_balance",
    ]
    assert names[10:] == [
        "bank.amount_must_not_be_zero",
        "bank.recipient_is_module_account",
        "bank.insufficient_funds",
    ]


@pytest.mark.parametrize(("choice", "runs"), [("rust", [2, 1]), ("python", [])])
def test_each_run_of_transfers_crosses_into_the_core_once(
    monkeypatch: pytest.MonkeyPatch, choice: str, runs: list[int]
) -> None:
    calls: list[int] = []
    execute_run = transfers.execute_run

    def counted(*args: Any, **options: Any) -> transfers.RunResult:
        calls.append(len(args[4]))
        return execute_run(*args, **options)

    monkeypatch.setenv("METANODE_CORE", choice)
    monkeypatch.setattr(transfers, "execute_run", counted)
    sender = Wallet.of(0)
    to = Wallet.of(1).address
    block = [
        sender.tx(0, Transfer(to, 1, Denom.GEN)),
        sender.tx(1, Transfer(to, 2, Denom.FLX)),
        migrate(sender, 2),
        sender.tx(3, Transfer(to, 3, Denom.NEX)),
    ]
    proposal = build_block(
        MemoryLedger(genesis(False)).state,
        block,
        timestamp_ms=genesis(False).genesis_time_ms + 1_000,
        proposer=PROPOSER,
    )
    assert [name_of(receipt.code) for receipt in proposal.changes.receipts] == ["ok"] * 3
    assert [name_of(code) for _, code in proposal.dropped] == ["keys.account_migrated"]
    assert calls == runs


class Recording(MemoryReader):
    """A reader that keeps the keys it was asked for, in order."""

    def __init__(self, items: dict[bytes, bytes]) -> None:
        super().__init__(items)
        self.asked: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        self.asked.append(key)
        return super().get(key)


def test_a_run_reads_the_accounts_it_touches_in_key_order() -> None:
    """So that the reads walk LMDB's tree leaf by neighbouring leaf and the changed records
    join the block's overlay as one sorted run (state/transfers.py)."""
    assert native() is not None
    ledger = MemoryLedger(genesis(False))
    reader = Recording(ledger.items)
    wallets = [Wallet.of(index) for index in range(WALLETS - 1)]
    block = [
        sender.tx(0, Transfer(wallets[(index * 3 + 1) % len(wallets)].address, 1, Denom.GEN))
        for index, sender in enumerate(reversed(wallets))
    ]
    touched = {ACCOUNT + tx.sender_address.raw for tx in block} | {
        ACCOUNT + tx.message.to.raw  # type: ignore[attr-defined]
        for tx in block
    }
    build_block(
        replace(ledger.state, reader=reader),
        block,
        timestamp_ms=genesis(False).genesis_time_ms + 1_000,
        proposer=PROPOSER,
    )
    run_reads = [key for key in reader.asked if key.startswith(ACCOUNT)][: len(touched)]
    assert set(run_reads) == touched
    assert run_reads == sorted(run_reads)
    assert [tx.sender_address.raw for tx in block] != sorted(tx.sender_address.raw for tx in block)


# A run's (sender, recipient) pairs among few addresses: repeats, transfers to oneself, senders
# that also receive.
RAWS = st.sampled_from([bytes([byte]) * 20 for byte in (0, 1, 2, 0x80, 0xFF)])


@given(st.lists(st.tuples(RAWS, RAWS), max_size=12))
@settings(max_examples=examples(200), deadline=None)
def test_a_runs_accounts_are_its_addresses_once_in_key_order(
    pairs: list[tuple[bytes, bytes]],
) -> None:
    """`_core.run_accounts`: what the run reads (each address once, in key order, with its
    account's key; the senders among them) and indexes (sender, then recipient if another),
    against the same made in Python."""
    core = native()
    assert core is not None
    items = [("c", sender, False, True, 0, FEE, 9, to, 1, 3, 200) for sender, to in pairs]
    raws, keys, senders, indexed = core.run_accounts(items, ACCOUNT)
    expected = sorted({raw for pair in pairs for raw in pair})
    assert raws == expected
    assert keys == [ACCOUNT + raw for raw in expected]
    assert senders == [raw for raw in expected if raw in {sender for sender, _ in pairs}]
    assert indexed == [[sender] if sender == to else [sender, to] for sender, to in pairs]


def test_a_run_item_without_bytes_addresses_is_refused() -> None:
    core = native()
    assert core is not None
    with pytest.raises(TypeError):
        core.run_accounts(
            [("c", "not bytes", False, True, 0, FEE, 9, bytes(20), 1, 3, 200)], ACCOUNT
        )
    with pytest.raises(IndexError):
        core.run_accounts([("c", bytes(20))], ACCOUNT)


def test_a_broken_invariant_in_the_core_is_an_invariant_violation() -> None:
    core = native()
    assert core is not None
    a, b = bytes(20), bytes([1] * 20)
    rich = (a, b"key a", cbor2.dumps([0, 0, 0, 10 * FEE, 0]), False, False)
    transfer = ("c", a, False, True, 0, FEE, 9, b, 1, 3, 200)
    full = (b, b"key b", cbor2.dumps([0, 0, 0, 2**64 - 1, 0]), False, False)
    with pytest.raises(InvariantViolation, match="overflows uint64"):
        core.execute_transfers([rich, full], [transfer], "c", 1, FEE, False, None)
    with pytest.raises(InvariantViolation, match="not among the holders"):
        core.execute_transfers([rich], [transfer], "c", 1, FEE, False, None)
    empty = (b, b"key b", None, False, False)
    outcomes, fees, changed = core.execute_transfers(
        [rich, empty], [transfer], "c", 1, FEE, False, None
    )
    assert (list(outcomes), fees) == ([0], FEE)
    sender_record, recipient_record = [1, 0, 0, 9 * FEE - 1, 0], [0, 0, 0, 1, 0]
    # Each changed holder under the state key it was given, the overlay's (key, value) pair.
    assert changed == [
        (b"key a", cbor2.dumps(sender_record)),
        (b"key b", cbor2.dumps(recipient_record)),
    ]


RECORDS = st.one_of(
    st.lists(st.integers(0, 2**64 - 1), min_size=5, max_size=5).map(cbor2.dumps),
    st.lists(st.integers(-(2**64), 2**65), min_size=4, max_size=6).map(cbor2.dumps),
    st.binary(max_size=50),
    # Valid records with a byte changed, cut or added: heads one size too long, trailing bytes.
    st.tuples(
        st.lists(st.integers(0, 2**64 - 1), min_size=5, max_size=5).map(cbor2.dumps),
        st.integers(0, 50),
        st.binary(max_size=2),
    ).map(lambda parts: parts[0][: parts[1]] + parts[2] + parts[0][parts[1] + 1 :]),
)


@given(RECORDS)
@settings(max_examples=examples(300), deadline=None)
def test_the_core_reads_exactly_the_account_records_the_reference_reads(record: bytes) -> None:
    """A stored account record reaches the core as bytes: it accepts what `decode_uints`
    accepts, with the same fields (shown by the record it writes back after a fee-0 transfer
    to oneself: the nonce bumped, the rest as read), and refuses the rest as a broken
    invariant."""
    core = native()
    assert core is not None
    address = bytes(20)
    try:
        account = decode_account(record, b"k")
    except InvariantViolation:
        account = None
    holder = (address, b"k", record, False, False)
    if account is None:
        with pytest.raises(InvariantViolation, match="not an array of 5 unsigned integers"):
            core.execute_transfers([holder], [], "c", 1, 0, False, None)
        return
    transfer = ("c", address, False, True, account.nonce, 0, 9, address, 1, 1, 100)
    if account.nonce == 2**64 - 1:
        with pytest.raises(InvariantViolation, match="charging"):
            core.execute_transfers([holder], [transfer], "c", 1, 0, False, None)
        return
    outcomes, _, changed = core.execute_transfers([holder], [transfer], "c", 1, 0, False, None)
    assert transfers.OUTCOME_CODES[outcomes[0]] in (OK, bank_errors.INSUFFICIENT_FUNDS)
    assert changed == [(b"k", cbor2.dumps([account.nonce + 1, *account.balances]))]
