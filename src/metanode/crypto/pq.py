"""Post-quantum signatures and key encapsulation from `cryptography` (FIPS 204 ML-DSA-65,
FIPS 203 ML-KEM-768), and the hybrid account signature: Ed25519 and ML-DSA-65 over one
domain-separated message, both required.

Hybrid message: `"metanode/hybrid-sig/v1" ‖ 0x00 ‖ len16(ed25519 key) ‖ ed25519 key ‖
len16(ML-DSA key) ‖ ML-DSA key ‖ message`. Binding both public keys into what each half signs
means neither half can be lifted into another hybrid signature (stripping one half, or pairing
it with a different key of the other kind, leaves a signature over a different message). A
hybrid signature is the 64-byte Ed25519 signature followed by the 3,309-byte ML-DSA-65 one.

ML-KEM decapsulation of a wrong ciphertext returns a pseudorandom secret (FIPS 203's implicit
rejection), not an error: the parties' later key confirmation (an AEAD tag) is what fails.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

from metanode.codec import tags
from metanode.crypto import ed25519
from metanode.errors import DecodeError, KeyFormatError, VerificationError

MLDSA65_PUBLIC_KEY_BYTES = 1952
MLDSA65_SIGNATURE_BYTES = 3309
MLDSA_SEED_BYTES = 32
MLKEM768_PUBLIC_KEY_BYTES = 1184
MLKEM768_CIPHERTEXT_BYTES = 1088
MLKEM_SEED_BYTES = 64
HYBRID_SIGNATURE_BYTES = ed25519.SIGNATURE_BYTES + MLDSA65_SIGNATURE_BYTES
CONTEXT_BYTES_MAX = 255


class MLDSA65PrivateKey:
    __slots__ = ("_key", "public_key")

    def __init__(self, key: mldsa.MLDSA65PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> MLDSA65PrivateKey:
        return cls(mldsa.MLDSA65PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> MLDSA65PrivateKey:
        if not isinstance(seed, bytes) or len(seed) != MLDSA_SEED_BYTES:
            raise KeyFormatError(f"an ML-DSA-65 seed is {MLDSA_SEED_BYTES} bytes")
        return cls(mldsa.MLDSA65PrivateKey.from_seed_bytes(seed))

    def sign(self, message: bytes, context: bytes = b"") -> bytes:
        if len(context) > CONTEXT_BYTES_MAX:
            raise KeyFormatError(f"an ML-DSA context is at most {CONTEXT_BYTES_MAX} bytes")
        return self._key.sign(message, context or None)


def mldsa65_verify(
    public_key: bytes, message: bytes, signature: bytes, context: bytes = b""
) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != MLDSA65_PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"an ML-DSA-65 public key is {MLDSA65_PUBLIC_KEY_BYTES} bytes")
    if len(context) > CONTEXT_BYTES_MAX:
        raise VerificationError(f"an ML-DSA context is at most {CONTEXT_BYTES_MAX} bytes")
    if not isinstance(signature, bytes) or len(signature) != MLDSA65_SIGNATURE_BYTES:
        raise VerificationError(f"an ML-DSA-65 signature is {MLDSA65_SIGNATURE_BYTES} bytes")
    try:
        key = mldsa.MLDSA65PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise KeyFormatError("not a valid ML-DSA-65 public key") from None
    try:
        key.verify(signature, message, context or None)
    except InvalidSignature:
        raise VerificationError("ML-DSA-65 signature does not verify") from None


class MLKEM768PrivateKey:
    __slots__ = ("_key", "public_key")

    def __init__(self, key: mlkem.MLKEM768PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> MLKEM768PrivateKey:
        return cls(mlkem.MLKEM768PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> MLKEM768PrivateKey:
        """The FIPS 203 seed d ‖ z (64 bytes)."""
        if not isinstance(seed, bytes) or len(seed) != MLKEM_SEED_BYTES:
            raise KeyFormatError(f"an ML-KEM-768 seed is {MLKEM_SEED_BYTES} bytes")
        return cls(mlkem.MLKEM768PrivateKey.from_seed_bytes(seed))

    def decapsulate(self, ciphertext: bytes) -> bytes:
        if not isinstance(ciphertext, bytes) or len(ciphertext) != MLKEM768_CIPHERTEXT_BYTES:
            raise DecodeError(
                "wrong_length", f"an ML-KEM-768 ciphertext is {MLKEM768_CIPHERTEXT_BYTES} bytes"
            )
        return self._key.decapsulate(ciphertext)


def mlkem768_encapsulate(public_key: bytes) -> tuple[bytes, bytes]:
    """(shared secret, ciphertext) for the holder of `public_key`."""
    if not isinstance(public_key, bytes) or len(public_key) != MLKEM768_PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"an ML-KEM-768 public key is {MLKEM768_PUBLIC_KEY_BYTES} bytes")
    try:
        key = mlkem.MLKEM768PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise KeyFormatError("not a valid ML-KEM-768 public key (modulus check)") from None
    return key.encapsulate()


def _hybrid_message(ed25519_key: bytes, mldsa_key: bytes, message: bytes) -> bytes:
    return b"".join(
        [
            tags.HYBRID_SIGNATURE.name_bytes,
            b"\x00",
            len(ed25519_key).to_bytes(2, "big"),
            ed25519_key,
            len(mldsa_key).to_bytes(2, "big"),
            mldsa_key,
            message,
        ]
    )


class HybridPrivateKey:
    __slots__ = ("ed25519", "mldsa")

    def __init__(self, ed25519_key: ed25519.PrivateKey, mldsa_key: MLDSA65PrivateKey) -> None:
        self.ed25519 = ed25519_key
        self.mldsa = mldsa_key

    @classmethod
    def generate(cls) -> HybridPrivateKey:
        return cls(ed25519.PrivateKey.generate(), MLDSA65PrivateKey.generate())

    @property
    def public_keys(self) -> tuple[bytes, bytes]:
        return self.ed25519.public_key, self.mldsa.public_key

    def sign(self, message: bytes) -> bytes:
        bound = _hybrid_message(self.ed25519.public_key, self.mldsa.public_key, message)
        return self.ed25519.sign(bound) + self.mldsa.sign(bound)


def verify_hybrid(ed25519_key: bytes, mldsa_key: bytes, message: bytes, signature: bytes) -> None:
    """Both halves must verify; the error names the half that did not."""
    if not isinstance(signature, bytes) or len(signature) != HYBRID_SIGNATURE_BYTES:
        raise VerificationError(f"a hybrid signature is {HYBRID_SIGNATURE_BYTES} bytes")
    bound = _hybrid_message(ed25519_key, mldsa_key, message)
    try:
        ed25519.verify(ed25519_key, bound, signature[: ed25519.SIGNATURE_BYTES])
    except VerificationError:
        raise VerificationError("hybrid signature: the Ed25519 half does not verify") from None
    try:
        mldsa65_verify(mldsa_key, bound, signature[ed25519.SIGNATURE_BYTES :])
    except VerificationError:
        raise VerificationError("hybrid signature: the ML-DSA-65 half does not verify") from None
