"""The pool on the compiled core's index against the pool on the reference index
(`METANODE_CORE`): random batches mixing good, duplicate, malformed, wrong-chain, expired,
low-fee, used-nonce, gapped, unfunded, forged, replacing and pool-filling transactions, from
clients and from peers, settled in order or after one another, interleaved with commits; the
same verdicts (reason, detail, queued, next nonce) and the same pool after every step, as
far as the node reads it."""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from metanode import core
from metanode.mempool.pool import Admission, Pool
from tests.conftest import examples
from tests.mempool.test_pool import CHAIN, KEYS, Accounts, address, funded, tx

SENDERS = KEYS[:4]

items = st.tuples(
    st.integers(0, 3),  # sender
    st.sampled_from([0, 0, 1, 1, 2, 3, 70]),  # nonce: 70 is past the gap the pool holds
    st.sampled_from([100, 100, 100, 111, 200, 5]),  # fee: 111 replaces 100, 5 is below the floor
    st.sampled_from([1, 1, 1, 6 * 10**8]),  # amount: twice the large one overspends
    st.sampled_from(["good", "good", "good", "good", "forged", "other_chain", "expired", "bytes"]),
)
batches = st.lists(items, min_size=1, max_size=8)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("admit"), batches, st.booleans()),
        st.tuples(st.just("interleaved"), batches, batches),
        st.tuples(st.just("commit"), st.integers(0, 5), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=8,
)


def raw(item: tuple[int, int, int, int, str]) -> bytes:
    sender, nonce, fee, amount, kind = item
    if kind == "bytes":
        return bytes([0x81, sender])
    return tx(
        SENDERS[sender],
        nonce=nonce,
        fee=fee,
        amount=amount,
        forge=kind == "forged",
        chain="other" if kind == "other_chain" else CHAIN,
        expiry=0 if kind == "expired" else 1_000,
    )


def step(pool: Pool, ledger: Accounts, height: list[int], action: tuple[Any, ...]) -> Any:
    """Apply `action` to `pool`; its verdicts, or the block a commit took."""
    name, *args = action
    if name == "admit":
        batch, local = args
        return pool.admit_batch([raw(item) for item in batch], ledger, height[0], local=local)
    if name == "interleaved":  # the second batch screened after the first, settled before it
        first, second = (
            pool.screen([raw(item) for item in batch], ledger, height[0]) for batch in args
        )
        return [
            pool.settle(screened, screened.verifying.result(), ledger, height[0])
            for screened in (second, first)
        ]
    txs_max, heights = args
    block = pool.reap(txs_max, 10**6)
    for included in block:
        _, balance = ledger.account(included.sender_address)
        spent = included.fee + included.message.amount  # type: ignore[union-attr]
        ledger.rows[included.sender_address] = (included.nonce + 1, balance - spent)
    height[0] += heights
    pool.remove_committed(block, ledger, height[0])
    return [included.hash() for included in block]


def seen(pool: Pool, hashes: list[bytes], mark: int) -> dict[str, Any]:
    """What the node reads of the pool."""
    senders = [address(key) for key in SENDERS]
    return {
        "sizes": (len(pool), pool.ready, pool.local, pool.bytes, pool._index.heaps()),
        "reap": [item.hash() for item in pool.reap(100, 10**6)],
        "small_reap": [item.hash() for item in pool.reap(2, 400)],
        "held": [
            (h in pool, pool.waiting_for(h), pool.ready_entry(h), pool.ready_entry(h, mark))
            for h in hashes
        ],
        "next_nonce": [pool.next_nonce(sender, 0) for sender in senders],
        "overdue": pool.overdue(5, 1, 3),
    }


def answer(result: Admission) -> tuple[Any, ...]:
    return (result.hash, result.reason, result.detail, result.queued, result.next_nonce)


def pools() -> list[Pool]:
    made = []
    for choice in ("python", "rust"):
        with mock.patch.dict(os.environ, {core.ENVIRONMENT: choice}):
            made.append(Pool(CHAIN, txs_max=6, local_txs_max=4, nonce_gap_max=4))
    return made


@given(actions)
@settings(max_examples=examples(80), deadline=None)
def test_the_pool_on_the_core_index_answers_as_on_the_reference(
    run: list[tuple[Any, ...]],
) -> None:
    reference, compiled = pools()
    ledgers = [funded(10**9), funded(10**9)]
    heights = [[1], [1]]
    hashes: list[bytes] = []
    marks = [0, 0]  # taken after the first step: what was admitted then, and what after
    for number, action in enumerate(run):
        outcomes = [
            step(pool, ledger, height, action)
            for pool, ledger, height in zip((reference, compiled), ledgers, heights, strict=True)
        ]
        if action[0] == "admit":
            outcomes = [[answer(result) for result in outcome] for outcome in outcomes]
            hashes += [h for h, *_ in outcomes[0] if h is not None]
        elif action[0] == "interleaved":
            outcomes = [[[answer(r) for r in part] for part in outcome] for outcome in outcomes]
        assert outcomes[0] == outcomes[1], action
        if number == 0:
            marks = [reference.mark(), compiled.mark()]
        assert seen(reference, hashes, marks[0]) == seen(compiled, hashes, marks[1]), action


def test_both_pools_are_on_the_index_their_choice_names() -> None:
    reference, compiled = pools()
    assert type(reference._index).__module__ == "metanode.mempool.index"
    assert type(compiled._index).__module__ == "metanode._core"
