"""A block's transaction and receipt roots from the compiled core (`_core.merkle_root`,
`_core.merkle_root_from_leaf_hashes`, `_core.receipts_root`) against the reference,
`metanode.crypto.merkle`, on random leaves and receipts (the RFC 6962 vectors hold the
reference, tests/vectors/test_merkle_rfc6962.py, and the core, rust/tests/vectors.rs)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.core import native
from metanode.crypto import merkle
from metanode.errors import InvariantViolation
from metanode.state.machine import receipts_root, txs_root
from metanode.types import Event, Receipt
from tests.conftest import examples

HASHES = st.lists(st.binary(min_size=32, max_size=32), max_size=40)


@given(st.lists(st.binary(max_size=40), max_size=40), HASHES)
@settings(max_examples=examples(200), deadline=None)
def test_the_core_gives_the_reference_roots(leaves: list[bytes], hashes: list[bytes]) -> None:
    core = native()
    assert core is not None
    assert core.merkle_root(leaves) == merkle.root(leaves)
    assert core.merkle_root_from_leaf_hashes(hashes) == merkle.root_from_leaf_hashes(hashes)


@given(HASHES, st.lists(st.tuples(st.integers(0, 300), st.integers(0, 2**64 - 1)), max_size=20))
@settings(max_examples=examples(50), deadline=None)
def test_a_blocks_roots_do_not_depend_on_the_core(
    hashes: list[bytes], outcomes: list[tuple[int, int]]
) -> None:
    receipts = [
        Receipt(bytes([index]) * 32, code, fee) for index, (code, fee) in enumerate(outcomes)
    ]
    compiled = txs_root(hashes), receipts_root(receipts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", "python")
        assert (txs_root(hashes), receipts_root(receipts)) == compiled


EVENTS = st.lists(
    st.builds(
        Event,
        st.text(max_size=30),
        st.lists(st.tuples(st.text(max_size=10), st.binary(max_size=40)), max_size=3).map(tuple),
    ),
    max_size=3,
).map(tuple)
RECEIPTS = st.lists(
    st.builds(
        Receipt,
        st.binary(min_size=32, max_size=32),
        st.integers(0, 2**64 - 1),
        st.integers(0, 2**64 - 1),
        EVENTS,
    ),
    max_size=12,
)


@given(RECEIPTS)
@settings(max_examples=examples(200), deadline=None)
def test_the_core_encodes_receipts_as_the_reference(receipts: list[Receipt]) -> None:
    """The core writes each receipt's CBOR itself (`_core.receipts_root`): its root is the
    reference's over `Receipt.encode()`, with and without events, at every integer width."""
    expected = merkle.root([receipt.encode() for receipt in receipts])
    core = native()
    assert core is not None
    # The receipts cross as they are; only a receipt with events has them encoded, by the
    # function handed (the general encoder here), once.
    asked: list[tuple[Event, ...]] = []

    def encode_events(events: tuple[Event, ...]) -> bytes:
        asked.append(events)
        return encode([event.to_wire() for event in events])

    assert core.receipts_root(receipts, encode_events) == expected
    assert asked == [receipt.events for receipt in receipts if receipt.events]
    assert receipts_root(receipts) == expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", "python")
        assert receipts_root(receipts) == expected


def test_a_receipts_events_that_do_not_encode_to_bytes_are_refused() -> None:
    core = native()
    assert core is not None
    receipt = Receipt(bytes(32), 0, 1, (Event("transfer", ()),))
    with pytest.raises(TypeError):
        core.receipts_root([receipt], lambda events: "not bytes")
    with pytest.raises(ZeroDivisionError):
        core.receipts_root([receipt], lambda events: 1 // 0)


def test_a_leaf_hash_of_another_length_is_an_invariant_violation() -> None:
    core = native()
    assert core is not None
    with pytest.raises(InvariantViolation, match="a leaf hash of 31 bytes"):
        core.merkle_root_from_leaf_hashes([bytes(32), bytes(31)])
