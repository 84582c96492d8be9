"""BLS12-381 signatures, minimal-pubkey-size, proof-of-possession scheme as Ethereum uses it
(draft-irtf-cfrg-bls-signature-05): public keys in G1 (48 bytes compressed), signatures in G2
(96 bytes), hash-to-curve BLS12381G2_XMD:SHA-256_SSWU_RO_.

Built on `py-arkworks-bls12381` (the arkworks Rust curve code, maintained), which gives group
operations, RFC 9380 hash-to-curve with the DST as a parameter, and a multi-pairing check; the
scheme on top (KeyGen, KeyValidate, Sign, Verify, Aggregate, FastAggregateVerify,
AggregateVerify, PopProve, PopVerify) is the draft's few lines. Why this library and not
blspy: docs/decisions/bls-library.md (blspy fixes the DST, so it cannot run the Wycheproof
suites of other ciphersuites, and it is unmaintained).

Rules: every public key passes KeyValidate (a G1 point in the subgroup, not the identity) and
every signature must decode to a G2 point in the subgroup; anything else raises KeyFormatError
or VerificationError with a message, never a library error. Verification is one pairing-product
check: e(pk, H(m)) · e(−g1, σ) = 1. The ciphersuite's DST is a parameter of every function;
the defaults are the PoP ciphersuite's.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence

import py_arkworks_bls12381 as arkworks

from metanode.errors import KeyFormatError, VerificationError

SIGNATURE_DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
POP_DST = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
BASIC_DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"
PUBLIC_KEY_BYTES = 48
SIGNATURE_BYTES = 96
SECRET_KEY_BYTES = 32
ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
_KEYGEN_SALT = b"BLS-SIG-KEYGEN-SALT-"
_KEYGEN_OKM_BYTES = 48
_NEGATED_G1 = -arkworks.G1Point()


def public_key_point(public_key: bytes) -> arkworks.G1Point:
    """KeyValidate: a compressed G1 point in the subgroup, not the identity; the point, for
    `verify_with_points` (KeyFormatError otherwise)."""
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"a BLS public key is {PUBLIC_KEY_BYTES} bytes")
    try:
        point = arkworks.G1Point.from_compressed_bytes(public_key)
    except ValueError:
        raise KeyFormatError("the BLS public key is not a valid compressed G1 point") from None
    if point == arkworks.G1Point.identity():
        raise KeyFormatError("the BLS public key is the identity point")
    if not point.is_in_subgroup():
        raise KeyFormatError("the BLS public key is not in the prime-order subgroup")
    return point


def _point_g2(signature: bytes) -> arkworks.G2Point:
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise VerificationError(f"a BLS signature is {SIGNATURE_BYTES} bytes")
    try:
        point = arkworks.G2Point.from_compressed_bytes(signature)
    except ValueError:
        raise VerificationError("the BLS signature is not a valid compressed G2 point") from None
    if not point.is_in_subgroup():
        raise VerificationError("the BLS signature is not in the prime-order subgroup")
    return point


# A height's commit message is hashed to G2 for this node's own seal, for the quorum's
# certificate and again for the next block's last certificate (another signer subset), and a
# LogBlock's for each committee share: ≈ 0.56 ms each, the same few messages at a time. The
# points are immutable (arkworks' operators make new ones), so a bounded memo is safe to share.
_HASHED_MESSAGES_MAX = 16


@functools.lru_cache(maxsize=_HASHED_MESSAGES_MAX)
def hash_to_g2(message: bytes, dst: bytes) -> arkworks.G2Point:
    return arkworks.G2Point.hash_to_curve(message, dst)


class PrivateKey:
    __slots__ = ("_scalar", "public_key", "secret")

    def __init__(self, secret: int) -> None:
        if not 0 < secret < ORDER:
            raise KeyFormatError("a BLS secret key is an integer in 1..r-1")
        self.secret = secret
        self._scalar = arkworks.Scalar.from_le_bytes_mod_order(secret.to_bytes(32, "little"))
        self.public_key = (arkworks.G1Point() * self._scalar).to_compressed_bytes()

    @classmethod
    def keygen(cls, ikm: bytes, key_info: bytes = b"") -> PrivateKey:
        """KeyGen of draft-irtf-cfrg-bls-signature-05 §2.3 (HKDF-SHA256, salted and rehashed
        until the key is not zero)."""
        if len(ikm) < 32:
            raise KeyFormatError("BLS key generation needs at least 32 bytes of key material")
        salt = _KEYGEN_SALT
        secret = 0
        while secret == 0:
            salt = hashlib.sha256(salt).digest()
            prk = hmac.new(salt, ikm + b"\x00", hashlib.sha256).digest()
            info = key_info + _KEYGEN_OKM_BYTES.to_bytes(2, "big")
            okm, block = b"", b""
            for counter in range(1, 3):
                block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
                okm += block
            secret = int.from_bytes(okm[:_KEYGEN_OKM_BYTES], "big") % ORDER
        return cls(secret)

    @classmethod
    def from_bytes(cls, data: bytes) -> PrivateKey:
        if not isinstance(data, bytes) or len(data) != SECRET_KEY_BYTES:
            raise KeyFormatError(f"a BLS secret key is {SECRET_KEY_BYTES} bytes (big-endian)")
        return cls(int.from_bytes(data, "big"))

    def to_bytes(self) -> bytes:
        return self.secret.to_bytes(SECRET_KEY_BYTES, "big")

    def sign(self, message: bytes, dst: bytes = SIGNATURE_DST) -> bytes:
        return (hash_to_g2(message, dst) * self._scalar).to_compressed_bytes()

    def prove_possession(self) -> bytes:
        return self.sign(self.public_key, POP_DST)

    def __repr__(self) -> str:
        return f"bls.PrivateKey(public_key={self.public_key.hex()})"


def key_validate(public_key: bytes) -> None:
    public_key_point(public_key)


def _pairing_holds(pairs_g1: list[arkworks.G1Point], pairs_g2: list[arkworks.G2Point]) -> bool:
    return arkworks.GT.pairing_check(pairs_g1, pairs_g2)


def verify(
    public_key: bytes, message: bytes, signature: bytes, *, dst: bytes = SIGNATURE_DST
) -> None:
    point = public_key_point(public_key)
    sigma = _point_g2(signature)
    if not _pairing_holds([point, _NEGATED_G1], [hash_to_g2(message, dst), sigma]):
        raise VerificationError("BLS signature does not verify")


def aggregate_signatures(signatures: Sequence[bytes]) -> bytes:
    if not signatures:
        raise VerificationError("nothing to aggregate")
    total = arkworks.G2Point.identity()
    for signature in signatures:
        total = total + _point_g2(signature)
    return total.to_compressed_bytes()


def aggregate_public_keys(public_keys: Sequence[bytes]) -> bytes:
    return _sum_g1([public_key_point(key) for key in public_keys]).to_compressed_bytes()


def _sum_g1(points: Sequence[arkworks.G1Point]) -> arkworks.G1Point:
    if not points:
        raise VerificationError("no public keys")
    total = arkworks.G1Point.identity()
    for point in points:
        total = total + point
    return total


def fast_aggregate_verify(
    public_keys: Sequence[bytes], message: bytes, signature: bytes, *, dst: bytes = SIGNATURE_DST
) -> None:
    """All keys signed the same message (their possession proven beforehand, PoP scheme)."""
    verify_with_points([public_key_point(key) for key in public_keys], message, signature, dst=dst)


def verify_with_points(
    points: Sequence[arkworks.G1Point],
    message: bytes,
    signature: bytes,
    *,
    dst: bytes = SIGNATURE_DST,
) -> None:
    """FastAggregateVerify over keys already decoded and validated (a `KeyCache`)."""
    sigma = _point_g2(signature)
    if not _pairing_holds([_sum_g1(points), _NEGATED_G1], [hash_to_g2(message, dst), sigma]):
        raise VerificationError("aggregate BLS signature does not verify")


def aggregate_verify(
    public_keys: Sequence[bytes],
    messages: Sequence[bytes],
    signature: bytes,
    *,
    dst: bytes = SIGNATURE_DST,
    distinct_messages: bool = False,
) -> None:
    """Each key signed its own message. `distinct_messages=True` is the basic scheme's rule
    (without proofs of possession, equal messages would admit rogue-key forgeries)."""
    if not public_keys or len(public_keys) != len(messages):
        raise VerificationError("aggregate verification needs one message per public key")
    if distinct_messages and len(set(messages)) != len(messages):
        raise VerificationError("the basic scheme requires distinct messages")
    points = [public_key_point(key) for key in public_keys]
    sigma = _point_g2(signature)
    hashes = [hash_to_g2(message, dst) for message in messages]
    if not _pairing_holds([*points, _NEGATED_G1], [*hashes, sigma]):
        raise VerificationError("aggregate BLS signature does not verify")


def pop_prove(key: PrivateKey) -> bytes:
    return key.prove_possession()


def pop_verify(public_key: bytes, proof: bytes) -> None:
    verify(public_key, public_key, proof, dst=POP_DST)


def pop_is_valid(public_key: bytes, proof: bytes) -> bool:
    """`pop_verify` as a verdict, for rules that turn a bad proof into a result code."""
    try:
        pop_verify(public_key, proof)
    except (VerificationError, KeyFormatError):
        return False
    return True


class KeyCache:
    """Decoded, validated keys of a known validator set, so that verifying a certificate costs
    one aggregation and one pairing check, not a decompression and subgroup check per key."""

    def __init__(self) -> None:
        self._points: dict[bytes, arkworks.G1Point] = {}

    def point(self, public_key: bytes) -> arkworks.G1Point:
        point = self._points.get(public_key)
        if point is None:
            point = public_key_point(public_key)
            self._points[public_key] = point
        return point

    def fast_aggregate_verify(
        self,
        public_keys: Sequence[bytes],
        message: bytes,
        signature: bytes,
        *,
        dst: bytes = SIGNATURE_DST,
    ) -> None:
        verify_with_points([self.point(key) for key in public_keys], message, signature, dst=dst)
