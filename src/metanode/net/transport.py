"""Authenticated peer links on asyncio: one TLS 1.3 connection per pair of pinned peers.

Theory of operation. Every node listens; of each pair, the node with the lower node id dials
(so there is one connection per pair and no race), retrying with exponential backoff while the
peer is away. After the handshake the peer's node id comes from its certificate (tls.py) and
must be a configured peer that is not banned. Then the hybrid handshake (hybrid.py) keys the
link with X25519 and ML-KEM-768 together, and every later frame travels sealed under those
keys; a peer that offers classical keys only is refused while `hybrid_required` (the chain's
`keys.hybrid_links_required`) and otherwise linked unsealed and counted. A network made with
`offers_hybrid=False` is such a peer itself (`[p2p] hybrid = false`, for measuring). A peer
whose identity records an ML-DSA key on chain is pinned to it (`pin`, kept current by the node
at each epoch boundary) and must sign the handshake with it. Each connection has a
reader that frames, decodes and rate-limits input and hands whole frames to `on_frame`, and a
writer fed by a bounded queue: a peer whose queue is full is too slow and is dropped rather
than buffered without end.
A peer whose node key was rotated on chain (message 43) is known by its new key from the
epoch boundary on (`use_node_keys`): a certificate with that key is the peer's identity, and
its old key is refused; this node presents a new key of its own through `rekey`.
`add_peer` admits a peer at run time (a registered node, node/admission.py): its
certificate joins the live trust store and it is dialled like a configured one.
Bad input is blamed here, at the receive edge: the peer is scored down (peers.py) and, at the
bottom, disconnected and banned; nothing a peer sends can raise out of this module.
The guard (metanode.guard, docs/security.md) is told of every connection, frame and offence:
a peer it bans is disconnected and refused like one banned here, and a peer it throttles has
its frames dropped past a tenth of its allowance, except consensus messages, which the guard
never touches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from metanode.crypto import ed25519
from metanode.errors import DecodeError, VerificationError
from metanode.guard import watch
from metanode.guard.score import Kind, Verdict
from metanode.guard.watch import Watch
from metanode.types import Address

from . import constants, hybrid, tls
from .frames import (
    Consensus,
    Frame,
    HybridKeys,
    HybridOffer,
    decode_frame,
    encode_frame,
    frame_length,
)
from .peers import Scores

log = logging.getLogger("metanode.net")

FrameHandler = Callable[[Address, Frame], None]
# (peer, connected, why a link ended: empty on connecting)
PeerHandler = Callable[[Address, bool, str], None]
OffenceHandler = Callable[[Address, str], None]


@dataclass(frozen=True, slots=True)
class PeerConfig:
    node_id: Address
    host: str
    port: int
    certificate: bytes  # PEM


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class _Link:
    def __init__(
        self,
        peer: Address,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        session: hybrid.Session | None,
        pin: bytes | None,
        key: bytes,
    ) -> None:
        self.peer = peer
        self.key = key  # the Ed25519 node key its certificate carried
        self.reader = reader
        self.writer = writer
        self.session = session  # None: a classical-only peer, accepted unsealed
        self.pin = pin  # the ML-DSA key the peer signed the handshake with, if pinned
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(constants.send_queue_frames_max)
        self.closed = asyncio.Event()
        self.reason = ""  # why it closed, for the log


class Network:
    def __init__(
        self,
        seed: bytes,
        host: str,
        port: int,
        peers: list[PeerConfig],
        on_frame: FrameHandler,
        on_peer: PeerHandler | None = None,
        on_offence: OffenceHandler | None = None,
        guard: Watch | None = None,
        *,
        offers_hybrid: bool = True,
    ) -> None:
        self.me = tls.node_id(ed25519.PrivateKey.from_seed(seed).public_key)
        # False: offer classical link keys only, as a node of an older version does (the
        # baseline `metanode bench --compare-links` measures hybrid links against).
        self.offers_hybrid = offers_hybrid
        self.host = host
        self.port = port
        self.peers = {peer.node_id: peer for peer in peers if peer.node_id != self.me}
        self.server_context, self.client_context = tls.contexts(
            seed, [peer.certificate for peer in self.peers.values()]
        )
        self.on_frame = on_frame
        self.on_peer = on_peer
        self.on_offence = on_offence
        self.guard = guard
        self.scores = Scores()
        self.links: dict[Address, _Link] = {}
        self._server: asyncio.Server | None = None
        self._configured = len(self.peers)
        self._tasks: set[asyncio.Task[None]] = set()
        self.frames_in = 0
        self.frames_out = 0
        # The chain's `keys.hybrid_links_required`, kept current by the node.
        self.hybrid_required = False
        self.signer = hybrid.node_signer(seed)
        self.pins: dict[Address, bytes] = {}  # peers' ML-DSA keys recorded on chain
        # Peers whose node key was rotated (message 43): their key now, and who each key is.
        self.node_keys: dict[Address, bytes] = {}
        self._identities: dict[bytes, Address] = {}

    # Life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept,
            self.host,
            self.port,
            ssl=self.server_context,
            ssl_handshake_timeout=constants.handshake_timeout_ms / 1000,
        )
        for peer in sorted(self.peers):
            if self.me < peer:
                self._spawn(self._dial_forever(self.peers[peer]))

    def add_peer(self, peer: PeerConfig) -> bool:
        """Trust and link `peer` from now on; False when it is this node or already a peer
        (its first endpoint stays). Raises `VerificationError` past `admitted_peers_max`."""
        if peer.node_id == self.me or peer.node_id in self.peers:
            return False
        if len(self.peers) - self._configured >= constants.admitted_peers_max:
            raise VerificationError(
                f"{constants.admitted_peers_max} peers are admitted already (admitted_peers_max)"
            )
        for context in (self.server_context, self.client_context):
            tls.trust(context, peer.certificate)
        self.peers[peer.node_id] = peer
        if self._server is not None and self.me < peer.node_id:
            self._spawn(self._dial_forever(peer))
        return True

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for link in list(self.links.values()):
            link.writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Sending ---------------------------------------------------------------------------------

    def connected(self) -> list[Address]:
        return sorted(self.links)

    def hybrid_links(self) -> list[Address]:
        return sorted(peer for peer, link in self.links.items() if link.session is not None)

    def authenticated_links(self) -> list[Address]:
        """Links whose peer signed the handshake with the ML-DSA key its identity records."""
        return sorted(peer for peer, link in self.links.items() if link.pin is not None)

    def pin(self, pins: dict[Address, bytes]) -> None:
        """Pin peers to their recorded ML-DSA keys from now on; a live link made under another
        pin is closed, so that it is made again (the dialler reconnects) under the new one."""
        self.pins = dict(pins)
        for peer, link in list(self.links.items()):
            if link.pin != self.pins.get(peer):
                self._close(link, "re-pinned to the ML-DSA key its identity records")

    def trust(self, certificate: bytes) -> None:
        """Accept `certificate` (PEM) in later handshakes: a peer's rotated node key, announced
        before the boundary at which it is expected (`use_node_keys`)."""
        for context in (self.server_context, self.client_context):
            tls.trust(context, certificate)

    def use_node_keys(self, node_keys: dict[Address, bytes]) -> None:
        """Know these peers by these (rotated) node keys from now on: a certificate with such a
        key is that peer, one with the peer's former key is refused, and a live link made
        under another key is closed, to be made again under this one."""
        self.node_keys = dict(node_keys)
        self._identities = {key: peer for peer, key in self.node_keys.items()}
        for peer, link in list(self.links.items()):
            if link.key != self.node_keys.get(peer, link.key):
                self._close(link, "its node key was rotated")

    def rekey(self, seed: bytes) -> None:
        """Present the node key `seed` (this node's rotated key) from now on: later handshakes
        carry its certificate and sign with its ML-DSA key; live links are closed, so that
        they are made again under it."""
        tls.use_key((self.server_context, self.client_context), seed)
        self.signer = hybrid.node_signer(seed)
        for link in list(self.links.values()):
            self._close(link, "this node's key was rotated")

    def send(self, peer: Address, frame: Frame) -> None:
        link = self.links.get(peer)
        if link is not None:
            self._enqueue(link, encode_frame(frame))

    def broadcast(self, frame: Frame, *, skip: Address | None = None) -> None:
        if not self.links:
            # Encoded for nobody otherwise: a lone validator's gossip, 0.27 µs a transaction.
            return
        data = encode_frame(frame)
        for peer, link in list(self.links.items()):
            if peer != skip:
                self._enqueue(link, data)

    def _enqueue(self, link: _Link, data: bytes) -> None:
        try:
            link.queue.put_nowait(data)
        except asyncio.QueueFull:
            log.warning("peer %s is not reading; dropping the link", link.peer)
            self._close(link, "not reading")

    def penalize(self, peer: Address, points: int, reason: str) -> None:
        """Blame a peer for bad input (here, or found by a higher layer)."""
        if self.on_offence is not None:
            self.on_offence(peer, reason)
        if self.guard is not None:
            self.guard.peer(peer, Kind.OVERSIZE, watch.now_ms())
        if self.scores.penalize(peer, points, reason, _now_ms()):
            log.warning("peer %s banned (%s)", peer, reason)
            link = self.links.get(peer)
            if link is not None:
                self._close(link, f"banned ({reason})")

    # Connecting ------------------------------------------------------------------------------

    async def _dial_forever(self, peer: PeerConfig) -> None:
        backoff = constants.backoff_initial_ms
        while True:
            if peer.node_id not in self.links and not self._banned(peer.node_id):
                try:
                    # `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can lose a
                    # cancellation that arrives as the connection completes (CPython
                    # gh-86296); this loop would then dial on after `stop` cancelled it, and
                    # `stop` wait for it for ever: the likely cause of a CI run that hung once
                    # in tests/net/test_hybrid.py, its loop idle.
                    async with asyncio.timeout(constants.handshake_timeout_ms / 1000):
                        reader, writer = await asyncio.open_connection(
                            peer.host, peer.port, ssl=self.client_context
                        )
                except (OSError, ssl.SSLError, TimeoutError):
                    await asyncio.sleep(backoff / 1000)
                    backoff = min(constants.backoff_max_ms, backoff * 2)
                    continue
                link = await self._admit(reader, writer, expected=peer.node_id)
                if link is not None:
                    backoff = constants.backoff_initial_ms
                    await self._run(link)
            await asyncio.sleep(backoff / 1000)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = await self._admit(reader, writer, expected=None)
        if link is None:
            return
        # A handler cancelled at shutdown ends quietly: asyncio's server logs a cancelled
        # handler as an error (Python 3.11), which here is only the node stopping.
        with contextlib.suppress(asyncio.CancelledError):
            await self._run(link)

    async def _admit(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, expected: Address | None
    ) -> _Link | None:
        """The link to a pinned peer whose handshakes completed, or None (and closed)."""
        try:
            key = tls.peer_key(writer.get_extra_info("ssl_object"))
        except VerificationError as error:
            log.warning("refused a peer: %s", error)
            writer.close()
            return None
        peer = self._identities.get(key) or tls.node_id(key)
        if self.node_keys.get(peer, key) != key:
            log.warning("refused peer %s: a retired node key (it was rotated)", peer)
            writer.close()
            return None
        refused = (
            peer not in self.peers
            or (expected is not None and peer != expected)
            or self._banned(peer)
        )
        if refused:
            log.warning("refused peer %s (unknown, unexpected or banned)", peer)
            writer.close()
            return None
        if self.guard is not None:
            self.guard.peer(peer, Kind.CONNECT, watch.now_ms())
        pin = self.pins.get(peer)  # as it stands now: `pin` may change while we wait
        try:
            async with asyncio.timeout(constants.handshake_timeout_ms / 1000):  # see _dial_forever
                session, first = await self._handshake(
                    reader, writer, peer, pin, dialler=expected is not None
                )
        except hybrid.HandshakeRefused as error:
            log.warning("refused peer %s: %s", peer, error)
            points = 0 if error.reason == hybrid.CLASSICAL_ONLY else constants.penalty_malformed
            self.penalize(peer, points, error.reason)
            writer.close()
            return None
        except DecodeError as error:
            log.warning("refused peer %s: bad handshake frame (%s)", peer, error.rule)
            self.penalize(peer, constants.penalty_malformed, error.rule)
            writer.close()
            return None
        except (asyncio.IncompleteReadError, OSError, ssl.SSLError, TimeoutError) as error:
            log.warning("peer %s left during the hybrid handshake (%r)", peer, error)
            writer.close()
            return None
        if pin != self.pins.get(peer):
            log.info("peer %s was re-pinned during its handshake; linking again", peer)
            writer.close()
            return None
        old = self.links.get(peer)
        if old is not None:
            self._close(old, "replaced by a newer link")  # the peer restarted
        link = _Link(peer, reader, writer, session, pin if session else None, key)
        self.links[peer] = link
        if session is None:
            log.warning("peer %s offers classical link keys only; linked unsealed", peer)
        if self.on_peer is not None:
            self.on_peer(peer, True, "")
        if first is not None:
            self.frames_in += 1
            self.on_frame(peer, first)
        return link

    async def _handshake(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: Address,
        pin: bytes | None,
        *,
        dialler: bool,
    ) -> tuple[hybrid.Session | None, Frame | None]:
        """The link's session, or None and the first frame of a classical-only peer."""
        if not self.offers_hybrid:
            # A hybrid dialler's offer goes unanswered; it takes this side's first frame
            # (the node's Status) as a classical peer's.
            first = None if dialler else decode_frame(await _read_record(reader))
            return None, None if isinstance(first, HybridOffer) else first
        if dialler:
            side = hybrid.Dialler(self.me, peer, self.signer, pin)
            writer.write(encode_frame(side.offer))
            first = decode_frame(await _read_record(reader))
            if isinstance(first, HybridKeys):
                session, confirmation = side.finish(first)
                writer.write(_prefixed(confirmation))
                return session, None
        else:
            first = decode_frame(await _read_record(reader))
            if isinstance(first, HybridOffer):
                answer, pending = hybrid.listen(self.me, peer, first, self.signer, pin)
                writer.write(encode_frame(answer))
                return pending.confirm(await _read_record(reader, sealed=True)), None
        if isinstance(first, HybridOffer | HybridKeys):
            raise DecodeError("unexpected_handshake", f"{type(first).__name__} from the wrong side")
        if self.hybrid_required or pin is not None:
            raise hybrid.HandshakeRefused(
                hybrid.CLASSICAL_ONLY,
                "the peer offers classical link keys only, and this chain requires hybrid links "
                "(keys.hybrid_links_required) or its identity records an ML-DSA key",
            )
        return None, first

    async def _run(self, link: _Link) -> None:
        writer_task = asyncio.ensure_future(self._write(link))
        reason = "stopping"  # a link its reader did not end was cancelled
        try:
            reason = await self._read(link)
        finally:
            writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, ssl.SSLError):
                await writer_task
            self._close(link, reason)
            if self.links.get(link.peer) is link:
                del self.links[link.peer]
                if self.on_peer is not None:
                    self.on_peer(link.peer, False, link.reason)

    def _banned(self, peer: Address) -> bool:
        return self.scores.is_banned(peer, _now_ms()) or (
            self.guard is not None and self.guard.peer_banned(peer, watch.now_ms())
        )

    def _close(self, link: _Link, reason: str) -> None:
        if not link.closed.is_set():
            link.reason = reason
            link.closed.set()
            link.writer.close()
            with contextlib.suppress(asyncio.QueueFull):
                link.queue.put_nowait(None)

    async def _write(self, link: _Link) -> None:
        while True:
            data = await link.queue.get()
            if data is None:
                return
            if link.session is not None:
                data = _prefixed(link.session.seal(data[constants.length_prefix_bytes :]))
            link.writer.write(data)
            self.frames_out += 1
            if link.queue.empty():
                await link.writer.drain()

    async def _read(self, link: _Link) -> str:
        """Read frames until the link ends; returns why it ended."""
        while not link.closed.is_set():
            try:
                body = await _read_record(link.reader, sealed=link.session is not None)
                if link.session is not None:
                    body = link.session.open(body)
            except DecodeError as error:
                # Past a bad seal the record counters disagree, so the link cannot go on.
                points = (
                    constants.penalty_malformed
                    if error.rule == "bad_seal"
                    else constants.penalty_oversize
                )
                self.penalize(link.peer, points, error.rule)
                return f"bad frame ({error.rule})"
            except asyncio.IncompleteReadError:
                return "closed by the peer"
            except (OSError, ssl.SSLError) as error:
                return f"connection error ({error})"
            if not self.scores.take_token(link.peer, _now_ms()):
                self.penalize(link.peer, constants.penalty_flood, "flood")
                continue
            verdict = (
                Verdict.PASS
                if self.guard is None
                else self.guard.peer(link.peer, Kind.REQUEST, watch.now_ms(), len(body))
            )
            if verdict is Verdict.BAN:
                self._close(link, "banned by the guard")
                return link.reason
            try:
                frame = decode_frame(body)
            except DecodeError as error:
                points = (
                    constants.penalty_unknown_kind
                    if error.rule == "unknown_kind"
                    else constants.penalty_malformed
                )
                self.penalize(link.peer, points, error.rule)
                continue
            if verdict is Verdict.THROTTLE and not isinstance(frame, Consensus):
                continue
            if isinstance(frame, HybridOffer | HybridKeys):
                self.penalize(link.peer, constants.penalty_malformed, "unexpected_handshake")
                continue
            self.frames_in += 1
            self.on_frame(link.peer, frame)
        return link.reason  # closed while reading: by a ban or a send queue left full


async def _read_record(reader: asyncio.StreamReader, *, sealed: bool = False) -> bytes:
    """One length-prefixed record; a sealed one may be an AEAD tag longer than a frame."""
    prefix = await reader.readexactly(constants.length_prefix_bytes)
    length = frame_length(prefix, constants.seal_overhead_bytes if sealed else 0)
    return await reader.readexactly(length)


def _prefixed(record: bytes) -> bytes:
    return len(record).to_bytes(constants.length_prefix_bytes, "big") + record
