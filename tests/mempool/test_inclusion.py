"""Inclusion lists: their wire form and signature, which lists a validator holds, and the rule
it judges a proposal by (mempool/inclusion.py, types/inclusion.py)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519
from metanode.errors import DecodeError, VerificationError
from metanode.mempool import inclusion
from metanode.mempool.inclusion import Lists, Refused
from metanode.mempool.pool import Pool
from metanode.net.frames import Inclusion, decode_frame, encode_frame
from metanode.types import Address, Block, BlockHeader, Transaction
from metanode.types.inclusion import InclusionList
from tests.conftest import examples

from .test_pool import CHAIN, KEYS, address, funded, tx

VALIDATORS = [ed25519.PrivateKey.from_seed(bytes([100 + index]) * 32) for index in range(4)]
MEMBERS = {Address.from_public_key(key.public_key) for key in VALIDATORS}
ZERO = bytes(32)


def listed(
    height: int, hashes: list[bytes], key: ed25519.PrivateKey = VALIDATORS[0]
) -> InclusionList:
    return InclusionList.signed(key, CHAIN, height, hashes)


def block(height: int, txs: list[bytes], proposer: ed25519.PrivateKey = VALIDATORS[1]) -> Block:
    header = BlockHeader(
        CHAIN, height, 0, 1, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO,
        Address.from_public_key(proposer.public_key), bytes(80), ZERO,
    )  # fmt: skip
    return Block(header, tuple(Transaction.decode(raw) for raw in txs))


def test_a_list_round_trips_and_its_signature_is_the_validators() -> None:
    item = listed(7, [bytes([3]) * 32, bytes([1]) * 32, bytes([3]) * 32])
    assert item.tx_hashes == (bytes([1]) * 32, bytes([3]) * 32)  # sorted, once each
    again = InclusionList.decode(item.encode())
    assert again == item
    again.verify()
    assert decode_frame(encode_frame(Inclusion(item.encode()))[4:]) == Inclusion(item.encode())
    forged = dataclasses.replace(item, height=8)
    with pytest.raises(VerificationError):
        forged.verify()


@settings(max_examples=examples(100), deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_to_a_list_or_a_typed_error(data: bytes) -> None:
    try:
        InclusionList.decode(data)
    except DecodeError:
        pass


def test_unordered_hashes_are_refused() -> None:
    item = listed(7, [bytes([1]) * 32, bytes([2]) * 32])
    swapped = dataclasses.replace(item, tx_hashes=tuple(reversed(item.tx_hashes)))
    with pytest.raises(DecodeError, match="ascend"):
        InclusionList.decode(swapped.encode())


def test_which_lists_are_held() -> None:
    lists = Lists(CHAIN)
    lists.hold(listed(10, [ZERO]), MEMBERS, 10)
    cases = [
        (InclusionList.signed(VALIDATORS[1], "other", 10, [ZERO]), "wrong_chain", True),
        (listed(10 - inclusion.obligation_blocks, [ZERO], VALIDATORS[1]), "out_of_window", False),
        (listed(12, [ZERO], VALIDATORS[1]), "out_of_window", False),
        (listed(10, [ZERO], KEYS[0]), "not_a_validator", True),
        (listed(10, [ZERO]), "duplicate", False),
    ]
    for item, reason, blame in cases:
        with pytest.raises(Refused) as refused:
            lists.hold(item, MEMBERS, 10)
        assert (refused.value.reason, refused.value.blame) == (reason, blame)
    assert len(lists) == 1
    assert lists.obligations(10) == {ZERO}
    lists.expire(10 + inclusion.obligation_blocks)
    assert len(lists) == 0 and lists.obligations(10 + inclusion.obligation_blocks) == set()


def test_overdue_lists_ready_transactions_that_waited() -> None:
    pool, ledger = Pool(CHAIN), funded()
    early = pool.admit(tx(KEYS[0], nonce=0), ledger, 1)
    gapped = pool.admit(tx(KEYS[1], nonce=1), ledger, 1)  # waits for nonce 0: not ready
    late = pool.admit(tx(KEYS[2], nonce=0), ledger, 3)
    assert early.admitted and gapped.admitted and late.admitted
    assert pool.overdue(1 + inclusion.wait_blocks, inclusion.wait_blocks, 10) == [early.hash]
    assert pool.overdue(3 + inclusion.wait_blocks, inclusion.wait_blocks, 10) == [
        early.hash,
        late.hash,
    ]
    assert pool.overdue(3 + inclusion.wait_blocks, inclusion.wait_blocks, 1) == [early.hash]
    assert pool.ready_entry(gapped.hash) is None
    assert pool.ready_entry(early.hash) == (address(KEYS[0]), len(tx(KEYS[0], nonce=0)))


def test_a_proposal_that_leaves_out_a_listed_ready_transaction_is_a_violation() -> None:
    pool, ledger = Pool(CHAIN), funded()
    censored, other = tx(KEYS[0]), tx(KEYS[1])
    censored_hash = pool.admit(censored, ledger, 1).hash
    assert censored_hash is not None and pool.admit(other, ledger, 1).admitted
    lists = Lists(CHAIN)
    lists.hold(listed(5, [censored_hash]), MEMBERS, 5)

    def judge(txs: list[bytes], txs_max: int = 100) -> inclusion.Violation | None:
        return lists.judge(block(5, txs), pool.ready_entry, txs_max, 10**6)

    violation = judge([other])
    assert violation is not None and violation.omitted == (censored_hash,)
    assert lists.omissions == {address(VALIDATORS[1]): 1}
    assert judge([other, censored]) is None  # included
    assert judge([other], txs_max=1) is None  # the block is full
    assert judge([tx(KEYS[0], fee=200)]) is None  # its sender's replacement is in
    assert lists.judge(block(5, [other]), pool.ready_entry, 100, 10) is None  # no room


def test_a_list_binds_only_its_window() -> None:
    pool, ledger = Pool(CHAIN), funded()
    censored_hash = pool.admit(tx(KEYS[0]), ledger, 1).hash
    assert censored_hash is not None
    lists = Lists(CHAIN)
    lists.hold(listed(5, [censored_hash]), MEMBERS, 5)
    assert lists.judge(block(4, []), pool.ready_entry, 100, 10**6) is None  # before the list
    late = 5 + inclusion.obligation_blocks
    assert lists.judge(block(late, []), pool.ready_entry, 100, 10**6) is None  # timed out
    assert lists.judge(block(late - 1, []), pool.ready_entry, 100, 10**6) is not None


def test_the_window_is_the_governance_parameter_and_lists_naming_a_transaction_are_found() -> None:
    lists = Lists(CHAIN, window=2)
    first, second = listed(10, [ZERO]), listed(10, [ZERO, bytes([1]) * 32], VALIDATORS[1])
    lists.hold(first, MEMBERS, 10)
    lists.hold(second, MEMBERS, 10)
    lists.hold(listed(9, [ZERO], VALIDATORS[2]), MEMBERS, 10)
    with pytest.raises(Refused, match="out_of_window"):
        lists.hold(listed(8, [ZERO], VALIDATORS[3]), MEMBERS, 10)  # kept under the default
    assert lists.naming(10, ZERO) == sorted([first, second], key=lambda item: item.validator)
    assert lists.naming(10, bytes([1]) * 32) == [second]
    assert lists.naming(11, ZERO) == []
    lists.expire(11)
    assert lists.naming(9, ZERO) == [] and len(lists) == 2


def test_a_committed_listed_transaction_binds_no_one() -> None:
    lists = Lists(CHAIN, window=2)
    one, two = ZERO, bytes([1]) * 32
    lists.hold(listed(10, [one, two]), MEMBERS, 10)
    lists.hold(listed(10, [two], VALIDATORS[1]), MEMBERS, 10)
    lists.settle(10, [one, bytes([9]) * 32])  # what no list names is not remembered
    assert lists.obligations(11) == {two}
    assert lists.naming(10, one) != []  # evidence still finds the lists
    lists.expire(12)
    assert lists.obligations(11) == set() and len(lists) == 0


def test_only_lists_held_and_transactions_ready_before_a_rounds_cutoff_bind_its_proposal() -> None:
    pool, ledger = Pool(CHAIN), funded()
    early, other = tx(KEYS[0]), tx(KEYS[1])
    early_hash, other_hash = pool.admit(early, ledger, 1).hash, pool.admit(other, ledger, 1).hash
    assert early_hash is not None and other_hash is not None
    lists = Lists(CHAIN)
    lists.hold(listed(5, [early_hash]), MEMBERS, 5)
    pool_mark, lists_mark = pool.mark(), lists.mark()
    # After the cutoff: a list naming `other`, and the transaction that makes a later one ready.
    lists.hold(listed(5, [other_hash], VALIDATORS[2]), MEMBERS, 5)
    queued = pool.admit(tx(KEYS[2], nonce=1), ledger, 1).hash
    gap = pool.admit(tx(KEYS[2], nonce=0), ledger, 1).hash
    assert queued is not None and gap is not None
    lists.hold(listed(5, [queued], VALIDATORS[3]), MEMBERS, 5)

    def judge(before: int | None, ready_before: int | None) -> inclusion.Violation | None:
        def ready(tx_hash: bytes) -> tuple[Address, int] | None:
            return pool.ready_entry(tx_hash, ready_before)

        return lists.judge(block(5, []), ready, 100, 10**6, before)

    now = judge(None, None)
    assert now is not None and set(now.omitted) == {early_hash, other_hash, queued}
    at_cutoff = judge(lists_mark, pool_mark)
    assert at_cutoff is not None and at_cutoff.omitted == (early_hash,)
    assert pool.ready_entry(queued) is not None and pool.ready_entry(queued, pool_mark) is None
    assert pool.ready_entry(gap, pool_mark) is None  # admitted after the cutoff
