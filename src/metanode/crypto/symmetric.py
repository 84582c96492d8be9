"""HMAC-SHA256, HKDF-SHA256, ChaCha20-Poly1305 and X25519 from `cryptography` (OpenSSL), for
the peer links and the key files. Each is checked against its Wycheproof suite. Payloads
sealed to one recipient's X25519 key (shadow receipts' payloads) use `cryptography`'s HPKE
(RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305).

Choices for Wycheproof's `acceptable` X25519 cases (public keys on the twist, non-canonical
encodings, small or special values): X25519 is defined on all 32-byte strings (RFC 7748 masks
the top bit and works on the twist), so those compute the RFC's result and are accepted —
except where the shared secret is all zeros (a low-order peer key), which `exchange` refuses
as RFC 7748 §6.1 recommends: such a "secret" is known to everyone.
"""

from __future__ import annotations

import hmac as _hmac
from hashlib import sha256

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from metanode.errors import KeyFormatError, VerificationError

HKDF_OUTPUT_BYTES_MAX = 255 * 32
AEAD_KEY_BYTES = 32
AEAD_NONCE_BYTES = 12
X25519_BYTES = 32
_HPKE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return _hmac.new(key, data, sha256).digest()


def verify_hmac_sha256(key: bytes, data: bytes, tag: bytes) -> None:
    """Accepts a tag truncated to at least 16 bytes (a prefix of the full tag), as RFC 2104 §5."""
    full = hmac_sha256(key, data)
    if not 16 <= len(tag) <= len(full) or not _hmac.compare_digest(full[: len(tag)], tag):
        raise VerificationError("HMAC tag does not match")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    if not 0 < length <= HKDF_OUTPUT_BYTES_MAX:
        raise KeyFormatError(f"HKDF-SHA256 gives 1..{HKDF_OUTPUT_BYTES_MAX} bytes, not {length}")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)


def _aead(key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    if not isinstance(key, bytes) or len(key) != AEAD_KEY_BYTES:
        raise KeyFormatError(f"a ChaCha20-Poly1305 key is {AEAD_KEY_BYTES} bytes")
    if not isinstance(nonce, bytes) or len(nonce) != AEAD_NONCE_BYTES:
        raise KeyFormatError(f"a ChaCha20-Poly1305 nonce is {AEAD_NONCE_BYTES} bytes")
    return ChaCha20Poly1305(key)


def seal(key: bytes, nonce: bytes, plaintext: bytes, associated: bytes = b"") -> bytes:
    """Ciphertext with its 16-byte tag appended."""
    return _aead(key, nonce).encrypt(nonce, plaintext, associated)


def open_sealed(key: bytes, nonce: bytes, sealed: bytes, associated: bytes = b"") -> bytes:
    cipher = _aead(key, nonce)
    try:
        return cipher.decrypt(nonce, sealed, associated)
    except InvalidTag:
        raise VerificationError("ciphertext or associated data was altered (bad tag)") from None


class X25519PrivateKey:
    __slots__ = ("_key", "public_key")

    def __init__(self, key: x25519.X25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> X25519PrivateKey:
        return cls(x25519.X25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, data: bytes) -> X25519PrivateKey:
        if not isinstance(data, bytes) or len(data) != X25519_BYTES:
            raise KeyFormatError(f"an X25519 private key is {X25519_BYTES} bytes")
        return cls(x25519.X25519PrivateKey.from_private_bytes(data))

    def exchange(self, peer_public_key: bytes) -> bytes:
        if not isinstance(peer_public_key, bytes) or len(peer_public_key) != X25519_BYTES:
            raise KeyFormatError(f"an X25519 public key is {X25519_BYTES} bytes")
        peer = x25519.X25519PublicKey.from_public_bytes(peer_public_key)
        try:
            return self._key.exchange(peer)
        except ValueError:
            # OpenSSL refuses an all-zero result: the peer key has low order.
            raise VerificationError(
                "X25519 with a low-order public key (all-zero secret)"
            ) from None

    def hpke_open(self, sealed: bytes, info: bytes) -> bytes:
        """The plaintext `hpke_seal` sealed to this key with the same `info`."""
        try:
            return _HPKE.decrypt(sealed, self._key, info=info)
        except (InvalidTag, ValueError):
            raise VerificationError(
                "the sealed payload is not for this key, or was altered, or its context differs"
            ) from None


def hpke_seal(public_key: bytes, plaintext: bytes, info: bytes) -> bytes:
    """`plaintext` sealed to the X25519 `public_key`: the encapsulated key, then the
    ciphertext with its tag (RFC 9180 single-shot base mode); `info` binds the context."""
    if not isinstance(public_key, bytes) or len(public_key) != X25519_BYTES:
        raise KeyFormatError(f"an X25519 public key is {X25519_BYTES} bytes")
    recipient = x25519.X25519PublicKey.from_public_bytes(public_key)
    return _HPKE.encrypt(plaintext, recipient, info=info)
