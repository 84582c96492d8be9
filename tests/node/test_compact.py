"""Compact proposals (node/compact.py): the wire form round-trips, and a receiver rebuilds the
proposer's block byte for byte from what it holds and what it is sent, or refuses it."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import decode as cbor_decode
from metanode.codec import encode, tags
from metanode.consensus.messages import (
    CompactProposal,
    ProposalMessage,
    compact_of,
    decode_message,
    encode_message,
)
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.node import compact
from metanode.state.machine import txs_root
from metanode.types import Denom, Transaction, Transfer
from tests.conftest import examples
from tests.consensus.harness import Committee
from tests.state.support import Wallet

COMMITTEE = Committee()
PROPOSER = COMMITTEE.proposer(0)
RECIPIENT = Wallet.of(9).address
TXS = [
    Wallet.of(index % 5).tx(index // 5, Transfer(RECIPIENT, 1, Denom.NEX)) for index in range(12)
]
FOREIGN = Wallet.of(7).tx(0, Transfer(RECIPIENT, 2, Denom.NEX))


def proposal_of(txs: list[Transaction]) -> ProposalMessage:
    """A proposal whose header commits to `txs` (the rest of the header is beside the point)."""
    block = COMMITTEE.block(PROPOSER)
    header = dataclasses.replace(block.header, txs_root=txs_root([tx.hash() for tx in txs]))
    return COMMITTEE.proposal(PROPOSER, dataclasses.replace(block, header=header, txs=tuple(txs)))


def held_in(txs: list[Transaction]) -> compact.Lookup:
    by_hash = {tx.hash(): tx for tx in txs}
    return by_hash.get


def nothing(_tx_hash: bytes) -> None:
    return None


def gossiped(txs: list[Transaction]) -> compact.RecentTxs:
    """Recent gossip holding `txs`, decoded from their bytes as a node decodes a TXS frame."""
    recent = compact.RecentTxs()
    recent.add(Transaction.decode_many([tx.encode() for tx in txs]))
    return recent


def offer(rebuild: compact.Rebuild, raws: list[bytes]) -> int:
    """Offer an answer's raw transactions as the node does, with their decoding."""
    return rebuild.offer(raws, Transaction.decode_many(raws))


def test_the_compact_form_round_trips_and_is_a_fraction_of_the_full_one() -> None:
    proposal = proposal_of(TXS)
    wire = encode_message(compact_of(proposal))
    decoded = decode_message(wire)
    assert isinstance(decoded, CompactProposal)
    assert decoded == compact_of(proposal)
    assert decoded.tx_hashes == tuple(tx.hash() for tx in TXS)
    # The full form still decodes as before (a node sends compact, but accepts both).
    assert decode_message(encode_message(proposal)) == proposal
    assert len(wire) < len(encode_message(proposal)) * 0.6


def test_a_receiver_holding_every_transaction_rebuilds_the_block_byte_for_byte() -> None:
    proposal = proposal_of(TXS)
    recent = gossiped(TXS[6:])
    rebuild = compact.start(compact_of(proposal), held_in(TXS[:6]), recent.get)
    assert isinstance(rebuild, compact.Rebuild)
    assert rebuild.complete
    rebuilt = rebuild.proposal()
    assert rebuilt == proposal
    assert rebuilt.block.encode() == proposal.block.encode()
    assert rebuilt.block.hash() == proposal.signed.digest


def test_a_rebuilt_block_holds_the_transactions_gossip_decoded_not_decodings_of_its_own() -> None:
    """A gossiped transaction is decoded once, as it arrives: the block rebuilt from recent
    gossip and from an answer holds those very objects (kept raw, each was decoded again)."""
    proposal = proposal_of(TXS)
    recent = gossiped(TXS[:6])
    rebuild = compact.start(compact_of(proposal), nothing, recent.get)
    assert isinstance(rebuild, compact.Rebuild)
    answer = [tx.encode() for tx in TXS[6:]]
    decoded = Transaction.decode_many(answer)
    assert rebuild.offer(answer, decoded) == 6
    block = rebuild.proposal().block
    assert block.encode() == proposal.block.encode()
    assert all(tx is recent.get(tx.hash()) for tx in block.txs[:6])
    assert all(tx is answered for tx, answered in zip(block.txs[6:], decoded, strict=True))
    # Gossip that does not decode is not kept: a proposal naming it has to ask for it.
    garbage = compact.RecentTxs()
    garbage.add(Transaction.decode_many([b"\x01not a transaction"]))
    assert len(garbage) == 0


def test_what_a_receiver_lacks_it_asks_by_place_and_only_matching_answers_fill_it() -> None:
    proposal = proposal_of(TXS)
    rebuild = compact.start(compact_of(proposal), held_in(TXS[::2]), nothing)
    assert isinstance(rebuild, compact.Rebuild)
    assert not rebuild.complete
    assert rebuild.lacking_indexes() == tuple(range(1, 12, 2))
    # A foreign transaction and a forgery of a lacking one (same fields, another signature)
    # fill nothing: an answer is matched by hash, never trusted by place.
    forged = dataclasses.replace(TXS[1], signature=bytes(64), encoded=b"")
    assert offer(rebuild, [FOREIGN.encode(), forged.encode()]) == 0
    assert offer(rebuild, [tx.encode() for tx in TXS[1:6:2]]) == 3
    assert rebuild.lacking_indexes() == (7, 9, 11)
    assert offer(rebuild, [tx.encode() for tx in reversed(TXS)]) == 3
    assert rebuild.complete
    assert rebuild.fetched == 6
    assert rebuild.proposal().block.encode() == proposal.block.encode()


def test_a_hash_that_matches_nothing_leaves_the_rebuild_incomplete_and_no_proposal_pending() -> (
    None
):
    """The proposer names a transaction no one has: no answer can complete the rebuild, so the
    engine is never handed the proposal (it sends no PREPARE and its round times out); the
    node gives the rebuild up as `txs_unavailable` after `asks_max` asks."""
    unknown = FOREIGN.hash()
    message = compact_of(proposal_of(TXS))
    header = dataclasses.replace(
        message.header, txs_root=txs_root([*message.tx_hashes[:-1], unknown])
    )
    signed = COMMITTEE.signed(PROPOSER, message.signed.kind, 0, header.hash())
    named = dataclasses.replace(
        message, signed=signed, header=header, tx_hashes=(*message.tx_hashes[:-1], unknown)
    )
    rebuild = compact.start(named, held_in(TXS), nothing)
    assert isinstance(rebuild, compact.Rebuild)
    assert rebuild.lacking_indexes() == (11,)
    pending = compact.Pending()
    pending.add(rebuild)
    answer = [tx.encode() for tx in TXS]
    assert pending.answer(1, 0, answer, Transaction.decode_many(answer)) == []
    assert pending.get(rebuild.key) is rebuild and not rebuild.complete
    assert compact.asks_max * compact.fetch_wait_ms < COMMITTEE.config.round_timeout_base_ms


def test_hashes_that_do_not_make_the_header_txs_root_are_refused_before_anything_is_asked() -> None:
    message = compact_of(proposal_of(TXS))
    swapped = dataclasses.replace(message, tx_hashes=message.tx_hashes[::-1])
    assert compact.start(swapped, held_in(TXS), nothing) is compact.Refused.TXS_ROOT_MISMATCH
    dropped = dataclasses.replace(message, tx_hashes=message.tx_hashes[:-1])
    assert compact.start(dropped, held_in(TXS), nothing) is compact.Refused.TXS_ROOT_MISMATCH
    other_header = dataclasses.replace(
        message, header=dataclasses.replace(message.header, timestamp_ms=99)
    )
    assert compact.start(other_header, held_in(TXS), nothing) is compact.Refused.DIGEST_MISMATCH


def test_a_named_transaction_that_does_not_decode_makes_the_rebuild_malformed() -> None:
    garbage = b"\x01not a transaction"
    message = compact_of(proposal_of(TXS))
    hashes = (*message.tx_hashes, tagged_hash(tags.TX, garbage))
    header = dataclasses.replace(message.header, txs_root=txs_root(hashes))
    signed = COMMITTEE.signed(PROPOSER, message.signed.kind, 0, header.hash())
    named = dataclasses.replace(message, signed=signed, header=header, tx_hashes=hashes)
    rebuild = compact.start(named, held_in(TXS), nothing)
    assert isinstance(rebuild, compact.Rebuild)
    assert offer(rebuild, [garbage]) == 1
    with pytest.raises(DecodeError):
        rebuild.proposal()


def test_pending_rebuilds_are_bounded_and_stale_rounds_forgotten() -> None:
    pending = compact.Pending(size_max=2)
    rebuilds = []
    for round_ in range(3):
        proposal = proposal_of(TXS[:2])
        signed = COMMITTEE.signed(PROPOSER, proposal.signed.kind, round_, proposal.signed.digest)
        started = compact.start(
            dataclasses.replace(compact_of(proposal), signed=signed), nothing, nothing
        )
        assert isinstance(started, compact.Rebuild)
        pending.add(started)
        rebuilds.append(started)
    assert len(pending) == 2 and pending.get(rebuilds[0].key) is None
    pending.forget_before(1, 2)
    assert len(pending) == 1 and pending.get(rebuilds[2].key) is rebuilds[2]
    recent = compact.RecentTxs(size_max=3)
    recent.add(TXS[:5])
    assert len(recent) == 3 and recent.get(TXS[0].hash()) is None
    assert recent.get(TXS[4].hash()) is TXS[4]


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(st.sampled_from(["pool", "recent", "lacking"]), min_size=12, max_size=12),
    st.permutations(range(12)),
    st.integers(0, 12),
)
def test_any_split_of_what_is_held_and_any_order_of_answers_rebuilds_the_same_block(
    where: list[str], order: list[int], count: int
) -> None:
    txs = TXS[:count]
    proposal = proposal_of(txs)
    recent = gossiped([tx for tx, place in zip(txs, where, strict=False) if place == "recent"])
    pool = [tx for tx, place in zip(txs, where, strict=False) if place == "pool"]
    rebuild = compact.start(compact_of(proposal), held_in(pool), recent.get)
    assert isinstance(rebuild, compact.Rebuild)
    lacking = {index for index, place in enumerate(where[:count]) if place == "lacking"}
    assert set(rebuild.lacking_indexes()) == lacking
    for index in order:
        offer(rebuild, [FOREIGN.encode()])
        if index in lacking:
            offer(rebuild, [txs[index].encode()])
    assert rebuild.complete
    assert rebuild.proposal().block.encode() == proposal.block.encode()


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_a_mutated_compact_proposal_decodes_or_raises_only_a_decode_error(
    data: st.DataObject,
) -> None:
    """A peer's bytes: a flipped, cut or extended compact envelope is refused with a typed
    error, or decodes to something `start` then checks (never an exception of another kind)."""
    wire = bytearray(encode_message(compact_of(proposal_of(TXS[:3]))))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(wire) - 1))
        wire[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    body = bytes(wire[:cut]) + data.draw(st.binary(max_size=8))
    try:
        decoded = decode_message(body)
    except DecodeError:
        return
    if isinstance(decoded, CompactProposal):
        started = compact.start(decoded, held_in(TXS), nothing)
        assert isinstance(started, compact.Rebuild | compact.Refused)


@pytest.mark.parametrize(("bad", "rule"), [(bytes(31), "wrong_length"), (7, "wrong_type")])
def test_a_compact_proposal_with_a_hash_of_the_wrong_shape_names_it(bad: object, rule: str) -> None:
    good = compact_of(proposal_of(TXS[:2]))
    value = list(cbor_decode(encode_message(good)))
    block = list(value[2])
    block[1] = [good.tx_hashes[0], bad]
    value[2] = block
    with pytest.raises(DecodeError, match=r"proposal\.tx_hashes\[1\]") as error:
        decode_message(encode(value))
    assert error.value.rule == rule
