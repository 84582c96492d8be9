"""RFC 9381 Appendix B.3 (ECVRF-EDWARDS25519-SHA512-TAI) byte for byte, and the ways a proof,
a key or an input can be wrong, each refused with VerificationError (never a nacl error)."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import vrf
from metanode.errors import KeyFormatError, VerificationError
from tests.conftest import load_vectors

VECTORS = load_vectors("ecvrf/rfc9381_b3_edwards25519_sha512_tai.json")["vectors"]
IDS = [f"example-{vector['example']}" for vector in VECTORS]
P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493


def fields(vector: dict[str, Any]) -> tuple[bytes, bytes, bytes, bytes]:
    return (
        bytes.fromhex(vector["sk"]),
        bytes.fromhex(vector["pk"]),
        bytes.fromhex(vector["alpha"]),
        bytes.fromhex(vector["pi"]),
    )


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_known_answers(vector: dict[str, Any]) -> None:
    seed, public_key, alpha, proof = fields(vector)
    assert vrf.public_key(seed) == public_key
    assert vrf._encode_to_curve(public_key, alpha).hex() == vector["h"]
    assert vrf.prove(seed, alpha) == proof
    assert vrf.verify(public_key, alpha, proof).hex() == vector["beta"]
    assert vrf.proof_to_hash(proof).hex() == vector["beta"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
@pytest.mark.parametrize("position", range(80))
def test_every_changed_proof_byte_is_refused(vector: dict[str, Any], position: int) -> None:
    _, public_key, alpha, proof = fields(vector)
    changed = bytearray(proof)
    changed[position] ^= 0x01
    with pytest.raises(VerificationError):
        vrf.verify(public_key, alpha, bytes(changed))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_wrong_key_and_wrong_input_are_refused(vector: dict[str, Any]) -> None:
    _, public_key, alpha, proof = fields(vector)
    other = VECTORS[(VECTORS.index(vector) + 1) % len(VECTORS)]
    with pytest.raises(VerificationError):
        vrf.verify(bytes.fromhex(other["pk"]), alpha, proof)
    with pytest.raises(VerificationError):
        vrf.verify(public_key, alpha + b"x", proof)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_non_canonical_encodings_are_refused(vector: dict[str, Any]) -> None:
    _, public_key, alpha, proof = fields(vector)
    # Gamma's y + p (when it fits in 255 bits) encodes the same point non-canonically.
    gamma_y = int.from_bytes(proof[:32], "little") & ((1 << 255) - 1)
    sign = proof[31] & 0x80
    if gamma_y + P < 2**255:
        alias = (gamma_y + P).to_bytes(32, "little")
        alias = alias[:31] + bytes([alias[31] | sign])
        with pytest.raises(VerificationError):
            vrf.verify(public_key, alpha, alias + proof[32:])
    # s + q: the same scalar, not reduced.
    s = int.from_bytes(proof[48:], "little")
    with pytest.raises(VerificationError, match="group order"):
        vrf.verify(public_key, alpha, proof[:48] + (s + Q).to_bytes(32, "little"))


def test_non_canonical_y_encoding_of_a_small_y_is_refused() -> None:
    _, public_key, alpha, proof = fields(VECTORS[0])
    # y = 1 (the identity) written as 1 + p: non-canonical, and of small order anyway.
    alias = (1 + P).to_bytes(32, "little")
    with pytest.raises(VerificationError):
        vrf.verify(public_key, alpha, alias + proof[32:])
    with pytest.raises(VerificationError):
        vrf.verify(alias, alpha, proof)


@pytest.mark.parametrize(
    "low_order_key",
    [
        "0100000000000000000000000000000000000000000000000000000000000000",  # identity
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
        "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    ],
)
def test_low_order_public_keys_are_refused(low_order_key: str) -> None:
    _, _, alpha, proof = fields(VECTORS[0])
    with pytest.raises(VerificationError):
        vrf.verify(bytes.fromhex(low_order_key), alpha, proof)


@pytest.mark.parametrize("length", [0, 79, 81, 160])
def test_proofs_of_the_wrong_length_are_refused(length: int) -> None:
    _, public_key, alpha, proof = fields(VECTORS[0])
    with pytest.raises(VerificationError):
        vrf.verify(public_key, alpha, (proof * 2)[:length])
    with pytest.raises(VerificationError):
        vrf.proof_to_hash((proof * 2)[:length])


def test_malformed_keys_are_typed() -> None:
    _, _, alpha, proof = fields(VECTORS[0])
    with pytest.raises(KeyFormatError):
        vrf.verify(bytes(31), alpha, proof)
    with pytest.raises(KeyFormatError):
        vrf.prove(bytes(31), alpha)
