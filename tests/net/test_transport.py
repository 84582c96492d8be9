"""Peers admitted at run time over real TLS sockets: a certificate added to a running node's
trust store is accepted by its later handshakes, with no restart (net/tls.py `trust`); a peer
the guard bans is cut off and refused until an operator pardons it; a peer whose node key was
rotated links again under its new key as the same peer, and its old key is refused."""

from __future__ import annotations

import asyncio
import os

import pytest

from metanode.crypto import ed25519
from metanode.errors import DecodeError, VerificationError
from metanode.guard import watch
from metanode.guard.score import Allowance, Kind, Override, features
from metanode.guard.watch import Watch
from metanode.net import constants, tls
from metanode.net.frames import Status, Txs
from metanode.net.ports import free_port_block
from metanode.net.transport import Network, PeerConfig
from metanode.types import Address


def _peer(seed: bytes, port: int) -> PeerConfig:
    address = Address.from_public_key(ed25519.PrivateKey.from_seed(seed).public_key)
    return PeerConfig(address, "127.0.0.1", port, tls.certificate_pem(seed))


async def _linked(one: Network, other: Network, seconds: float) -> bool:
    for _ in range(int(seconds * 20)):
        if other.me in one.connected() and one.me in other.connected():
            return True
        await asyncio.sleep(0.05)
    return False


def test_a_peer_added_to_a_running_network_links_without_a_restart() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        seeds = [os.urandom(32), os.urandom(32)]
        base = free_port_block(2)
        running = Network(seeds[0], "127.0.0.1", base, [], _drop)
        joining = Network(seeds[1], "127.0.0.1", base + 1, [_peer(seeds[0], base)], _drop)
        await running.start()
        await joining.start()
        try:
            before = await _linked(running, joining, 1.0)  # `running` trusts nobody yet
            added = running.add_peer(_peer(seeds[1], base + 1))
            after = await _linked(running, joining, 12.0)  # within the dialler's backoff
            again = running.add_peer(_peer(seeds[1], base + 1))
            return before, added and not again, after
        finally:
            await joining.stop()
            await running.stop()

    before, added_once, after = asyncio.run(scenario())
    assert not before and added_once and after


def _drop(_peer: Address, _frame: object) -> None:
    return None


def test_a_node_certificate_is_reencoded_so_nothing_beside_it_is_trusted() -> None:
    seed, other = os.urandom(32), os.urandom(32)
    pem = tls.certificate_pem(seed)
    key, canonical = tls.node_certificate(pem + tls.certificate_pem(other))
    assert key == ed25519.PrivateKey.from_seed(seed).public_key and canonical == pem
    with pytest.raises(VerificationError):
        tls.node_certificate(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


async def _judged_pair(guard: Watch) -> tuple[Network, Network]:
    """Two started networks linked as peers, the first of them watched by `guard`."""
    seeds = [os.urandom(32), os.urandom(32)]
    base = free_port_block(2)
    judged = Network(seeds[0], "127.0.0.1", base, [_peer(seeds[1], base + 1)], _drop, guard=guard)
    other = Network(seeds[1], "127.0.0.1", base + 1, [_peer(seeds[0], base)], _drop)
    await judged.start()
    await other.start()
    return judged, other


def test_a_peer_the_guard_bans_is_cut_off_and_refused_until_pardoned() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool]:
        guard = Watch(Allowance(50, 100), [], lambda *_: None, lambda *_: None)
        judged, other = await _judged_pair(guard)
        try:
            linked = await _linked(judged, other, 12.0)
            subject = f"peer:{other.me}"
            guard.override(subject, Override.BAN, watch.now_ms())
            other.send(judged.me, Status(1))  # its next frame finds it banned
            for _ in range(100):
                if other.me not in judged.connected():
                    break
                await asyncio.sleep(0.05)
            cut = other.me not in judged.connected()
            await asyncio.sleep(1.0)  # both sides' diallers try again meanwhile
            refused = other.me not in judged.connected()
            guard.override(subject, Override.PARDON, watch.now_ms())
            again = await _linked(judged, other, 12.0)
            return linked, cut, refused, again
        finally:
            await other.stop()
            await judged.stop()

    assert asyncio.run(scenario()) == (True, True, True, True)


def test_a_peers_frames_and_its_gossip_reach_the_guard_on_one_clock() -> None:
    """The links report frames and the node reports gossip (node._watch_gossip, on the
    guard's clock): both must land in the same buckets, or the peer's request rate reads 0."""

    async def scenario() -> list[float]:
        guard = Watch(Allowance(50, 100), [], lambda *_: None, lambda *_: None)
        judged, other = await _judged_pair(guard)
        try:
            assert await _linked(judged, other, 12.0)
            for height in range(20):
                other.send(judged.me, Status(height))
            await asyncio.sleep(1.0)
            guard.peer(other.me, Kind.DELIVERY, watch.now_ms())
            return features(guard.peers.subjects[f"peer:{other.me}"], watch.now_ms())
        finally:
            await other.stop()
            await judged.stop()

    requests_per_s, *_, delivered_share = asyncio.run(scenario())
    assert requests_per_s > 0 and delivered_share > 0


def test_a_rotated_node_key_links_as_the_same_peer_and_its_old_key_is_refused() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool]:
        old, other, new = os.urandom(32), os.urandom(32), os.urandom(32)
        new_key = ed25519.PrivateKey.from_seed(new).public_key
        base = free_port_block(2)
        rotated = Network(old, "127.0.0.1", base, [_peer(other, base + 1)], _drop)
        peer = Network(other, "127.0.0.1", base + 1, [_peer(old, base)], _drop)
        await rotated.start()
        await peer.start()
        try:
            before = await _linked(rotated, peer, 12.0)
            # The epoch boundary: the peer expects the new key, the node presents it.
            peer.trust(tls.certificate_pem(new))
            peer.use_node_keys({rotated.me: new_key})
            rotated.rekey(new)
            by_new_key = False
            for _ in range(240):  # within the dialler's backoff
                link = peer.links.get(rotated.me)
                by_new_key = link is not None and link.key == new_key
                if by_new_key and rotated.me in peer.connected():
                    break
                await asyncio.sleep(0.05)
            after = await _linked(rotated, peer, 12.0)
            # Someone holding the old key is refused before any handshake frame.
            client = tls.contexts(old, [tls.certificate_pem(other)])[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", base + 1, ssl=client)
            refused = await asyncio.wait_for(reader.read(1), 10.0) == b""
            writer.close()
            return before, after, by_new_key, refused
        finally:
            await peer.stop()
            await rotated.stop()

    before, after, by_new_key, refused = asyncio.run(scenario())
    assert before and after and by_new_key and refused


def test_a_broadcast_is_encoded_for_the_linked_peers_and_for_nobody_without_them() -> None:
    too_large = Txs((bytes(constants.frame_bytes_max),))

    async def scenario() -> tuple[list[object], bool]:
        seeds = [os.urandom(32), os.urandom(32)]
        base = free_port_block(2)
        received: list[object] = []
        alone = Network(seeds[0], "127.0.0.1", base, [], _drop)
        alone.broadcast(too_large)  # no peer: nothing is encoded, so nothing is refused
        one = Network(seeds[0], "127.0.0.1", base, [_peer(seeds[1], base + 1)], _drop)
        other = Network(
            seeds[1],
            "127.0.0.1",
            base + 1,
            [_peer(seeds[0], base)],
            lambda _peer, frame: received.append(frame),
        )
        await one.start()
        await other.start()
        try:
            assert await _linked(one, other, 12.0)
            one.broadcast(Status(7))
            for _ in range(100):
                if Status(7) in received:
                    break
                await asyncio.sleep(0.05)
            try:
                one.broadcast(too_large)
            except DecodeError:
                refused = True
            else:
                refused = False
            return received, refused
        finally:
            await other.stop()
            await one.stop()

    received, refused = asyncio.run(scenario())
    assert Status(7) in received
    assert refused
