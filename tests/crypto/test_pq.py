from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import pq
from metanode.errors import KeyFormatError, VerificationError

KEY = pq.HybridPrivateKey.generate()
OTHER = pq.HybridPrivateKey.generate()


@given(st.binary(max_size=128))
@settings(max_examples=20, deadline=None)
def test_hybrid_roundtrip(message: bytes) -> None:
    pq.verify_hybrid(*KEY.public_keys, message, KEY.sign(message))


def test_each_half_is_required_and_named() -> None:
    signature = KEY.sign(b"m")
    broken_ed = bytes(64) + signature[64:]
    with pytest.raises(VerificationError, match="Ed25519 half"):
        pq.verify_hybrid(*KEY.public_keys, b"m", broken_ed)
    broken_pq = signature[:64] + bytes(len(signature) - 64)
    with pytest.raises(VerificationError, match="ML-DSA-65 half"):
        pq.verify_hybrid(*KEY.public_keys, b"m", broken_pq)


def test_halves_cannot_be_mixed_across_keys() -> None:
    ours, theirs = KEY.sign(b"m"), OTHER.sign(b"m")
    mixed = ours[:64] + theirs[64:]
    with pytest.raises(VerificationError):
        pq.verify_hybrid(KEY.public_keys[0], OTHER.public_keys[1], b"m", mixed)
    with pytest.raises(VerificationError):
        pq.verify_hybrid(KEY.public_keys[0], OTHER.public_keys[1], b"m", ours)


def test_mlkem_roundtrip_and_implicit_rejection() -> None:
    key = pq.MLKEM768PrivateKey.generate()
    secret, ciphertext = pq.mlkem768_encapsulate(key.public_key)
    assert key.decapsulate(ciphertext) == secret
    altered = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    assert key.decapsulate(altered) != secret  # FIPS 203 implicit rejection, not an error
    with pytest.raises(KeyFormatError):
        pq.mlkem768_encapsulate(b"short")


def test_mldsa_context_and_lengths() -> None:
    key = pq.MLDSA65PrivateKey.from_seed(bytes(32))
    signature = key.sign(b"m", b"ctx")
    pq.mldsa65_verify(key.public_key, b"m", signature, b"ctx")
    with pytest.raises(VerificationError):
        pq.mldsa65_verify(key.public_key, b"m", signature, b"other")
    with pytest.raises(KeyFormatError):
        pq.mldsa65_verify(b"short", b"m", signature)
