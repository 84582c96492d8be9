"""What a node sends a peer that (re)connected (node/hosting.py `regossip`): gossip goes once,
to the links up at the time, so a replica that restarted, linked to some notaries only, left
the others to cut its calls without its receipt while the rest cut them with it, and neither
candidate reached a quorum (tests/cli/test_apps_handover.py, the executor that was down)."""

from __future__ import annotations

from metanode.net import constants as net_constants
from metanode.net.frames import Receipts, Share
from metanode.node.hosting import Candidate, Held, regossip
from metanode.types import Address, LogBlock
from tests.node.test_hosting_receipts import OTHER, PEER, receipts

APP = bytes(32)
ME = Address.from_public_key(PEER.public_key)


def candidate(first_seq: int, digest: bytes) -> Candidate:
    return Candidate(LogBlock(APP, 1, first_seq, first_seq, bytes(32), ()), digest, b"message")


def test_a_connected_peer_is_sent_this_nodes_receipts_held_and_its_shares() -> None:
    mine, theirs = receipts(PEER, 3), receipts(OTHER, 3)
    held = {
        APP: {
            seq: {
                PEER.public_key: Held(mine[seq], mine[seq].leaf(seq, 8, 16 + seq)),
                OTHER.public_key: Held(theirs[seq], theirs[seq].leaf(seq, 8, 16)),
            }
            for seq in (2, 0)
        }
    }
    held[APP][1] = {OTHER.public_key: Held(theirs[1], theirs[1].leaf(1, 8, 16))}
    other = Address.from_public_key(OTHER.public_key)
    shares = {
        (APP, 0, b"a" * 32): {ME: b"my share", other: b"their share"},
        (APP, 0, b"b" * 32): {ME: b"a share of a candidate re-cut since"},
        (APP, 1, b"c" * 32): {other: b"their share"},
    }
    candidates = {APP: [candidate(0, b"a" * 32), candidate(1, b"c" * 32)]}

    frames = regossip(PEER.public_key, ME, held, candidates, shares)

    assert len(frames) == 2
    sent, share = frames
    assert isinstance(sent, Receipts)
    assert [(item.app_id, item.seq) for item in sent.items] == [(APP, 0), (APP, 2)]
    assert [item.receipt for item in sent.items] == [mine[0].encode(), mine[2].encode()]
    assert [(item.output_bytes, item.state_bytes) for item in sent.items] == [(8, 16), (8, 18)]
    assert share == Share(APP, 0, b"a" * 32, b"my share")


def test_nothing_is_sent_when_nothing_is_open() -> None:
    assert regossip(PEER.public_key, ME, {}, {}, {}) == []


def test_many_receipts_go_in_frames_of_the_frame_limit() -> None:
    receipt = receipts(PEER, 1)[0]
    entry = {PEER.public_key: Held(receipt, receipt.leaf(0, 8, 16))}
    count = net_constants.receipts_per_frame_max + 1
    frames = regossip(PEER.public_key, ME, {APP: dict.fromkeys(range(count), entry)}, {}, {})
    assert [len(frame.items) for frame in frames if isinstance(frame, Receipts)] == [count - 1, 1]
