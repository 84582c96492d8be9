"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite 0x03): prove, verify, proof-to-hash.

No maintained Python ECVRF exists, so this one is ours; it is checked byte for byte against
RFC 9381 Appendix B.3. The group arithmetic is libsodium's (PyNaCl's crypto_core_ed25519_* and
crypto_scalarmult_ed25519_*noclamp); only two steps are written here with Python integers,
because libsodium refuses points outside the prime-order subgroup and try-and-increment must
take any curve point before it clears the cofactor: decoding a candidate string to a point
(RFC 8032 §5.1.3) and multiplying it by the cofactor 8 (three doublings).

Keys are RFC 8032 Ed25519 keys: the secret scalar x and the nonce prefix come from
SHA-512(seed), the public key is the encoding of x·B.

Verification choices (stricter than the RFC allows, never failing an honest proof):
- the public key must be a canonical encoding of a point in the prime-order subgroup other than
  the identity (RFC 9381 §5.4.5 `validate_key`, extended to points with a torsion component);
- Gamma must be a canonical encoding of a point in the prime-order subgroup (an honest Gamma is
  x·H with H in that subgroup), s must be below q, and the proof exactly 80 bytes.
"""

from __future__ import annotations

import hashlib

import nacl.bindings as sodium
import nacl.exceptions

from metanode.errors import KeyFormatError, VerificationError

SUITE = b"\x03"
PROOF_BYTES = 80
OUTPUT_BYTES = 64
SEED_BYTES = 32
_C_BYTES = 16
_P = 2**255 - 19
_Q = 2**252 + 27742317777372353535851937790883648493  # the prime group order L
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_MINUS_ONE = pow(2, (_P - 1) // 4, _P)
_COFACTOR = (8).to_bytes(32, "little")
_TRY_MAX = 256  # each try succeeds with probability about 1/2


def _scalar(value: int) -> bytes:
    return value.to_bytes(32, "little")


def _sha512(*parts: bytes) -> bytes:
    return hashlib.sha512(b"".join(parts)).digest()


def _decode(encoded: bytes) -> tuple[int, int] | None:
    """RFC 8032 §5.1.3: the affine point, or None when the string encodes none."""
    y = int.from_bytes(encoded, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * _SQRT_MINUS_ONE % _P
    elif v * x * x % _P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _times_cofactor(point: tuple[int, int]) -> bytes:
    """8·P by three doublings in projective coordinates (a = −1), encoded."""
    x, y = point
    z = 1
    for _ in range(3):
        a, b = x * x % _P, y * y % _P
        c = 2 * z * z % _P
        e = ((x + y) * (x + y) - a - b) % _P
        g = (b - a) % _P
        f = (g - c) % _P
        h = (-a - b) % _P
        x, y, z = e * f % _P, g * h % _P, f * g % _P
    inverse = pow(z, _P - 2, _P)
    affine_x, affine_y = x * inverse % _P, y * inverse % _P
    return (affine_y | (affine_x & 1) << 255).to_bytes(32, "little")


def _encode_to_curve(public_key: bytes, alpha: bytes) -> bytes:
    """RFC 9381 §5.4.1.1, try-and-increment; returns the encoding of H."""
    for counter in range(_TRY_MAX):
        candidate = _sha512(SUITE, b"\x01", public_key, alpha, bytes([counter]), b"\x00")[:32]
        point = _decode(candidate)
        if point is not None:
            return _times_cofactor(point)
    raise VerificationError("no curve point found for this input (probability 2^-256)")


def _challenge(*points: bytes) -> int:
    digest = _sha512(SUITE, b"\x02", *points, b"\x00")
    return int.from_bytes(digest[:_C_BYTES], "little")


def _expand(seed: bytes) -> tuple[int, bytes, bytes]:
    """(secret scalar x, nonce prefix, public key) from an RFC 8032 seed."""
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise KeyFormatError(f"a VRF secret key is a {SEED_BYTES}-byte Ed25519 seed")
    digest = hashlib.sha512(seed).digest()
    clamped = bytearray(digest[:32])
    clamped[0] &= 248
    clamped[31] &= 127
    clamped[31] |= 64
    x = int.from_bytes(clamped, "little")
    public_key = sodium.crypto_scalarmult_ed25519_base_noclamp(bytes(clamped))
    return x, digest[32:], public_key


def _multiply(scalar: int, point: bytes) -> bytes:
    return sodium.crypto_scalarmult_ed25519_noclamp(_scalar(scalar % _Q), point)


def public_key(seed: bytes) -> bytes:
    return _expand(seed)[2]


def prove(seed: bytes, alpha: bytes) -> bytes:
    """The 80-byte proof pi = Gamma ‖ c ‖ s for input `alpha` under the key of `seed`."""
    x, prefix, public = _expand(seed)
    h = _encode_to_curve(public, alpha)
    try:
        gamma = _multiply(x, h)
        k = int.from_bytes(_sha512(prefix, h), "little") % _Q
        k_b = sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(k))
        k_h = _multiply(k, h)
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError) as error:
        raise VerificationError(f"VRF proof failed on a degenerate point: {error}") from None
    c = _challenge(public, h, gamma, k_b, k_h)
    s = (k + c * x) % _Q
    return gamma + c.to_bytes(_C_BYTES, "little") + _scalar(s)


def _valid_point(encoded: bytes) -> bool:
    return sodium.crypto_core_ed25519_is_valid_point(encoded)


def proof_to_hash(proof: bytes) -> bytes:
    """beta: the 64-byte VRF output of a proof (RFC 9381 §5.2). Call `verify` first."""
    if not isinstance(proof, bytes) or len(proof) != PROOF_BYTES or not _valid_point(proof[:32]):
        raise VerificationError("not a VRF proof: Gamma is not a valid point")
    try:
        gamma_8 = sodium.crypto_scalarmult_ed25519_noclamp(_COFACTOR, proof[:32])
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError):
        raise VerificationError("not a VRF proof: Gamma is degenerate") from None
    return _sha512(SUITE, b"\x03", gamma_8, b"\x00")


def verify(public_key_: bytes, alpha: bytes, proof: bytes) -> bytes:
    """beta if `proof` proves `alpha` under `public_key_`; else VerificationError."""
    if not isinstance(public_key_, bytes) or len(public_key_) != 32:
        raise KeyFormatError("a VRF public key is 32 bytes")
    if not _valid_point(public_key_):
        raise VerificationError("the VRF public key is not a valid prime-order point")
    if not isinstance(proof, bytes) or len(proof) != PROOF_BYTES:
        raise VerificationError(f"a VRF proof is {PROOF_BYTES} bytes")
    gamma = proof[:32]
    c = int.from_bytes(proof[32:48], "little")
    s = int.from_bytes(proof[48:], "little")
    if s >= _Q:
        raise VerificationError("the proof's s is not below the group order")
    if not _valid_point(gamma):
        raise VerificationError("the proof's Gamma is not a valid prime-order point")
    h = _encode_to_curve(public_key_, alpha)
    try:
        s_b = sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(s))
        u = sodium.crypto_core_ed25519_sub(s_b, _multiply(c, public_key_))
        v = sodium.crypto_core_ed25519_sub(_multiply(s, h), _multiply(c, gamma))
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError):
        raise VerificationError("VRF proof does not verify (degenerate point)") from None
    if _challenge(public_key_, h, gamma, u, v) != c:
        raise VerificationError("VRF proof does not verify")
    return proof_to_hash(proof)
