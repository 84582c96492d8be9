"""The compiled core's pool index (`metanode._core.PoolIndex`) against the reference
(`metanode.mempool.index.Index`): the same random runs of insertions (replacing, evicting,
refused), removals, new committed nonces, reaps, expiries and rebuilds give the same answers
and leave the same index, everything the pool reads of it compared after every step."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode import _core
from metanode.errors import InvariantViolation
from metanode.mempool.index import Index
from tests.conftest import examples

SENDERS = [bytes([index]) * 20 for index in range(3)]
NONCES = range(8)
DENOMS = (1, 3)
EDGE = 2**64 - 1  # the largest nonce a transaction carries

inserts = st.tuples(
    st.just("insert"),
    st.integers(0, 2),  # sender
    st.one_of(st.integers(0, 3), st.integers(0, 3), st.just(EDGE)),
    st.integers(1, 12),  # fee: 11 and 12 replace 10; up to 4 evicts the lowest
    st.integers(0, 6),  # expiry
    st.integers(1, 3),  # size
    st.lists(st.tuples(st.sampled_from(DENOMS), st.integers(0, 2**64 - 1)), max_size=2),
    st.sampled_from([0, 0, 1, EDGE]),  # the sender's committed nonce, if new to the index
    st.booleans(),  # the clients' share taken
    st.sampled_from([1, 3, 6, 99, 99, 99]),  # txs_max
    st.sampled_from([4, 9, 2**64 - 1, 2**64 - 1]),  # bytes_max
    st.integers(0, 9).map(lambda draw: draw == 0),  # a hash pending already
)
steps = st.lists(
    st.one_of(
        inserts,
        inserts,
        st.tuples(st.just("remove_many"), st.lists(st.integers(0, 40), max_size=4)),
        st.tuples(st.just("lowest")),
        st.tuples(
            st.just("drop_below"), st.integers(0, 2), st.one_of(st.integers(0, 9), st.just(EDGE))
        ),
        st.tuples(st.just("expire"), st.integers(0, 7)),
        st.tuples(st.just("compact"), st.integers(0, 4)),
    ),
    min_size=20,
    max_size=60,
)


def step(index: Any, hashes: list[bytes], action: tuple[Any, ...]) -> Any:
    """Apply `action`; what it answers (a refusal is the error's type and message)."""
    name, *args = action
    if name == "insert":
        sender, nonce, fee, expiry, size, costs, committed, share, txs_max, bytes_max, again = args
        tx_hash = hashes[-1] if again and hashes else bytes([len(hashes)]) * 32
        try:
            answer = index.insert(
                ("entry", len(hashes)), tx_hash, SENDERS[sender], nonce, fee, expiry, size,
                len(hashes), costs, committed, share, txs_max, bytes_max, 10,
            )  # fmt: skip
        except InvariantViolation as refused:
            return ("refused", str(refused))
        hashes.append(tx_hash)
        return answer
    if name == "remove_many":  # some twice, and one never pending
        return index.remove_many([hashes[at % len(hashes)] for at in args[0] if hashes] + [b""])
    if name == "drop_below":
        return index.drop_below(SENDERS[args[0]], args[1])
    return getattr(index, name)(*args)


def seen(index: Any, hashes: list[bytes]) -> dict[str, Any]:
    """Everything the pool reads of `index`."""
    rows = {}
    for sender in SENDERS:
        nonces = [*NONCES, EDGE - 1, EDGE]
        rows[sender] = (
            index.count(sender),
            [index.next_nonce(sender, nonce) for nonce in (0, 1, 3, EDGE)],
            [index.spent(sender, denom) for denom in (1, 2, 3)],
            [index.at(sender, nonce) for nonce in nonces],
            [index.run_to(sender, nonce) for nonce in nonces],
        )
    return {
        "len": len(index),
        "ready": index.ready,
        "bytes": index.bytes,
        "heaps": index.heaps(),
        "held": [(h in index, index.get(h), index.missing_for(h)) for h in hashes],
        "rows": rows,
        "ready_entries": index.ready_entries(),
        "reaps": [index.reap(txs_max, bytes_max) for txs_max, bytes_max in [(99, 99), (3, 5)]],
    }


@given(steps)
@settings(max_examples=examples(300), deadline=None)
def test_the_core_index_answers_as_the_reference(actions: list[tuple[Any, ...]]) -> None:
    indexes: list[Any] = [Index(), _core.PoolIndex()]
    hashes: list[list[bytes]] = [[], []]
    for action in actions:
        answers = [step(index, held, action) for index, held in zip(indexes, hashes, strict=True)]
        assert answers[0] == answers[1], action
        assert seen(indexes[0], hashes[0]) == seen(indexes[1], hashes[1]), action


@pytest.mark.parametrize("index", [Index(), _core.PoolIndex()], ids=["python", "rust"])
def test_a_hash_pending_already_is_refused_and_changes_nothing(index: Any) -> None:
    first = ("first", b"a" * 32, SENDERS[0], 0, 5, 9, 100, 0, [(3, 5)], 0, False, 99, 10**6, 10)
    assert index.insert(*first) == (0, None, [("first", True)])
    again = ("again", b"a" * 32, SENDERS[0], 0, 7, 9, 100, 1, [(3, 7)], 0, False, 99, 10**6, 10)
    with pytest.raises(InvariantViolation, match="this hash is pending already"):
        index.insert(*again)  # would replace the first, by its fee
    assert (len(index), index.ready, index.spent(SENDERS[0], 3)) == (1, 1, 5)
    assert index.reap(10, 1_000) == ["first"]
