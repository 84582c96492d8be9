"""The mempool with real Ed25519 keys: each rejection reason and its detail, the order of the
ladder, verify-once, fee priority, nonce order, ready and queued transactions, replacement,
eviction, expiry, and bounds."""

from __future__ import annotations

import concurrent.futures
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519
from metanode.errors import InvariantViolation
from metanode.mempool import constants
from metanode.mempool.pool import Pool
from metanode.mempool.reasons import Reason
from metanode.state.codes import OK
from metanode.types import Address, Denom, Transaction, Transfer
from metanode.types import constants as types_constants
from tests.conftest import examples

CHAIN = "mempool-test"
KEYS = [ed25519.PrivateKey.from_seed(bytes([index]) * 32) for index in range(1, 9)]
TO = Address.from_public_key(bytes(32))


@dataclass
class Accounts:
    """The LedgerView of committed state, as a table (the pool reads nothing else)."""

    fee_min: int = 10
    rows: dict[Address, tuple[int, int]] = field(default_factory=dict)
    other_balances: dict[tuple[Address, Denom], int] = field(default_factory=dict)

    def account(self, address: Address) -> tuple[int, int]:
        return self.rows.get(address, (0, 0))

    def balance(self, address: Address, denom: Denom) -> int:
        if denom is Denom.FLX:
            return self.account(address)[1]
        return self.other_balances.get((address, denom), 0)

    def key_rung(self, tx: Transaction, sender: Address, nonce: int) -> int:
        return OK  # no account here has migrated (tests/state/test_keys.py covers the rung)


def address(key: ed25519.PrivateKey) -> Address:
    return Address.from_public_key(key.public_key)


def funded(balance: int = 10**9) -> Accounts:
    return Accounts(rows={address(key): (0, balance) for key in KEYS})


def tx(
    key: ed25519.PrivateKey = KEYS[0],
    nonce: int = 0,
    fee: int = 100,
    expiry: int = 1_000,
    chain: str = CHAIN,
    amount: int = 1,
    forge: bool = False,
    denom: Denom = Denom.FLX,
) -> bytes:
    unsigned = Transaction(chain, key.public_key, nonce, fee, expiry, Transfer(TO, amount, denom))
    signature = bytes(64) if forge else key.sign(unsigned.signing_message())
    return unsigned.with_signature(signature).encode()


def test_admits_and_reaps() -> None:
    pool, ledger = Pool(CHAIN), funded()
    result = pool.admit(tx(), ledger, 1)
    assert result.admitted and len(pool) == 1
    assert [t.nonce for t in pool.reap(10, 10**6)] == [0]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00" * (types_constants.logblock_tx_bytes_max + 1), Reason.TOO_LARGE),
        (b"\x81\x01", Reason.MALFORMED),
        (tx(chain="other"), Reason.WRONG_CHAIN),
        (tx(expiry=0), Reason.EXPIRED),
        (tx(fee=9), Reason.FEE_TOO_LOW),
        (tx(nonce=constants.nonce_gap_max + 1), Reason.NONCE_GAP_TOO_LARGE),
        (tx(fee=10**10), Reason.INSUFFICIENT_FEE_BALANCE),
        (tx(amount=10**9), Reason.INSUFFICIENT_FUNDS),
        (tx(amount=1, denom=Denom.NEX), Reason.INSUFFICIENT_FUNDS),
        (tx(forge=True), Reason.BAD_SIGNATURE),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_reason(raw: bytes, reason: Reason) -> None:
    pool = Pool(CHAIN)
    refused = pool.admit(raw, funded(), 5)
    assert refused.reason is reason and refused.detail
    assert len(pool) == 0


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"garbage bytes!", "trailing_bytes at byte 8"),
        (b"\x81\x01", "transaction has 1 fields"),
        (b"", "no bytes to decode"),
    ],
)
def test_garbage_is_malformed_with_the_decoders_reason(raw: bytes, words: str) -> None:
    refused = Pool(CHAIN).admit(raw, funded(), 5)
    assert refused.reason is Reason.MALFORMED
    assert refused.detail.startswith("not a transaction: ") and words in refused.detail


def test_nonce_too_low_and_duplicate() -> None:
    pool, ledger = Pool(CHAIN), funded()
    ledger.rows[address(KEYS[0])] = (3, 10**9)
    assert pool.admit(tx(nonce=2), ledger, 1).reason is Reason.NONCE_TOO_LOW
    assert pool.admit(tx(nonce=3), ledger, 1).admitted
    assert pool.admit(tx(nonce=3), ledger, 1).reason is Reason.DUPLICATE


def test_the_ladder_order_is_pinned() -> None:
    # A transaction with every fault gets the first reason of the pinned order; each step
    # mends one fault. It replaces a pending transaction (nonce 0, fee 100) of its sender, so
    # the replacement rung applies, and after the signature: a forged transaction is refused as
    # forged, never told to pay more.
    ledger = funded(balance=1_000)
    faults: dict[str, Any] = dict(
        chain="other", expiry=0, fee=9, nonce=10_000, amount=10**6, forge=True
    )
    steps: list[tuple[Reason, str, Any]] = [
        (Reason.WRONG_CHAIN, "chain", CHAIN),
        (Reason.EXPIRED, "expiry", 1_000),
        (Reason.FEE_TOO_LOW, "fee", 10**6),
        (Reason.NONCE_GAP_TOO_LARGE, "nonce", 0),
        (Reason.INSUFFICIENT_FEE_BALANCE, "fee", 105),
        (Reason.INSUFFICIENT_FUNDS, "amount", 1),
        (Reason.BAD_SIGNATURE, "forge", False),
        (Reason.REPLACEMENT_FEE_TOO_LOW, "fee", 110),
    ]
    for reason, name, mended in steps:
        pool = Pool(CHAIN)
        assert pool.admit(tx(fee=100), ledger, 5).admitted
        assert pool.admit(tx(**faults), ledger, 5).reason is reason
        faults[name] = mended
    assert Pool(CHAIN).admit(tx(fee=100), ledger, 5).admitted
    pool = Pool(CHAIN)
    pool.admit(tx(fee=100), ledger, 5)
    assert pool.admit(tx(**faults), ledger, 5).admitted


def test_capacity_rungs_refuse_before_the_signature_is_checked() -> None:
    # Between the funds and the signature: at overload most refusals are `pool_full`, and a
    # verification each would double the work; a transaction that could never pass still hears
    # why (its funds) rather than "retry later".
    pool, ledger = Pool(CHAIN, txs_max=1), funded(balance=10_000)
    assert pool.admit(tx(KEYS[1], fee=1_000), ledger, 5).admitted
    verified = pool.verifications
    faults: dict[str, Any] = dict(key=KEYS[0], amount=10**6, forge=True, fee=100)
    assert pool.admit(tx(**faults), ledger, 5).reason is Reason.INSUFFICIENT_FUNDS
    faults["amount"] = 1
    assert pool.admit(tx(**faults), ledger, 5).reason is Reason.POOL_FULL
    assert pool.verifications == verified
    faults["fee"] = 2_000
    assert pool.admit(tx(**faults), ledger, 5).reason is Reason.BAD_SIGNATURE


def test_a_forged_transaction_with_a_pending_nonce_is_refused_as_forged() -> None:
    pool, ledger = Pool(CHAIN), funded()
    assert pool.admit(tx(fee=100), ledger, 1).admitted
    forged = pool.admit(tx(fee=100, amount=2, forge=True), ledger, 1)
    assert forged.reason is Reason.BAD_SIGNATURE
    assert "signature" in forged.detail


def test_a_verified_transaction_is_never_verified_again() -> None:
    pool, ledger = Pool(CHAIN), funded()
    raw = tx()
    pool.admit(raw, ledger, 1)
    assert pool.verifications == 1
    committed = Transaction.decode(raw)
    assert committed.hash() in pool.verified_hashes()
    pool.remove_committed([], ledger, 1)
    assert pool.admit(raw, ledger, 1).reason is Reason.DUPLICATE
    assert pool.verifications == 1


def test_fee_priority_across_senders_and_nonce_order_within() -> None:
    pool, ledger = Pool(CHAIN), funded()
    raws = [
        tx(KEYS[0], nonce=0, fee=50),
        tx(KEYS[0], nonce=1, fee=500),
        tx(KEYS[1], nonce=0, fee=200),
        tx(KEYS[2], nonce=1, fee=900),  # gap: nonce 0 missing, not executable
    ]
    assert all(result.admitted for result in pool.admit_batch(raws, ledger, 1))
    reaped = pool.reap(10, 10**6)
    assert [(t.sender, t.nonce) for t in reaped] == [
        (KEYS[1].public_key, 0),
        (KEYS[0].public_key, 0),
        (KEYS[0].public_key, 1),
    ]


@pytest.mark.parametrize(
    "order", [list(range(8)), list(range(7, -1, -1)), [3, 0, 6, 1, 7, 2, 5, 4]]
)
def test_equal_fees_are_reaped_first_come_first_served(order: list[int]) -> None:
    """Whatever the hashes: a tie broken by hash starved high hashes under sustained load."""
    pool, ledger = Pool(CHAIN), funded()
    for index in order:
        assert pool.admit(tx(KEYS[index], fee=100), ledger, 1).admitted
    reaped = pool.reap(10, 10**6)
    assert [t.sender for t in reaped] == [KEYS[index].public_key for index in order]


def test_replacement_needs_ten_percent_more() -> None:
    pool, ledger = Pool(CHAIN), funded()
    assert pool.admit(tx(fee=100), ledger, 1).admitted
    assert pool.admit(tx(fee=109, amount=2), ledger, 1).reason is Reason.REPLACEMENT_FEE_TOO_LOW
    assert pool.admit(tx(fee=110, amount=3), ledger, 1).admitted
    (only,) = pool.reap(10, 10**6)
    assert only.fee == 110 and len(pool) == 1


def test_full_pool_evicts_the_lowest_fee_only_for_a_better_one() -> None:
    pool, ledger = Pool(CHAIN, txs_max=3), funded()
    for index, fee in enumerate([100, 200, 300]):
        assert pool.admit(tx(KEYS[index], fee=fee), ledger, 1).admitted
    verified = pool.verifications
    assert pool.admit(tx(KEYS[3], fee=100), ledger, 1).reason is Reason.POOL_FULL
    assert pool.verifications == verified  # refused before its signature was checked
    assert pool.admit(tx(KEYS[3], fee=150), ledger, 1).admitted
    assert sorted(t.fee for t in pool.reap(10, 10**6)) == [150, 200, 300]


def test_commit_removes_included_passed_and_expired() -> None:
    pool, ledger = Pool(CHAIN), funded()
    raws = [tx(KEYS[0], nonce=0), tx(KEYS[0], nonce=1), tx(KEYS[1], expiry=3)]
    pool.admit_batch(raws, ledger, 1)
    included = Transaction.decode(raws[0])
    ledger.rows[address(KEYS[0])] = (2, 10**9)  # the block also carried nonce 1 elsewhere
    pool.remove_committed([included], ledger, 4)
    assert len(pool) == 0


@dataclass
class CountedAccounts(Accounts):
    """The table, counting the account reads (what a real view pays a store row for)."""

    read: list[Address] = field(default_factory=list)

    def account(self, address: Address) -> tuple[int, int]:
        self.read.append(address)
        return super().account(address)


def test_commit_reads_the_accounts_of_senders_with_transactions_left_only() -> None:
    pool, ledger = Pool(CHAIN), funded()
    raws = [tx(KEYS[0], nonce=0), tx(KEYS[1], nonce=0), tx(KEYS[1], nonce=1)]
    pool.admit_batch(raws, ledger, 1)
    unseen = Transaction.decode(tx(KEYS[2], nonce=0))  # the pool never held it (refused gossip)
    committed = CountedAccounts(rows={**ledger.rows, address(KEYS[1]): (1, 10**9)})
    block = [Transaction.decode(raws[0]), Transaction.decode(raws[1]), unseen]
    pool.remove_committed(block, committed, 2)
    # KEYS[0] and KEYS[2] have nothing pending: only KEYS[1]'s account is read, and its
    # remaining transaction is ready at its account's next nonce.
    assert committed.read == [address(KEYS[1])]
    assert [t.nonce for t in pool.reap(10, 10**6)] == [1]
    assert pool.ready == 1


operations = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 6), st.integers(10, 1000)), max_size=40
)


@given(operations)
@settings(max_examples=examples(40), deadline=None)
def test_bounds_and_reap_invariants(monkeypatch_ops) -> None:
    pool, ledger = Pool(CHAIN), funded()
    raws = [tx(KEYS[k], nonce=n, fee=f) for k, n, f in monkeypatch_ops]
    pool.admit_batch(raws, ledger, 1)
    assert len(pool) <= constants.pool_txs_max
    for key in KEYS:
        sender = address(key).raw
        pending = [pool._index.at(sender, nonce) for nonce in range(7)]
        held = [entry for entry in pending if entry is not None]
        assert len(held) == pool._index.count(sender) <= constants.sender_txs_max
        # The running total of what a sender's pending transfers spend is their sum.
        spent = sum(e.tx.fee + e.tx.message.amount for e in held)
        assert pool._index.spent(sender, Denom.FLX) == spent
    reaped = pool.reap(1_000, 10**7)
    assert pool.ready == len(reaped)  # what the proposer counts is what a block can take
    next_nonce: dict[bytes, int] = {}
    for item in reaped:
        expected = next_nonce.get(item.sender, ledger.account(item.sender_address)[0])
        assert item.nonce == expected  # contiguous from the account nonce
        next_nonce[item.sender] = expected + 1
    # Fee priority: each sender's first transaction comes out in descending fee order.
    firsts = []
    seen = set()
    for item in reaped:
        if item.sender not in seen:
            seen.add(item.sender)
            firsts.append(item.fee)
    assert firsts == sorted(firsts, reverse=True)


def test_waiting_transactions_may_fill_only_half_the_pool() -> None:
    pool, ledger = Pool(CHAIN, txs_max=4), funded()
    assert pool.admit(tx(KEYS[0], nonce=1), ledger, 1).admitted  # waits for nonce 0
    assert pool.admit(tx(KEYS[1], nonce=1), ledger, 1).admitted
    assert pool.admit(tx(KEYS[2], nonce=1), ledger, 1).reason is Reason.QUEUE_FULL
    assert pool.admit(tx(KEYS[2], nonce=0), ledger, 1).admitted  # ready: still welcome
    assert pool.admit(tx(KEYS[0], nonce=0), ledger, 1).admitted


def test_the_index_heaps_do_not_outgrow_the_pool(monkeypatch) -> None:
    monkeypatch.setattr(constants, "heap_slack_max", 0)
    pool, ledger = Pool(CHAIN), funded()
    for round_ in range(3):
        raws = [tx(KEYS[i], nonce=round_) for i in range(len(KEYS))]
        assert all(r.admitted for r in pool.admit_batch(raws, ledger, 1))
        ledger.rows = {address(key): (round_ + 1, 10**9) for key in KEYS}
        pool.remove_committed([Transaction.decode(raw) for raw in raws], ledger, 2)
        assert len(pool) == 0
        assert pool._index.heaps() == (0, 0)  # rebuilt, not left to grow


def test_settling_after_the_pool_moved_checks_the_state_again() -> None:
    # A node screens a batch, awaits its signatures, and settles it; meanwhile another batch
    # may settle or a block commit. What settles second is checked against the pool and the
    # state as they are then.
    pool, ledger = Pool(CHAIN), funded()
    first = pool.screen([tx(KEYS[0]), tx(KEYS[1])], ledger, 1)
    second = pool.screen([tx(KEYS[0]), tx(KEYS[2])], ledger, 1)
    assert all(
        result.admitted for result in pool.settle(first, first.verifying.result(), ledger, 1)
    )
    duplicate, fresh = pool.settle(second, second.verifying.result(), ledger, 1)
    assert duplicate.reason is Reason.DUPLICATE and fresh.admitted
    third = pool.screen([tx(KEYS[3]), tx(KEYS[4], forge=True)], ledger, 1)
    committed = Accounts(rows={**ledger.rows, address(KEYS[3]): (1, 10**9)})
    passed, forged = pool.settle(third, third.verifying.result(), committed, 2)
    assert passed.reason is Reason.NONCE_TOO_LOW and forged.reason is Reason.BAD_SIGNATURE
    assert len(pool) == 3
    assert pool.verifications == 6


def test_a_blocks_unseen_signatures_are_verified_once_and_only_valid_ones_remembered() -> None:
    pool = Pool(CHAIN)
    good = [Transaction.decode(tx(KEYS[i])) for i in range(3)]
    forged = Transaction.decode(tx(KEYS[3], forge=True))
    pool.verify_unseen([*good, forged])
    verified = pool.verified_hashes()
    assert all(t.hash() in verified for t in good)
    assert forged.hash() not in verified
    assert pool.verifications == 4
    pool.verify_unseen(good)
    assert pool.verifications == 4


def test_clients_fill_only_their_share_and_peers_gossip_the_rest() -> None:
    pool, ledger = Pool(CHAIN, txs_max=4, local_txs_max=2), funded()
    local = pool.admit_batch([tx(KEYS[0]), tx(KEYS[1]), tx(KEYS[2])], ledger, 1, local=True)
    assert [r.reason for r in local] == [None, None, Reason.POOL_FULL]
    gossiped = pool.admit_batch([tx(KEYS[2]), tx(KEYS[3])], ledger, 1)
    assert all(r.admitted for r in gossiped) and len(pool) == 4
    first = pool.get(local[0].hash)  # type: ignore[arg-type]
    assert first is not None
    pool.remove_committed([first], Accounts(rows={**ledger.rows, address(KEYS[0]): (1, 10**9)}), 2)
    (again,) = pool.admit_batch([tx(KEYS[4])], ledger, 2, local=True)
    assert again.admitted and len(pool) == 4


@pytest.mark.parametrize(("validators", "share"), [(1, 4_000), (4, 1_000), (3, 1_333), (9_999, 1)])
def test_each_validators_clients_get_an_equal_share(validators: int, share: int) -> None:
    pool = Pool(CHAIN, txs_max=4_000)
    pool.share_among(validators)
    assert pool.local_txs_max == share
    with pytest.raises(InvariantViolation, match="local_txs_max"):
        pool.share(4_001)


@pytest.mark.parametrize(
    ("validators", "clients", "share"), [(4, 2_000, 500), (4, 0, 1_000), (1, 2_000, 2_000)]
)
def test_a_bound_on_all_clients_is_shared_among_the_validators(
    validators: int, clients: int, share: int
) -> None:
    pool = Pool(CHAIN, txs_max=4_000)
    pool.share_among(validators, clients)
    assert pool.local_txs_max == share
    with pytest.raises(InvariantViolation, match="clients_txs_max"):
        pool.share_among(validators, 4_001)
    assert pool.local_txs_max == share


def test_a_transaction_behind_a_nonce_gap_is_queued_and_no_work_for_a_proposer() -> None:
    pool, ledger = Pool(CHAIN), funded()
    waiting = pool.admit(tx(nonce=3), ledger, 1)
    assert waiting.admitted and waiting.queued and waiting.next_nonce == 0
    assert "nonce 0" in waiting.detail
    assert len(pool) == 1 and pool.ready == 0 and pool.reap(10, 10**6) == []
    first = pool.admit(tx(nonce=0), ledger, 1)
    assert first.admitted and not first.queued and first.next_nonce is None
    assert pool.ready == 1
    assert pool.admit(tx(nonce=2), ledger, 1).next_nonce == 1
    assert pool.admit(tx(nonce=1), ledger, 1).admitted and pool.ready == 4
    assert [t.nonce for t in pool.reap(10, 10**6)] == [0, 1, 2, 3]
    # A block takes nonces 0 and 1; then nonce 2 expires, and 3 waits again.
    committed = [Transaction.decode(tx(nonce=n)) for n in (0, 1)]
    ledger.rows[address(KEYS[0])] = (2, 10**9)
    pool.remove_committed(committed, ledger, 2)
    assert len(pool) == 2 and pool.ready == 2
    expiring = pool.get(Transaction.decode(tx(nonce=2)).hash())
    assert expiring is not None
    pool.remove_committed([], ledger, expiring.expiry_height + 1)
    assert len(pool) == 0 and pool.ready == 0  # nonce 3 shared the expiry height


def test_replacing_or_evicting_inside_the_ready_run_leaves_the_rest_queued() -> None:
    pool, ledger = Pool(CHAIN, txs_max=3), funded()
    assert all(r.admitted for r in pool.admit_batch([tx(nonce=n) for n in range(3)], ledger, 1))
    assert pool.ready == 3
    assert pool.admit(tx(nonce=1, fee=200), ledger, 1).admitted  # replaced in place
    assert pool.ready == 3
    assert pool.admit(tx(KEYS[1], fee=150), ledger, 1).admitted  # evicts a fee-100 one
    assert len(pool) == 3 and pool.ready == len(pool.reap(10, 10**6))


def test_a_batch_answers_as_the_pool_stands_after_it() -> None:
    pool, ledger = Pool(CHAIN), funded()
    results = pool.admit_batch([tx(nonce=2), tx(nonce=1), tx(nonce=0)], ledger, 1)
    assert [(r.admitted, r.queued) for r in results] == [(True, False)] * 3
    assert pool.ready == 3


def test_the_nonce_bound_names_itself_and_the_nonce_expected() -> None:
    pool, ledger = Pool(CHAIN, nonce_gap_max=3), funded()
    assert pool.admit(tx(nonce=0), ledger, 1).admitted
    assert pool.admit(tx(nonce=3), ledger, 1).queued
    refused = pool.admit(tx(nonce=4), ledger, 1)
    assert refused.reason is Reason.NONCE_GAP_TOO_LARGE and refused.next_nonce == 1
    assert "at most 3 ahead" in refused.detail and "nonce_gap_max" in refused.detail
    ledger.rows[address(KEYS[0])] = (2, 10**9)
    low = pool.admit(tx(nonce=1), ledger, 1)
    assert low.reason is Reason.NONCE_TOO_LOW and low.next_nonce == 2
    with pytest.raises(InvariantViolation, match="nonce_gap_max"):
        Pool(CHAIN, nonce_gap_max=constants.sender_txs_max + 1)


def test_funds_count_what_the_senders_pending_transactions_spend() -> None:
    # 1,000 base units: a transfer of 500 at fee 100 leaves 400; a second of 400 would need
    # 500 with its fee. Replacing the first (its amount no longer counts) may move more.
    pool, ledger = Pool(CHAIN), funded(balance=1_000)
    assert pool.admit(tx(nonce=0, amount=500), ledger, 1).admitted
    short = pool.admit(tx(nonce=1, amount=400), ledger, 1)
    assert short.reason is Reason.INSUFFICIENT_FUNDS
    assert short.detail == (
        "it moves 0.0000004 FLX; the sender holds 0.000001 FLX, of which its fee and pending "
        "transactions spend 0.0000007 FLX"
    )
    assert pool.admit(tx(nonce=1, amount=300), ledger, 1).admitted
    assert pool.admit(tx(nonce=2, fee=101), ledger, 1).reason is Reason.INSUFFICIENT_FEE_BALANCE
    assert pool.admit(tx(nonce=0, amount=100, fee=110), ledger, 1).admitted
    ledger.other_balances[(address(KEYS[1]), Denom.NEX)] = 5
    assert pool.admit(tx(KEYS[1], amount=5, denom=Denom.NEX), ledger, 1).admitted
    nex = pool.admit(tx(KEYS[1], nonce=1, amount=1, denom=Denom.NEX), ledger, 1)
    assert nex.reason is Reason.INSUFFICIENT_FUNDS and "NEX" in nex.detail


def test_a_batch_decoded_in_another_thread_screens_as_one_decoded_here() -> None:
    # The node decodes a large batch in a thread (the core parses with the GIL released) and
    # hands the result to `screen`; the verdicts are those of decoding in `screen` itself.
    raws = [tx(KEYS[0]), tx(KEYS[1], forge=True), b"\x80", tx(KEYS[2], chain="other")]
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        decoded = thread.submit(Transaction.decode_many, raws).result()
    verdicts = []
    for handed in (decoded, None):
        pool, ledger = Pool(CHAIN), funded()
        screened = pool.screen(raws, ledger, 1, decoded=handed)
        verdicts.append(
            [r.reason for r in pool.settle(screened, screened.verifying.result(), ledger, 1)]
        )
    assert verdicts[0] == verdicts[1]
    assert verdicts[0] == [None, Reason.BAD_SIGNATURE, Reason.MALFORMED, Reason.WRONG_CHAIN]


def test_settling_after_another_batch_rechecks_only_the_rows_of_senders_it_moved() -> None:
    pool, ledger = Pool(CHAIN), funded()
    first = pool.screen([tx(KEYS[0]), tx(KEYS[1])], ledger, 1)
    second = pool.screen([tx(KEYS[0], nonce=1), tx(KEYS[2]), tx(KEYS[3])], ledger, 1)
    pool.settle(first, first.verifying.result(), ledger, 1)
    assert all(r.admitted for r in pool.settle(second, second.verifying.result(), ledger, 1))
    assert pool.rechecks == 1  # KEYS[0]'s: the first batch moved its sender
    third = pool.screen([tx(KEYS[4]), tx(KEYS[5])], ledger, 1)
    pool.settle(third, third.verifying.result(), ledger, 2)  # a block committed meanwhile
    assert pool.rechecks == 3


# (key, nonce, fee, amount, forged, local) of one transaction; the batches are settled in the
# order given after all were screened.
pool_txs = st.tuples(
    st.integers(0, 3),
    st.integers(0, 3),
    st.sampled_from([5, 10, 50, 100, 200]),
    st.sampled_from([1, 10**8, 6 * 10**8]),
    st.booleans(),
    st.booleans(),
)


@given(
    st.lists(st.lists(pool_txs, min_size=1, max_size=6), min_size=2, max_size=4),
    st.lists(st.integers(0, 3), max_size=2),
)
# A sender the first batch did not move, whose second transfer overspends once its first of the
# same batch is in: the batch's own insertions count as moves.
@example(
    [
        [(0, 0, 100, 1, False, False)],
        [(1, 0, 100, 6 * 10**8, False, False), (1, 1, 100, 6 * 10**8, False, False)],
    ],
    [],
)
@settings(max_examples=examples(60), deadline=None)
def test_settling_with_the_moved_senders_answers_as_rechecking_every_row(
    batches: list[list[tuple[int, int, int, int, bool, bool]]], committed_keys: list[int]
) -> None:
    """A pool that remembers what moved, against one that remembers nothing and so re-checks
    every row of a batch settling after another: the same verdicts and details, and the same
    pool, on batches with forged signatures, low fees, used nonces and gaps, spending beyond
    the balance, duplicates, full senders, a full pool and clients' shares."""
    ledger = funded(10**9)
    for key in committed_keys:
        ledger.rows[address(KEYS[key])] = (1, 10**9)
    raws = [
        [tx(KEYS[k], nonce=n, fee=f, amount=a, forge=forged) for k, n, f, a, forged, _ in batch]
        for batch in batches
    ]
    pools = [Pool(CHAIN, txs_max=6, local_txs_max=4), Pool(CHAIN, txs_max=6, local_txs_max=4)]
    pools[1]._moved = deque(maxlen=0)
    answers = []
    for pool in pools:
        screened = [
            pool.screen(batch, ledger, 1, local=any(item[5] for item in spec))
            for batch, spec in zip(raws, batches, strict=True)
        ]
        answers.append([pool.settle(done, done.verifying.result(), ledger, 1) for done in screened])
    assert answers[0] == answers[1]
    hashes = [Transaction.decode(raw).hash() for batch in raws for raw in batch]
    assert [h in pools[0] for h in hashes] == [h in pools[1] for h in hashes]
    assert (pools[0].ready, pools[0].local) == (pools[1].ready, pools[1].local)
    assert pools[0].rechecks <= pools[1].rechecks


def test_a_batch_settling_after_a_commit_inserts_by_the_new_committed_nonce() -> None:
    # Screened while the account's next nonce is 0, its nonce 1 waits behind a gap; a block
    # then takes the account's nonce 0 (from another node's pool), and the batch settles at the
    # next height: the nonce its sender's row starts from is the one committed now, so the
    # transaction is ready, not queued behind a nonce the account has already used.
    pool, ledger = Pool(CHAIN), funded()
    screened = pool.screen([tx(nonce=1)], ledger, 1)
    ledger.rows[address(KEYS[0])] = (1, 10**9)
    pool.remove_committed([Transaction.decode(tx(nonce=0))], ledger, 2)
    [result] = pool.settle(screened, screened.verifying.result(), ledger, 2)
    assert result.admitted and not result.queued
    assert pool.ready == 1 and [t.nonce for t in pool.reap(10, 10**6)] == [1]
