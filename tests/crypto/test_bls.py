from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import bls
from metanode.errors import KeyFormatError, VerificationError

KEYS = [bls.PrivateKey.keygen(bytes([index + 1]) * 32) for index in range(5)]


def test_keygen_matches_eip2333_master_key() -> None:
    # EIP-2333 test case 0: derive_master_SK is the draft's KeyGen with empty key_info.
    seed = bytes.fromhex(
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264"
        "c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
    )
    expected = 6083874454709270928345386274498605044986640685124978867557563392430687146096
    assert bls.PrivateKey.keygen(seed).secret == expected


@given(st.binary(max_size=64))
@settings(max_examples=15, deadline=None)
def test_sign_verify_and_a_changed_message_fails(message: bytes) -> None:
    signature = KEYS[0].sign(message)
    bls.verify(KEYS[0].public_key, message, signature)
    with pytest.raises(VerificationError):
        bls.verify(KEYS[0].public_key, message + b"!", signature)
    with pytest.raises(VerificationError):
        bls.verify(KEYS[1].public_key, message, signature)


def test_fast_aggregate_verify_needs_every_signer() -> None:
    message = b"commit seal"
    aggregate = bls.aggregate_signatures([key.sign(message) for key in KEYS[:4]])
    keys = [key.public_key for key in KEYS[:4]]
    bls.fast_aggregate_verify(keys, message, aggregate)
    cache = bls.KeyCache()
    cache.fast_aggregate_verify(keys, message, aggregate)
    with pytest.raises(VerificationError):
        bls.fast_aggregate_verify(keys[:3], message, aggregate)
    with pytest.raises(VerificationError):
        bls.fast_aggregate_verify([*keys[:3], KEYS[4].public_key], message, aggregate)


def test_proof_of_possession() -> None:
    proof = KEYS[0].prove_possession()
    bls.pop_verify(KEYS[0].public_key, proof)
    with pytest.raises(VerificationError):
        bls.pop_verify(KEYS[1].public_key, proof)
    # A signature under the message DST is not a proof of possession (domain separation).
    with pytest.raises(VerificationError):
        bls.pop_verify(KEYS[0].public_key, KEYS[0].sign(KEYS[0].public_key))


def test_identity_and_malformed_keys_are_refused() -> None:
    identity = b"\xc0" + bytes(47)
    with pytest.raises(KeyFormatError, match="identity"):
        bls.key_validate(identity)
    with pytest.raises(KeyFormatError):
        bls.key_validate(bytes(48))
    with pytest.raises(KeyFormatError):
        bls.key_validate(b"short")
    with pytest.raises(VerificationError):
        bls.verify(KEYS[0].public_key, b"m", b"\xc0" + bytes(95))  # identity signature
    with pytest.raises(VerificationError):
        bls.verify(KEYS[0].public_key, b"m", bytes(96))


def test_point_outside_the_subgroup_is_refused() -> None:
    # x = 4 gives a point on E(Fp) (y^2 = 68 is a square) whose order is not r.
    import py_arkworks_bls12381 as arkworks

    found = None
    for x in range(1, 50):
        encoded = bytes([0x80 | 0]) + x.to_bytes(48, "big")[1:]
        try:
            point = arkworks.G1Point.from_compressed_bytes_unchecked(encoded)
        except ValueError:
            continue
        if not point.is_in_subgroup():
            found = encoded
            break
    assert found is not None
    with pytest.raises(KeyFormatError):
        bls.key_validate(found)


def test_secret_key_bytes_roundtrip_and_range() -> None:
    assert bls.PrivateKey.from_bytes(KEYS[0].to_bytes()).public_key == KEYS[0].public_key
    with pytest.raises(KeyFormatError):
        bls.PrivateKey.from_bytes(bytes(32))
    with pytest.raises(KeyFormatError):
        bls.PrivateKey.keygen(b"too short")
