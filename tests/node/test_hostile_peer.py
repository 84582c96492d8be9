"""A hostile peer cannot crash or stall a node: garbage, oversize frames, replayed and badly
signed consensus messages, floods, a key nobody pinned, and compact proposals naming
transactions no one has or hashes that do not make their header's root. Real TLS, real node
processes. The hostile peer holds a pinned key and completes the hybrid handshake
(net/hybrid.py), then seals what it sends, except the garbage, which no key opens."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import ssl
import time
from pathlib import Path

from metanode.consensus.messages import (
    CompactProposal,
    Kind,
    Signed,
    decode_message,
    encode_message,
)
from metanode.crypto import ed25519, merkle
from metanode.net import constants as net_constants
from metanode.net import hybrid, tls
from metanode.net.frames import (
    Consensus,
    GetTxs,
    GetTxsByHash,
    HybridKeys,
    Inclusion,
    Status,
    TxsByHash,
    TxsFor,
    decode_frame,
    encode_frame,
)
from metanode.node import compact, keys
from metanode.node import home as dev_home
from metanode.node.home import DEV_CHAIN_ID
from metanode.types import Address, BlockHeader, Transaction
from metanode.types.inclusion import InclusionList

from .cluster import Cluster

Link = tuple[asyncio.StreamReader, asyncio.StreamWriter]
ZERO = bytes(32)
# A hostile peer's session for each link it made (keyed by its writer).
SESSIONS: dict[asyncio.StreamWriter, hybrid.Session] = {}


async def _connect_with(cluster: Cluster, context: ssl.SSLContext, target: str) -> Link:
    port = cluster.api_port[target] - len(cluster.names)  # p2p ports sit below the API ports
    return await asyncio.open_connection("127.0.0.1", port, ssl=context)


async def _connect(cluster: Cluster, seed: bytes, target: str) -> Link:
    """A pinned link to `target` with the hybrid handshake done, as an honest node makes it."""
    target_pem = (cluster.home / "nodes" / target / "node.pem").read_bytes()
    _, client = tls.contexts(seed, [target_pem])
    reader, writer = await _connect_with(cluster, client, target)
    me, peer = (
        tls.node_id(tls.certificate_key(tls.certificate_pem(seed))),
        tls.node_id(tls.certificate_key(target_pem)),
    )
    dialler = hybrid.Dialler(me, peer, hybrid.node_signer(seed))
    writer.write(encode_frame(dialler.offer))
    answer = decode_frame(await _read_record(reader))
    assert isinstance(answer, HybridKeys)
    session, confirmation = dialler.finish(answer)
    writer.write(_prefixed(confirmation))
    SESSIONS[writer] = session
    return reader, writer


def _prefixed(record: bytes) -> bytes:
    return len(record).to_bytes(4, "big") + record


def _sealed(writer: asyncio.StreamWriter, frame: bytes) -> bytes:
    """`frame` (length-prefixed) as the link's next sealed record."""
    return _prefixed(SESSIONS[writer].seal(frame[4:]))


async def _read_record(reader: asyncio.StreamReader) -> bytes:
    prefix = await asyncio.wait_for(reader.readexactly(4), 10)
    return await reader.readexactly(int.from_bytes(prefix, "big"))


async def _read_frames(link: Link, count: int) -> list[bytes]:
    reader, writer = link
    return [SESSIONS[writer].open(await _read_record(reader)) for _ in range(count)]


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the node hangs up (end of stream) within `seconds`."""
    try:
        await asyncio.wait_for(reader.read(), seconds)
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False
    return True


def _compact_naming(seed: bytes, named: bytes, root_of: bytes) -> bytes:
    """A compact proposal signed by `seed`'s validator for a height far ahead, naming the one
    transaction hash `named` under a header whose txs_root is that of `root_of` alone."""
    key = ed25519.PrivateKey.from_seed(seed)
    me = Address.from_public_key(key.public_key)
    root = merkle.root_from_leaf_hashes([root_of])
    header = BlockHeader(
        DEV_CHAIN_ID, 10**6, 0, 1, ZERO, root, ZERO, ZERO, ZERO, ZERO, me, bytes(80), ZERO
    )
    unsigned = Signed(Kind.PROPOSAL, 10**6, 0, header.hash(), None, b"", me)
    signed = dataclasses.replace(unsigned, signature=key.sign(unsigned.signing_message()))
    return encode_message(CompactProposal(signed, header, (named,), (), None))


async def _asked_for_txs(link: Link) -> int:
    """How many GET_TXS for height 10**6 the node sends on `link`: until `asks_max` came
    (within ten times their schedule, for a loaded machine), then for ten fetch waits more,
    long past when one more would come (each comes `fetch_wait_ms` after the last)."""
    asked = 0
    deadline = time.monotonic() + 10 * compact.asks_max * compact.fetch_wait_ms / 1000
    while time.monotonic() < deadline:
        (body,) = await _read_frames(link, 1)
        frame = decode_frame(body)
        if isinstance(frame, GetTxs) and frame.height == 10**6:
            asked += 1
            if asked == compact.asks_max:
                deadline = time.monotonic() + 10 * compact.fetch_wait_ms / 1000
    return asked


async def _served(
    cluster: Cluster,
    seed: bytes,
    place: tuple[int, int, int],
    sent: Transaction,
    queued: Transaction,
) -> dict[str, bool]:
    """v0 answers GET_TXS for a height it committed from the stored block (`place`: height,
    certificate round, index), and GET_TXS_BY_HASH from its pool, leaving out what it lacks."""
    link = await _connect(cluster, seed, "v0")
    height, round_, index = place
    link[1].write(_sealed(link[1], encode_frame(GetTxs(height, round_, (index,)))))
    link[1].write(_sealed(link[1], encode_frame(GetTxsByHash((ZERO, queued.hash())))))
    await link[1].drain()
    answers: dict[type, object] = {}
    deadline = time.monotonic() + 30
    while len(answers) < 2 and time.monotonic() < deadline:
        (body,) = await _read_frames(link, 1)
        frame = decode_frame(body)
        if isinstance(frame, TxsFor | TxsByHash):
            answers[type(frame)] = frame
    link[1].close()
    return {
        "committed_served": answers.get(TxsFor) == TxsFor(height, round_, (sent.encode(),)),
        "pooled_served_by_hash": answers.get(TxsByHash) == TxsByHash((queued.encode(),)),
    }


async def _fetched_by_proposer(cluster: Cluster, seed: bytes, tx: Transaction) -> dict[str, bool]:
    """v0, holding a list that names `tx`, which no node holds, asks its peers for it by hash
    when it proposes; this peer answers, and v0 puts it in its block."""
    link = await _connect(cluster, seed, "v0")
    item = InclusionList.signed(
        ed25519.PrivateKey.from_seed(seed), DEV_CHAIN_ID, cluster.height("v0") + 1, [tx.hash()]
    )
    link[1].write(_sealed(link[1], encode_frame(Inclusion(item.encode()))))
    await link[1].drain()
    asked = False
    deadline = time.monotonic() + 120
    while not cluster.committed("v0", tx.hash().hex()) and time.monotonic() < deadline:
        (body,) = await _read_frames(link, 1)
        frame = decode_frame(body)
        if isinstance(frame, GetTxsByHash) and tx.hash() in frame.tx_hashes:
            asked = True
            link[1].write(_sealed(link[1], encode_frame(TxsByHash((tx.encode(),)))))
            await link[1].drain()
    link[1].close()
    return {"asked_by_hash": asked, "committed": cluster.committed("v0", tx.hash().hex())}


async def _hostile(cluster: Cluster, seed: bytes) -> dict[str, bool]:
    """Each attack on its own node, since the first few offences get the key banned there."""
    outcomes = {}
    # v2: a compact proposal naming a transaction no one has is asked of its sender, `asks_max`
    # times, then given up (the engine never sees it, so nothing votes for it); one whose hashes
    # do not make its header's txs_root is refused at once and the sender blamed.
    link = await _connect(cluster, seed, "v2")
    unknown = bytes(range(32))
    link[1].write(
        _sealed(link[1], encode_frame(Consensus(_compact_naming(seed, unknown, unknown))))
    )
    outcomes["compact_asked_of_sender"] = await _asked_for_txs(link) == compact.asks_max
    mismatch = _compact_naming(seed, unknown, ZERO)
    link[1].write(_sealed(link[1], encode_frame(Consensus(mismatch))))
    await link[1].drain()
    link[1].close()
    # v0: replays of its own consensus messages, forgeries, then garbage.
    reader, writer = await _connect(cluster, seed, "v0")
    heard: list[bytes] = []
    for _ in range(30):  # frames read at most; ten messages are replays enough
        frame = decode_frame((await _read_frames((reader, writer), 1))[0])
        if isinstance(frame, Consensus):
            heard.append(frame.message)
        if len(heard) == 10:
            break
    outcomes["heard_consensus"] = bool(heard)
    # An inclusion list in its name whose signature is not its own: dropped and blamed
    # (first: the offences below get the key banned).
    signed = InclusionList.signed(ed25519.PrivateKey.from_seed(seed), DEV_CHAIN_ID, 1, [ZERO])
    forged = dataclasses.replace(signed, signature=bytes(64))
    writer.write(_sealed(writer, encode_frame(Inclusion(forged.encode()))))
    for message in heard:  # replayed, twice each
        writer.write(_sealed(writer, encode_frame(Consensus(message))))
        writer.write(_sealed(writer, encode_frame(Consensus(message))))
    for message in heard[:5]:  # badly signed: the signature's last byte changed
        raw = bytearray(encode_message(decode_message(message)))
        raw[-1] ^= 0x01
        writer.write(_sealed(writer, encode_frame(Consensus(bytes(raw)))))
    for _ in range(3):
        writer.write(b"\x00\x00\x00\x05" + os.urandom(5))
    await writer.drain()
    outcomes["garbage_closed"] = await _closed_within(reader, 10)
    writer.close()
    # v1: a flood of status frames, far over the per-peer rate. Bursts go on until the node
    # hangs up: one burst of three buckets' worth was not enough on a loaded machine, where
    # the node read it slower than the bucket refills. Each burst is sealed anew: a record
    # sealed twice would be refused as a replay, another offence than the rate's.
    reader, writer = await _connect(cluster, seed, "v1")
    status = encode_frame(Status(1))
    deadline, closed = time.monotonic() + 30, False
    while not closed and time.monotonic() < deadline:
        writer.write(
            b"".join(_sealed(writer, status) for _ in range(net_constants.frames_burst_max))
        )
        try:
            await writer.drain()
        except (ConnectionError, ssl.SSLError):
            break
        closed = await _closed_within(reader, 0.5)
    outcomes["flood_closed"] = closed or await _closed_within(reader, 10)
    writer.close()
    # v2: an oversize frame (an announced length over the limit).
    reader, writer = await _connect(cluster, seed, "v2")
    record_max = net_constants.frame_bytes_max + net_constants.seal_overhead_bytes
    writer.write((record_max + 1).to_bytes(4, "big") + b"x" * 1024)
    await writer.drain()
    outcomes["oversize_closed"] = await _closed_within(reader, 10)
    writer.close()
    # A key nobody pinned: the handshake is refused and nothing is read from us.
    _, client = tls.contexts(os.urandom(32), [(cluster.home / "nodes/v0/node.pem").read_bytes()])
    try:
        reader, writer = await _connect_with(cluster, client, "v0")
        writer.write(encode_frame(Status(10**9)))
        await writer.drain()
        outcomes["stranger_refused"] = await asyncio.wait_for(reader.read(), 10) == b""
    except (ConnectionError, ssl.SSLError):
        outcomes["stranger_refused"] = True
    return outcomes


def test_a_hostile_peer_cannot_crash_or_stall_the_honest_nodes(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "net", validators=4)
    try:
        for name in ("v0", "v1", "v2"):  # three honest validators are a quorum of four
            cluster.start(name)
        cluster.wait_height(2, timeout_s=90)  # three processes starting on a loaded machine
        v3 = keys.read_validator(cluster.home / "nodes/v3/validator.key", dev_home.DEV_PASSWORD)
        sender, receiver = cluster.dev_keys()[:2]
        to = Address.from_public_key(receiver.public_key)
        # One to commit, one to stay in the pool behind a missing nonce.
        sent, queued = cluster.transfer(sender, 0, to, 1), cluster.transfer(sender, 2, to, 1)
        cluster.submit("v0", [sent, queued])
        cluster.wait(lambda: cluster.committed("v0", sent.hash().hex()), 60, "the transfer")
        view = cluster.get("v0", f"/api/v1/txs/{sent.hash().hex()}")
        certificate = cluster.block("v0", view["height"])["certificate"]
        place = (view["height"], certificate["round"], view["index"])
        served = asyncio.run(_served(cluster, v3.ed25519_seed, place, sent, queued))
        assert served == {"committed_served": True, "pooled_served_by_hash": True}
        unheard = cluster.transfer(cluster.dev_keys()[2], 0, to, 1)  # sent to no node
        fetched = asyncio.run(_fetched_by_proposer(cluster, v3.ed25519_seed, unheard))
        assert fetched == {"asked_by_hash": True, "committed": True}
        outcomes = asyncio.run(_hostile(cluster, v3.ed25519_seed))
        assert outcomes == {
            "compact_asked_of_sender": True,
            "heard_consensus": True,
            "garbage_closed": True,
            "flood_closed": True,
            "oversize_closed": True,
            "stranger_refused": True,
        }
        before = cluster.height("v0")
        cluster.wait_height(before + 3, timeout_s=20)
        for name in ("v0", "v1", "v2"):
            assert cluster.processes[name].poll() is None, cluster.log(name)
        charged = {
            name: cluster.client.get(cluster.url(name) + "/metrics").text
            for name in ("v0", "v1", "v2")
        }
        assert 'metanode_p2p_peer_penalties_total{reason="flood"}' in charged["v1"]
        assert 'metanode_p2p_peer_penalties_total{reason="frame_too_large"}' in charged["v2"]
        assert 'metanode_p2p_peer_penalties_total{reason="inclusion_forged"}' in charged["v0"]
        assert 'peer_penalties_total{reason="compact_txs_root_mismatch"}' in charged["v2"]
        assert 'proposals_compact_total{outcome="txs_unavailable"} 1.0' in charged["v2"]
    finally:
        cluster.stop_all()
