"""node/blobs.Keeper's plan, from a chain where real transactions placed and moved shares and a
real LMDB chunk store: what it rebuilds, whom it challenges and when (grace after a placement
and after a move; never itself); what it drops once a blob is deleted."""

from __future__ import annotations

from pathlib import Path

from metanode.crypto.hashing import blake3_hash
from metanode.node.blobs import Keeper
from metanode.node.chunks import ChunkStore
from metanode.state.codes import OK
from metanode.state.storage import queries
from metanode.storage import coding
from metanode.types import DeleteBlob, ReportStorageFault
from tests.state.support import Wallet, validator_wallet
from tests.state.test_storage import CHUNK, VALIDATORS, Sender, place_message, storage_chain

GRACE = 5


def test_the_plan_rebuilds_what_is_missing_and_challenges_the_others(tmp_path: Path) -> None:
    chain = storage_chain()
    data = blake3_hash(b"kept", length=9_000)
    message = place_message(data)
    assert Sender(chain, Wallet.of(0)).send(message) == OK
    record = queries.placement(chain.state.reader, message.root)
    assert record is not None
    me = record.holders[2]
    store = ChunkStore.open(tmp_path / "blobs")
    keeper = Keeper(me, store, ["http://127.0.0.1:1"], 1, GRACE, lambda _: None, lambda _: None)
    try:
        placed_at = record.height
        assert keeper.plan(chain.state.reader, placed_at + GRACE - 1, bytes(32)).missing == ()
        work = keeper.plan(chain.state.reader, placed_at + GRACE, bytes(32))
        assert [(target.root, share) for target, share in work.missing] == [(message.root, 2)]
        assert work.challenges == ()  # nothing held yet: it challenges from what it holds

        encoded = coding.encode(data, 4, 6, CHUNK)
        store.put_share(
            encoded.layout, encoded.root, encoded.coded_root, 2, encoded.leaves, encoded.share(2)
        )
        work = keeper.plan(chain.state.reader, placed_at + GRACE, blake3_hash(b"block"))
        assert work.missing == ()
        assert sorted(share for _, share, _ in work.challenges) == [0, 1, 3, 4, 5]
        assert all(0 <= stripe < encoded.layout.stripes for _, _, stripe in work.challenges)

        # Share 4 moves (four other holders report it): its new node is not challenged for
        # `grace_blocks` after the move.
        wallets = {validator_wallet(i).address: validator_wallet(i) for i in range(VALIDATORS)}
        for reporter in (0, 1, 3, 5):
            sender = Sender(chain, wallets[record.holders[reporter]])
            assert sender.send(ReportStorageFault(message.root, 4)) == OK
        moved = queries.placement(chain.state.reader, message.root)
        assert moved is not None and moved.holders[4] != record.holders[4]
        moved_at = moved.since[4]
        assert moved_at == chain.state.height
        soon = keeper.plan(chain.state.reader, moved_at + GRACE - 1, bytes(32))
        assert sorted(share for _, share, _ in soon.challenges) == [0, 1, 3, 5]
        later = keeper.plan(chain.state.reader, moved_at + GRACE, bytes(32))
        assert sorted(share for _, share, _ in later.challenges) == [0, 1, 3, 4, 5]
    finally:
        store.close()


def test_a_round_drops_the_shares_of_a_deleted_blob_and_keeps_the_others(tmp_path: Path) -> None:
    chain = storage_chain()
    owner = Sender(chain, Wallet.of(0))
    blobs = [blake3_hash(bytes([i]), length=9_000) for i in range(2)]
    messages = [place_message(data) for data in blobs]
    assert [owner.send(message) for message in messages] == [OK, OK]
    records = [queries.placement(chain.state.reader, message.root) for message in messages]
    me = next(a for a in records[0].holders if a in records[1].holders)  # type: ignore[union-attr]
    store = ChunkStore.open(tmp_path / "blobs")
    keeper = Keeper(me, store, [], 1, GRACE, lambda _: None, lambda _: None)
    try:
        for data, record in zip(blobs, records, strict=True):
            assert record is not None
            encoded = coding.encode(data, 4, 6, CHUNK)
            share = record.holders.index(me)
            store.put_share(
                encoded.layout, encoded.root, encoded.coded_root, share, encoded.leaves,
                encoded.share(share),
            )  # fmt: skip
        assert keeper.sweep(chain.state.reader) == []
        assert owner.send(DeleteBlob(messages[0].root)) == OK
        # Without gateways too: every round (here every block) drops what is no longer placed.
        keeper.on_committed(chain.state.reader, chain.state.height, bytes(32))
        gone = records[0].holders.index(me)  # type: ignore[union-attr]
        kept = records[1].holders.index(me)  # type: ignore[union-attr]
        assert list(store.held()) == [(messages[1].root, kept)]
        assert store.share(messages[0].root, gone, 3) is None
        assert store.share(messages[1].root, kept, 3) is not None
    finally:
        store.close()
