"""A peer's RECEIPTS frame as the notary takes it (node/hosting.py `_peers_receipts`): every
receipt decoded and signed by the peer, the signatures checked in one batch, and the first
reason to blame the peer otherwise; and a receipt's leaf hashed from the encoding it came in."""

from __future__ import annotations

from dataclasses import replace

from metanode.crypto import ed25519
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Receipt
from metanode.node.hosting import _peers_receipt, _peers_receipts
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
    taken = _peers_receipts(Address.from_public_key(PEER.public_key), [r.encode() for r in signed])
    assert taken == signed


def test_one_bad_signature_or_anothers_receipt_blames_the_peer() -> None:
    peer = Address.from_public_key(PEER.public_key)
    signed = receipts(PEER, 20)
    forged = replace(signed[7], signature=bytes(64))
    raws = [receipt.encode() for receipt in signed]
    assert _peers_receipts(peer, [*raws[:7], forged.encode(), *raws[8:]]) == (
        "receipt_signature_invalid"
    )
    assert _peers_receipts(peer, [*raws, receipts(OTHER, 1)[0].encode()]) == (
        "receipt_not_the_senders"
    )
    assert _peers_receipts(peer, [*raws, b"\xa0"]) != signed
    assert _peers_receipt(peer, forged.encode()) == "receipt_signature_invalid"
    assert _peers_receipt(peer, raws[3]) == signed[3]


def test_a_leaf_hashed_from_the_receipts_encoding_is_the_same_leaf() -> None:
    receipt = receipts(PEER, 2)[1]
    assert receipt.leaf(1, 8, 16, receipt.encode()) == receipt.leaf(1, 8, 16)
