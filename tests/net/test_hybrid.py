"""Hybrid link keys (net/hybrid.py): both sides derive one session from X25519 and ML-KEM-768,
bound to the two node ids, and every bad answer is refused with its reason; then over real TLS
sockets: hybrid links, a classical-only peer linked or refused by the chain's parameter, and a
downgrade that strips the ML-KEM key refused."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import ed25519, pq
from metanode.errors import DecodeError
from metanode.net import hybrid, tls
from metanode.net.frames import Frame, HybridKeys, HybridOffer, Status, encode_frame
from metanode.net.ports import free_port_block
from metanode.net.transport import Network, PeerConfig
from metanode.types import Address

DIALLER = Address(b"\x01" * 20)
LISTENER = Address(b"\x02" * 20)
SIGNERS = {side: hybrid.node_signer(bytes([index]) * 32) for index, side in enumerate("dl")}
PINS = {side: signer.public_key for side, signer in SIGNERS.items()}


def _dialler(pin: bytes | None = None) -> hybrid.Dialler:
    return hybrid.Dialler(DIALLER, LISTENER, SIGNERS["d"], pin)


def _listen(
    offer: HybridOffer, peer: Address = DIALLER, pin: bytes | None = None
) -> tuple[HybridKeys, hybrid.Pending]:
    return hybrid.listen(LISTENER, peer, offer, SIGNERS["l"], pin)


def _handshake(
    change: Callable[[HybridKeys], HybridKeys] = lambda answer: answer,
    pins: tuple[bytes | None, bytes | None] = (None, None),
) -> tuple[hybrid.Session, hybrid.Session]:
    dialler = _dialler(pins[0])
    answer, pending = _listen(dialler.offer, pin=pins[1])
    mine, confirmation = dialler.finish(change(answer))
    return mine, pending.confirm(confirmation)


def _reason(call: Callable[[], object]) -> str:
    with pytest.raises(hybrid.HandshakeRefused) as refused:
        call()
    return refused.value.reason


def test_both_sides_derive_one_session_and_records_open_once_in_order() -> None:
    dialler, listener = _handshake()
    first, second = dialler.seal(b"one"), dialler.seal(b"two")
    assert listener.open(first) == b"one"
    with pytest.raises(DecodeError, match="bad_seal"):
        listener.open(first)  # a replayed record: the counter has moved on
    assert listener.open(second) == b"two"
    assert dialler.open(listener.seal(b"back")) == b"back"


def test_an_offer_without_its_ml_kem_key_is_a_downgrade() -> None:
    offer = _dialler().offer
    stripped = HybridOffer(offer.x25519_key, b"")
    assert _reason(lambda: _listen(stripped)) == hybrid.DOWNGRADE
    short = HybridOffer(offer.x25519_key, offer.mlkem_key[:-1])
    assert _reason(lambda: _listen(short)) == hybrid.MALFORMED_MLKEM_KEY
    low_order = HybridOffer(bytes(32), offer.mlkem_key)
    assert _reason(lambda: _listen(low_order)) == hybrid.MALFORMED_X25519


def test_a_malformed_ciphertext_is_refused_and_a_wrong_one_fails_key_confirmation() -> None:
    def truncated(answer: HybridKeys) -> HybridKeys:
        return HybridKeys(
            answer.x25519_key, answer.mlkem_ciphertext[:-1], answer.confirmation, answer.signature
        )

    def other(answer: HybridKeys) -> HybridKeys:
        _, ciphertext = pq.mlkem768_encapsulate(pq.MLKEM768PrivateKey.generate().public_key)
        return HybridKeys(answer.x25519_key, ciphertext, answer.confirmation, answer.signature)

    assert _reason(lambda: _handshake(truncated)) == hybrid.MALFORMED_CIPHERTEXT
    # FIPS 203 implicit rejection: decapsulation "succeeds" with a pseudorandom secret.
    assert _reason(lambda: _handshake(other)) == hybrid.CONFIRMATION_FAILED


def test_keys_are_bound_to_the_pinned_identities_and_the_dialler_must_confirm() -> None:
    dialler = _dialler()
    # The listener thinks it talks to another node: the transcripts differ.
    answer, _ = _listen(dialler.offer, Address(b"\x03" * 20))
    assert _reason(lambda: dialler.finish(answer)) == hybrid.CONFIRMATION_FAILED
    dialler = _dialler()
    answer, pending = _listen(dialler.offer)
    session, _ = dialler.finish(answer)
    forged = session.seal(bytes(32))  # sealed with the right key, but not the confirmation
    assert _reason(lambda: pending.confirm(forged)) == hybrid.CONFIRMATION_FAILED


def test_a_pinned_peer_must_sign_the_handshake_with_its_recorded_ml_dsa_key() -> None:
    _handshake(pins=(PINS["l"], PINS["d"]))  # both pinned to the right keys
    assert _reason(lambda: _handshake(pins=(PINS["d"], None))) == hybrid.PQ_AUTHENTICATION_FAILED
    assert _reason(lambda: _handshake(pins=(None, PINS["l"]))) == hybrid.PQ_AUTHENTICATION_FAILED

    def unsigned(answer: HybridKeys) -> HybridKeys:
        return HybridKeys(answer.x25519_key, answer.mlkem_ciphertext, answer.confirmation, b"")

    refused = _reason(lambda: _handshake(unsigned, pins=(PINS["l"], None)))
    assert refused == hybrid.PQ_AUTHENTICATION_FAILED
    _handshake(unsigned)  # unpinned: the signature is not checked


_KEY_LENGTHS = st.sampled_from([0, 1, 31, 32, 33, 1183, 1184, 1185])


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_offer_or_answer_is_taken_or_refused_with_a_reason(data: st.DataObject) -> None:
    """Whatever bytes a peer puts in frames 18 and 19 (they decode as byte strings of any
    length), the handshake completes or refuses with one of its reasons; nothing else raises."""
    offer = HybridOffer(
        data.draw(st.binary(min_size=32, max_size=32) | st.binary(max_size=40)),
        data.draw(_KEY_LENGTHS.flatmap(lambda n: st.binary(min_size=n, max_size=n))),
    )
    try:
        _listen(offer)
    except hybrid.HandshakeRefused as refused:
        assert refused.reason in hybrid.REASONS
    answer = HybridKeys(
        data.draw(st.binary(max_size=40)),
        data.draw(
            st.sampled_from([0, 1087, 1088]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
        ),
        data.draw(st.binary(max_size=40)),
        data.draw(st.binary(max_size=40)),
    )
    with pytest.raises(hybrid.HandshakeRefused) as refused:
        _dialler(PINS["l"]).finish(answer)
    assert refused.value.reason in hybrid.REASONS


# Over real TLS sockets ----------------------------------------------------------------------


def _config(seed: bytes, port: int) -> PeerConfig:
    address = Address.from_public_key(ed25519.PrivateKey.from_seed(seed).public_key)
    return PeerConfig(address, "127.0.0.1", port, tls.certificate_pem(seed))


class _Node:
    def __init__(
        self, seed: bytes, port: int, peers: list[PeerConfig], *, hybrid: bool = True
    ) -> None:
        self.frames: list[tuple[Address, Frame]] = []
        self.offences: list[str] = []
        self.network = Network(
            seed,
            "127.0.0.1",
            port,
            peers,
            lambda peer, frame: self.frames.append((peer, frame)),
            on_offence=lambda _peer, reason: self.offences.append(reason),
            offers_hybrid=hybrid,
        )


async def _until(condition: Callable[[], bool], seconds: float) -> bool:
    for _ in range(int(seconds * 20)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


def test_two_networks_link_hybrid_and_frames_travel_sealed() -> None:
    async def scenario() -> tuple[list[Address], list[Address], list[tuple[Address, Frame]]]:
        seeds = [os.urandom(32), os.urandom(32)]
        base = free_port_block(2)
        nodes = [_Node(seeds[i], base + i, [_config(seeds[1 - i], base + 1 - i)]) for i in range(2)]
        for node in nodes:
            await node.network.start()
        try:
            await _until(lambda: all(node.network.hybrid_links() for node in nodes), 20)
            nodes[0].network.broadcast(Status(7))
            await _until(lambda: bool(nodes[1].frames), 20)
            return (
                nodes[0].network.hybrid_links(),
                nodes[1].network.hybrid_links(),
                nodes[1].frames,
            )
        finally:
            for node in nodes:
                await node.network.stop()

    one, other, frames = asyncio.run(scenario())
    assert len(one) == len(other) == 1
    assert frames == [(other[0], Status(7))]


def test_peers_pinned_to_their_ml_dsa_keys_link_authenticated_and_a_new_pin_relinks() -> None:
    async def scenario() -> tuple[list[Address], list[str], list[Address], list[Address]]:
        seeds = [os.urandom(32), os.urandom(32)]
        base = free_port_block(2)
        nodes = [_Node(seeds[i], base + i, [_config(seeds[1 - i], base + 1 - i)]) for i in range(2)]
        ids = [node.network.me for node in nodes]
        for index, node in enumerate(nodes):
            node.network.pin({ids[1 - index]: hybrid.node_signer(seeds[1 - index]).public_key})
            await node.network.start()
        try:
            await _until(lambda: all(node.network.authenticated_links() for node in nodes), 20)
            both = nodes[0].network.authenticated_links() + nodes[1].network.authenticated_links()
            # Node 0 learns of another ML-DSA key for node 1: the link is made again, and
            # node 1 cannot sign with that key.
            nodes[0].network.pin({ids[1]: hybrid.node_signer(os.urandom(32)).public_key})
            await _until(lambda: bool(nodes[0].offences), 20)
            return both, nodes[0].offences, nodes[0].network.connected(), ids
        finally:
            for node in nodes:
                await node.network.stop()

    both, offences, linked, ids = asyncio.run(scenario())
    assert sorted(both) == sorted(ids)
    assert hybrid.PQ_AUTHENTICATION_FAILED in offences and linked == []


@pytest.mark.parametrize("classical_dials", [True, False])
def test_a_node_in_classical_mode_links_unsealed_with_a_hybrid_one(classical_dials: bool) -> None:
    async def scenario() -> tuple[list[Address], list[Address], list[Frame]]:
        seeds = sorted((os.urandom(32), os.urandom(32)), key=_address_of)
        if not classical_dials:
            seeds.reverse()  # the lower address dials: make the classical node listen
        base = free_port_block(2)
        classical = _Node(seeds[0], base, [_config(seeds[1], base + 1)], hybrid=False)
        modern = _Node(seeds[1], base + 1, [_config(seeds[0], base)])
        for node in (classical, modern):
            await node.network.start()
        try:
            await _until(lambda: bool(classical.network.connected()), 20)
            classical.network.broadcast(Status(7))  # a node's first frame: its Status
            await _until(lambda: bool(modern.frames), 20)
            return (
                classical.network.hybrid_links() + modern.network.hybrid_links(),
                modern.network.connected(),
                [frame for _peer, frame in modern.frames],
            )
        finally:
            for node in (classical, modern):
                await node.network.stop()

    hybrid_links, linked, frames = asyncio.run(scenario())
    assert hybrid_links == [] and len(linked) == 1 and frames == [Status(7)]


def _address_of(seed: bytes) -> Address:
    return Address.from_public_key(ed25519.PrivateKey.from_seed(seed).public_key)


async def _classical_peer(seed: bytes, port: int, first: bytes) -> tuple[bytes, bool]:
    """Dial `listener` over pinned TLS as a node that speaks no hybrid handshake: send `first`,
    then read whatever comes back until the listener closes or a second passes."""
    _, client = tls.contexts(seed, [tls.certificate_pem(LISTENER_SEED)])
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
    writer.write(first)
    await writer.drain()
    try:
        data = await asyncio.wait_for(reader.read(65536), 10)
    except (TimeoutError, ConnectionError, ssl.SSLError):
        data = b""
    closed = reader.at_eof()
    writer.close()
    return data, closed


LISTENER_SEED = os.urandom(32)


def _with_listener(
    peer_seed: bytes, required: bool, first: bytes
) -> tuple[_Node, list[Address], list[Address]]:
    async def scenario() -> tuple[_Node, list[Address], list[Address]]:
        port = free_port_block(1)
        node = _Node(LISTENER_SEED, port, [_config(peer_seed, port + 1)])
        node.network.hybrid_required = required
        await node.network.start()
        try:
            task = asyncio.ensure_future(_classical_peer(peer_seed, port, first))
            await _until(lambda: bool(node.network.links or node.offences), 20)
            linked, hybrid_links = node.network.connected(), node.network.hybrid_links()
            await task
            return node, linked, hybrid_links
        finally:
            await node.network.stop()

    return asyncio.run(scenario())


def test_a_classical_only_peer_is_linked_unsealed_where_hybrid_is_not_required() -> None:
    seed = os.urandom(32)
    node, linked, hybrid_links = _with_listener(seed, False, encode_frame(Status(3)))
    assert linked == [_config(seed, 0).node_id] and hybrid_links == []
    assert [frame for _, frame in node.frames] == [Status(3)]


def test_a_classical_only_peer_is_refused_where_the_chain_requires_hybrid_links() -> None:
    node, linked, _ = _with_listener(os.urandom(32), True, encode_frame(Status(3)))
    assert linked == [] and node.frames == []
    assert node.offences == [hybrid.CLASSICAL_ONLY]


def test_a_downgrade_that_strips_the_ml_kem_key_is_refused() -> None:
    offer = _dialler().offer
    stripped = encode_frame(HybridOffer(offer.x25519_key, b""))
    node, linked, _ = _with_listener(os.urandom(32), False, stripped)
    assert linked == [] and node.offences == [hybrid.DOWNGRADE]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def _decrypted_app_data(capture: Path, keylog: Path, base: int) -> bytes:
    """The TLS application data tshark decrypts from `capture` so far (the file may still be
    growing: a packet cut short at its end is left out, and tshark then exits non-zero)."""
    fields = subprocess.run(
        [
            *("tshark", "-r", str(capture), "-o", f"tls.keylog_file:{keylog}"),
            # The ports are not TLS's own: say so rather than rely on tshark's heuristics.
            *("-d", f"tcp.port=={base},tls", "-d", f"tcp.port=={base + 1},tls"),
            *("-Y", "tls.app_data", "-T", "fields", "-e", "data.data"),
        ],
        capture_output=True,
        check=False,
        timeout=120,
        text=True,
    ).stdout
    return bytes.fromhex("".join(line.split("\t")[-1] for line in fields.splitlines()))


def test_tshark_sees_the_ml_kem_offer_inside_the_tls_session(tmp_path: Path) -> None:
    """Capture one link on loopback, decrypt TLS with the dialler's key log, and find the
    HYBRID_OFFER (an ML-KEM-768 key) and HYBRID_KEYS (a ciphertext) frames in it."""
    keylog, capture = tmp_path / "keys.log", tmp_path / "link.pcapng"
    seeds = [os.urandom(32), os.urandom(32)]
    base = free_port_block(2)
    # [18, x25519 key, ML-KEM key] and [19, …]: the CBOR array heads after the length prefix
    offer_head = len(encode_frame(HybridOffer(bytes(32), bytes(1184)))) - 4
    offer = offer_head.to_bytes(4, "big") + bytes([0x83, 18])
    keys = bytes([0x85, 19, 0x58, 32])
    tshark = subprocess.Popen(
        ["tshark", "-i", "lo", "-f", f"tcp portrange {base}-{base + 1}", "-w", str(capture)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    decrypted = b""
    try:
        assert tshark.stderr is not None
        for _ in range(50):  # tshark says so once its capture runs
            if b"Capture started" in tshark.stderr.readline():
                break

        async def scenario() -> bool:
            nodes = [
                _Node(seeds[i], base + i, [_config(seeds[1 - i], base + 1 - i)]) for i in range(2)
            ]
            for node in nodes:
                node.network.client_context.keylog_filename = str(keylog)
                await node.network.start()
            try:
                return await _until(lambda: all(n.network.hybrid_links() for n in nodes), 20)
            finally:
                for node in nodes:
                    await node.network.stop()

        assert asyncio.run(scenario())
        # dumpcap drops what it has not yet read from the kernel's ring when told to stop, and
        # on a loaded machine it reads late: read the growing file until the frames are in it
        # (a fixed pause of 2 s once missed them) rather than stop the capture first.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            decrypted = _decrypted_app_data(capture, keylog, base)
            if offer in decrypted and keys in decrypted:
                break
            time.sleep(0.2)
    finally:
        tshark.send_signal(signal.SIGINT)
        tshark.wait(30)
    packets = subprocess.run(
        ["tshark", "-r", str(capture)], check=True, capture_output=True, timeout=120, text=True
    ).stdout
    assert offer in decrypted, packets[:3000]
    assert keys in decrypted
