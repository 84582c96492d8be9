"""A peer's RECEIPTS frame as the notary takes it (node/hosting.py `on_receipts`): every
receipt decoded and the peer's own, the signatures of those it would keep (`unheld`: not held
already, of calls not notarised) checked in one batch, and the first reason to blame the peer
otherwise; and a receipt's leaf hashed from the encoding it came in."""

from __future__ import annotations

from dataclasses import replace

from metanode.crypto import ed25519
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Receipt
from metanode.net.frames import ReceiptItem
from metanode.node.hosting import (
    Held,
    _decoded_receipts,
    _peers_receipt,
    _signed,
    first_waiting,
    forget_silent,
    receipts_ask_interval_s,
    to_compare,
    unheld,
)
from metanode.state.apps.records import CallRecord, CallStatus
from metanode.types import Address
from tests.docklock.test_docklock import COUNTER

PEER = ed25519.PrivateKey.from_seed(bytes([1]) * 32)
OTHER = ed25519.PrivateKey.from_seed(bytes([2]) * 32)


def receipts(key: ed25519.PrivateKey, count: int) -> list[Receipt]:
    """A chain of counter receipts signed by `key`."""
    state: dict[bytes, bytes] = {}
    previous = bytes(32)
    found = []
    for index in range(count):
        bundle, state = execute(
            COUNTER,
            "increment",
            b"",
            state,
            key,
            block_time=index,
            seed=bytes(32),
            previous=previous,
        )
        found.append(bundle.receipt)
        previous = bundle.receipt.hash()
    return found


def test_a_frame_of_the_peers_receipts_is_taken_in_order() -> None:
    signed = receipts(PEER, 20)
    raws = [r.encode() for r in signed]
    taken = _decoded_receipts(Address.from_public_key(PEER.public_key), raws)
    assert taken == signed
    assert _signed(list(zip(raws, signed, strict=True)))


def test_one_bad_signature_or_anothers_receipt_blames_the_peer() -> None:
    peer = Address.from_public_key(PEER.public_key)
    signed = receipts(PEER, 20)
    forged = replace(signed[7], signature=bytes(64))
    raws = [receipt.encode() for receipt in signed]
    assert not _signed([*zip(raws, signed, strict=True), (forged.encode(), forged)])
    assert _decoded_receipts(peer, [*raws, receipts(OTHER, 1)[0].encode()]) == (
        "receipt_not_the_senders"
    )
    assert _decoded_receipts(peer, [*raws, b"\xa0"]) != signed
    assert _peers_receipt(peer, forged.encode()) == "receipt_signature_invalid"
    assert _peers_receipt(peer, raws[3]) == signed[3]


def test_only_receipts_not_held_and_not_notarised_are_left_to_check() -> None:
    """A want's answer repeats the receipts held already, and late ones are of calls
    notarised since: neither is checked again, nor kept."""
    app = bytes(32)
    signed = receipts(PEER, 6)
    received = [
        (ReceiptItem(app, seq, receipt.encode(), 8, 16), receipt)
        for seq, receipt in enumerate(signed)
    ]
    other = receipts(OTHER, 4)[3]
    held = {
        app: {
            3: {PEER.public_key: Held(signed[3], signed[3].leaf(3, 8, 16))},
            4: {OTHER.public_key: Held(other, other.leaf(4, 8, 16))},
        }
    }
    left = unheld(received, held, lambda app_id: 2)
    assert [item.seq for item, _receipt in left] == [2, 4, 5]
    assert unheld(received, {}, lambda app_id: 0) == received


def test_a_leaf_hashed_from_the_receipts_encoding_is_the_same_leaf() -> None:
    receipt = receipts(PEER, 2)[1]
    assert receipt.leaf(1, 8, 16, receipt.encode()) == receipt.leaf(1, 8, 16)


def test_a_range_waits_from_its_first_call_a_drawn_replica_has_not_answered() -> None:
    """What a notary asks the replicas again for starts there (`Hosting._ask_receipts`): the
    calls before it are answered, and each replica answers with all it holds from it on."""
    mine, other = receipts(PEER, 4), receipts(OTHER, 4)
    drawn = (Address.from_public_key(PEER.public_key), Address.from_public_key(OTHER.public_key))
    calls = [
        (seq, CallRecord(drawn[0], 1, "increment", b"", 10, 1, 5, CallStatus.ESCROWED, 0, 0, b""))
        for seq in range(4)
    ]

    def held_of(pairs: dict[int, list[Receipt]]) -> dict[int, dict[bytes, Held]]:
        return {
            seq: {r.executor: Held(r, r.leaf(seq, 8, 16)) for r in answered}
            for seq, answered in pairs.items()
        }

    both = {0: [mine[0], other[0]], 1: [mine[1], other[1]]}
    one = held_of({**both, 2: [mine[2]], 3: []})
    assert first_waiting(calls, one, lambda call: drawn, silent_past=False) == 2
    # Past the wait for silent replicas a call with one receipt goes; one with none never.
    assert first_waiting(calls, one, lambda call: drawn, silent_past=True) == 3
    full = held_of({**both, 2: [mine[2], other[2]], 3: [mine[3]]})
    assert first_waiting(calls, full, lambda call: drawn, silent_past=True) is None
    assert first_waiting(calls, full, lambda call: drawn[:1], silent_past=False) is None
    # A replica whose receipts still arrive is slower, not silent: its calls wait for it.
    assert first_waiting(calls, full, lambda call: drawn, True, live={drawn[1]}) == 3
    assert first_waiting(calls, full, lambda call: drawn, True, live={drawn[0]}) is None


def test_the_watch_compares_only_receipts_that_differ_from_this_executors_held_one() -> None:
    """`to_compare`: an agreeing receipt is settled by the leaves' result hashes, with no read
    of this executor's store; without its own receipt held the court reads its store for all."""
    mine, theirs = receipts(PEER, 1)[0], receipts(OTHER, 1)[0]
    lying = replace(theirs, output_hash=bytes(32))

    def answers(*found: Receipt) -> dict[bytes, Held]:
        return {receipt.executor: Held(receipt, receipt.leaf(0, 8, 16)) for receipt in found}

    assert to_compare(answers(mine, theirs), PEER.public_key) == []
    assert to_compare(answers(mine, lying), PEER.public_key) == [lying]
    assert to_compare(answers(theirs), PEER.public_key) == [theirs]
    assert to_compare(answers(mine, lying), OTHER.public_key) == [mine]


def test_executors_not_heard_within_the_ask_interval_are_forgotten() -> None:
    """`forget_silent` bounds `Hosting._heard` by the executors heard lately: only they count
    as live, and it grew with every replica ever heard (apps too once all theirs are gone)."""
    now = 1_000.0
    recent, stale = now - receipts_ask_interval_s / 2, now - receipts_ask_interval_s
    app, gone = bytes([1]) * 32, bytes([2]) * 32
    heard = {
        app: {PEER.public_key: recent, OTHER.public_key: stale},
        gone: {PEER.public_key: stale - 60.0},
    }
    forget_silent(heard, now)
    assert heard == {app: {PEER.public_key: recent}}
    forget_silent(heard, now + receipts_ask_interval_s)
    assert heard == {}
