"""Hybrid link keys: every P2P session keyed by X25519 and ML-KEM-768 together, inside TLS.

Why inside TLS: the installed OpenSSL (3.0) has no X25519MLKEM768 group and Python's `ssl`
cannot choose TLS key-exchange groups (docs/decisions/pq-links.md). TLS 1.3 still authenticates
the peers (pinned node certificates, tls.py); this second exchange runs inside it, sans I/O —
the transport reads and writes, these functions decide:

    dialler  → HYBRID_OFFER  [X25519 key, ML-KEM-768 encapsulation key]   (fresh per link)
    listener → HYBRID_KEYS   [X25519 key, ML-KEM ciphertext, listener confirmation,
                              listener's ML-DSA-65 signature of the transcript]
    dialler  → first sealed record: dialler confirmation ‖ dialler's ML-DSA-65 signature

    transcript = tagged_hash(P2P_HYBRID, dialler id ‖ listener id ‖ both X25519 keys ‖
                             ML-KEM key ‖ ciphertext)
    keys = HKDF-SHA256(ikm = ML-KEM secret ‖ X25519 secret, salt = transcript, info = tag name)
         → dialler→listener key, listener→dialler key, dialler and listener confirmation keys
    confirmation = HMAC-SHA256(that side's confirmation key, transcript)

The ML-KEM secret comes first, as in TLS's X25519MLKEM768. Both secrets feed every key, so a
session stays secret while either X25519 or ML-KEM-768 holds: someone who records today's
traffic (TLS and all) and later breaks elliptic curves still faces ML-KEM. The node ids are the
ones TLS proved from the pinned certificates, so the keys are bound to those two identities.
After the handshake each frame body travels sealed (ChaCha20-Poly1305, per-direction keys, a
record counter as nonce), and TLS is an outer, classical layer around it.

Post-quantum authentication. TLS authenticates with Ed25519 only. Each side also signs the
transcript with its node's ML-DSA-65 key (`node_signer`: derived from the Ed25519 seed, so no
new key file; a quantum adversary who recovers the Ed25519 scalar from the public key still
cannot invert SHA-512 to the seed). Where the chain records an ML-DSA key for the peer's
identity (message 38, state/keys), the caller pins it and the peer's signature must verify
(`pq_authentication_failed`); where it records none, the signature is not checked.

A peer whose first frame is not part of this handshake offers classical keys only; the
transport refuses it where the chain requires hybrid links and otherwise counts it. Every
refusal is a `HandshakeRefused` whose `reason` is stable (it labels the offence metric).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from metanode.codec import tags
from metanode.crypto import pq, symmetric
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError, KeyFormatError, VerificationError
from metanode.types import Address

from .frames import HybridKeys, HybridOffer

_KEY_BYTES = symmetric.AEAD_KEY_BYTES
_NONCE_PAD = bytes(symmetric.AEAD_NONCE_BYTES - 8)
# A record counter past this would reuse a nonce; no link lives that long (2^64 records).
_RECORDS_MAX = 2**64 - 1

CLASSICAL_ONLY = "classical_only"
DOWNGRADE = "hybrid_downgrade"
MALFORMED_X25519 = "malformed_x25519_key"
MALFORMED_MLKEM_KEY = "malformed_mlkem_key"
MALFORMED_CIPHERTEXT = "malformed_mlkem_ciphertext"
CONFIRMATION_FAILED = "key_confirmation_failed"
PQ_AUTHENTICATION_FAILED = "pq_authentication_failed"
REASONS = (
    CLASSICAL_ONLY,
    DOWNGRADE,
    MALFORMED_X25519,
    MALFORMED_MLKEM_KEY,
    MALFORMED_CIPHERTEXT,
    CONFIRMATION_FAILED,
    PQ_AUTHENTICATION_FAILED,
)
_DIALLER_CONTEXT = tags.P2P_HYBRID.name_bytes + b"/dialler"
_LISTENER_CONTEXT = tags.P2P_HYBRID.name_bytes + b"/listener"
_CONFIRMATION_BYTES = 32


def node_signer(ed25519_seed: bytes) -> pq.MLDSA65PrivateKey:
    """The node's ML-DSA-65 key, derived from its Ed25519 seed (what message 38 records)."""
    info = tags.KEY_MIGRATION.name_bytes + b"/node-mldsa"
    seed = symmetric.hkdf_sha256(ed25519_seed, b"", info, pq.MLDSA_SEED_BYTES)
    return pq.MLDSA65PrivateKey.from_seed(seed)


def _authenticate(pin: bytes | None, transcript: bytes, signature: bytes, context: bytes) -> None:
    """A pinned peer must have signed the transcript with its recorded ML-DSA key."""
    if pin is None:
        return
    try:
        pq.mldsa65_verify(pin, transcript, signature, context)
    except (VerificationError, KeyFormatError):
        raise HandshakeRefused(
            PQ_AUTHENTICATION_FAILED,
            "the peer did not sign the handshake with the ML-DSA key its identity records",
        ) from None


class HandshakeRefused(VerificationError):
    """A hybrid handshake that cannot complete; `reason` is one of `REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


@dataclass(slots=True)
class Session:
    """The sealing keys of one established link, one counter per direction."""

    send_key: bytes
    receive_key: bytes
    sent: int = field(default=0)
    received: int = field(default=0)

    def seal(self, body: bytes) -> bytes:
        sealed = symmetric.seal(self.send_key, _nonce(self.sent), body)
        self.sent += 1
        return sealed

    def open(self, sealed: bytes) -> bytes:
        """The body of the next record; a record altered, replayed or reordered is refused."""
        try:
            body = symmetric.open_sealed(self.receive_key, _nonce(self.received), sealed)
        except VerificationError:
            raise DecodeError(
                "bad_seal", "a sealed record does not open with the link key"
            ) from None
        self.received += 1
        return body


def _nonce(counter: int) -> bytes:
    if counter > _RECORDS_MAX:
        raise DecodeError("link_exhausted", "the link sealed 2^64 records; reconnect")
    return _NONCE_PAD + counter.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class _Keys:
    transcript: bytes
    dialler_to_listener: bytes
    listener_to_dialler: bytes
    dialler_confirmation: bytes
    listener_confirmation: bytes


def _derive(
    dialler: Address,
    listener: Address,
    offer: HybridOffer,
    listener_x25519: bytes,
    ciphertext: bytes,
    kem_secret: bytes,
    dh_secret: bytes,
) -> _Keys:
    transcript = tagged_hash(
        tags.P2P_HYBRID,
        b"".join(
            [
                dialler.raw,
                listener.raw,
                offer.x25519_key,
                offer.mlkem_key,
                listener_x25519,
                ciphertext,
            ]
        ),
    )
    okm = symmetric.hkdf_sha256(
        kem_secret + dh_secret, transcript, tags.P2P_HYBRID.name_bytes, 4 * _KEY_BYTES
    )
    parts = [okm[i : i + _KEY_BYTES] for i in range(0, len(okm), _KEY_BYTES)]
    return _Keys(transcript, parts[0], parts[1], parts[2], parts[3])


def _confirmation(key: bytes, transcript: bytes) -> bytes:
    return symmetric.hmac_sha256(key, transcript)


def _exchange(private: symmetric.X25519PrivateKey, peer_key: bytes) -> bytes:
    try:
        return private.exchange(peer_key)
    except (KeyFormatError, VerificationError) as error:
        raise HandshakeRefused(MALFORMED_X25519, str(error)) from None


class Dialler:
    """The side that connected: offers fresh keys, then checks the listener's answer."""

    def __init__(
        self,
        me: Address,
        peer: Address,
        signer: pq.MLDSA65PrivateKey,
        pin: bytes | None = None,
    ) -> None:
        self._me = me
        self._peer = peer
        self._signer = signer
        self._pin = pin
        self._x25519 = symmetric.X25519PrivateKey.generate()
        self._kem = pq.MLKEM768PrivateKey.generate()
        self.offer = HybridOffer(self._x25519.public_key, self._kem.public_key)

    def finish(self, answer: HybridKeys) -> tuple[Session, bytes]:
        """The session, and the confirmation record to send first under it."""
        try:
            kem_secret = self._kem.decapsulate(answer.mlkem_ciphertext)
        except DecodeError as error:
            raise HandshakeRefused(MALFORMED_CIPHERTEXT, error.detail) from None
        dh_secret = _exchange(self._x25519, answer.x25519_key)
        keys = _derive(
            self._me,
            self._peer,
            self.offer,
            answer.x25519_key,
            answer.mlkem_ciphertext,
            kem_secret,
            dh_secret,
        )
        expected = _confirmation(keys.listener_confirmation, keys.transcript)
        if not hmac.compare_digest(expected, answer.confirmation):
            # A wrong ciphertext decapsulates to a pseudorandom secret (FIPS 203 implicit
            # rejection), so this is where it shows.
            raise HandshakeRefused(
                CONFIRMATION_FAILED, "the listener's confirmation does not match our keys"
            )
        _authenticate(self._pin, keys.transcript, answer.signature, _LISTENER_CONTEXT)
        session = Session(keys.dialler_to_listener, keys.listener_to_dialler)
        confirmation = _confirmation(keys.dialler_confirmation, keys.transcript)
        signature = self._signer.sign(keys.transcript, _DIALLER_CONTEXT)
        return session, session.seal(confirmation + signature)


@dataclass(frozen=True, slots=True)
class Pending:
    """The listener's side after answering: the session waits for the dialler's confirmation."""

    session: Session
    expected: bytes
    transcript: bytes
    pin: bytes | None

    def confirm(self, record: bytes) -> Session:
        try:
            plain = self.session.open(record)
        except DecodeError:
            plain = b""
        confirmation, signature = plain[:_CONFIRMATION_BYTES], plain[_CONFIRMATION_BYTES:]
        if not hmac.compare_digest(confirmation, self.expected):
            raise HandshakeRefused(
                CONFIRMATION_FAILED, "the dialler's confirmation does not match our keys"
            )
        _authenticate(self.pin, self.transcript, signature, _DIALLER_CONTEXT)
        return self.session


def listen(
    me: Address,
    peer: Address,
    offer: HybridOffer,
    signer: pq.MLDSA65PrivateKey,
    pin: bytes | None = None,
) -> tuple[HybridKeys, Pending]:
    """Answer a dialler's offer: the HYBRID_KEYS frame to send, and the pending session."""
    if not offer.mlkem_key:
        raise HandshakeRefused(DOWNGRADE, "the offer carries no ML-KEM-768 key")
    if len(offer.mlkem_key) != pq.MLKEM768_PUBLIC_KEY_BYTES:
        raise HandshakeRefused(
            MALFORMED_MLKEM_KEY,
            f"an ML-KEM-768 key is {pq.MLKEM768_PUBLIC_KEY_BYTES} bytes, "
            f"not {len(offer.mlkem_key)}",
        )
    try:
        kem_secret, ciphertext = pq.mlkem768_encapsulate(offer.mlkem_key)
    except KeyFormatError as error:
        raise HandshakeRefused(MALFORMED_MLKEM_KEY, str(error)) from None
    x25519 = symmetric.X25519PrivateKey.generate()
    dh_secret = _exchange(x25519, offer.x25519_key)
    keys = _derive(peer, me, offer, x25519.public_key, ciphertext, kem_secret, dh_secret)
    answer = HybridKeys(
        x25519.public_key,
        ciphertext,
        _confirmation(keys.listener_confirmation, keys.transcript),
        signer.sign(keys.transcript, _LISTENER_CONTEXT),
    )
    session = Session(keys.listener_to_dialler, keys.dialler_to_listener)
    expected = _confirmation(keys.dialler_confirmation, keys.transcript)
    return answer, Pending(session, expected, keys.transcript, pin)
