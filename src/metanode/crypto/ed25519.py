"""Ed25519 signatures on PyNaCl (libsodium), with one pinned verification rule.

The rule (docs/decisions/ed25519-rule.md): a signature (R, S) by key A on message M is valid
iff A and R are canonical encodings, neither A nor R is a point of small order, S < L, and the
cofactorless equation [S]B = R + [SHA-512(R ‖ A ‖ M)]A holds. This is RFC 8032's strict
verification plus a small-order blocklist: libsodium's crypto_sign_verify since 1.0.16 and
ed25519-dalek's `verify_strict`. Of the CCTV edge cases it accepts exactly those whose only
flags are `low_order_component_A/R` (mixed-order points whose torsion cancels) and rejects
the rest; `tests/vectors/test_ed25519_cctv.py` pins every one of the 914 so that a libsodium
upgrade that changed the rule would fail the build instead of forking the chain.

Why this rule: every node must decide every signature the same way (consensus), an honest
signer never produces any of the rejected forms, and the strict rule closes malleability
(non-canonical R, S ≥ L) and key-substitution tricks with small-order keys. ZIP-215's
"accept everything" rule would also be deterministic, but it needs a cofactored verifier
that libsodium does not expose.

Two implementations of the rule: the compiled core (`metanode._core`, ed25519-dalek's
`verify_strict` behind a canonical-encoding screen, the default) and the reference here on
PyNaCl (`METANODE_CORE=python`, `metanode.core`). The vector tests run both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import nacl.bindings
import nacl.exceptions
from nacl._sodium import ffi, lib

from metanode import core
from metanode.errors import KeyFormatError, VerificationError

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
_message_buffer_max = 1 << 20


class PrivateKey:
    """An Ed25519 signing key, held as its 32-byte seed."""

    __slots__ = ("_secret", "public_key", "seed")

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise KeyFormatError(f"an Ed25519 seed is {SEED_BYTES} bytes")
        self.seed = seed
        self.public_key, self._secret = nacl.bindings.crypto_sign_seed_keypair(seed)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(os.urandom(SEED_BYTES))

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        return cls(seed)

    def sign(self, message: bytes) -> bytes:
        return nacl.bindings.crypto_sign(message, self._secret)[:SIGNATURE_BYTES]

    def __repr__(self) -> str:
        return f"PrivateKey(public_key={self.public_key.hex()})"


def _check_lengths(public_key: bytes, signature: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise VerificationError(f"an Ed25519 signature is {SIGNATURE_BYTES} bytes")


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise VerificationError unless `signature` is valid under the pinned rule."""
    _check_lengths(public_key, signature)
    compiled = core.native()
    if compiled is not None:
        if not compiled.verify(public_key, message, signature):
            raise VerificationError("Ed25519 signature does not verify")
        return
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except nacl.exceptions.BadSignatureError:
        raise VerificationError("Ed25519 signature does not verify") from None
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as error:
        raise VerificationError(f"Ed25519 signature rejected: {error}") from None


def is_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        verify(public_key, message, signature)
    except (VerificationError, KeyFormatError):
        return False
    return True


def verify_many(items: Sequence[tuple[bytes, bytes, bytes]], *, threads: int = 1) -> list[bool]:
    """Verify (public key, message, signature) triples; one verdict each, in order. Malformed
    items are False, never an exception. The compiled core crosses into Rust once for the
    list and verifies on up to `threads` threads with the GIL released; the reference runs on
    the calling thread (`verifiers.BatchVerifier` runs it in worker processes)."""
    compiled = core.native()
    if compiled is not None:
        return compiled.verify_many(items, threads)  # type: ignore[no-any-return]
    return reference_verify_many(items)


def reference_verify_many(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    """`verify_many` on PyNaCl, whatever METANODE_CORE says (the bench measures both)."""
    # libsodium called through cffi directly, one output buffer for the whole list: PyNaCl's
    # wrapper allocates and concatenates per call (through it two threads gained 1.2x, calling
    # the function directly 1.5x; the worker processes of `verifiers` run this loop).
    longest = max((len(message) for _, message, _ in items), default=0)
    out = ffi.new("unsigned char[]", min(longest, _message_buffer_max) + SIGNATURE_BYTES)
    out_length = ffi.new("unsigned long long *")
    results = []
    for public_key, message, signature in items:
        if (
            type(public_key) is not bytes
            or len(public_key) != PUBLIC_KEY_BYTES
            or type(signature) is not bytes
            or len(signature) != SIGNATURE_BYTES
            or len(message) > _message_buffer_max
        ):
            results.append(False)
            continue
        signed = signature + message
        results.append(lib.crypto_sign_open(out, out_length, signed, len(signed), public_key) == 0)
    return results
