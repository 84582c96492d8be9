from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import merkle
from metanode.errors import VerificationError
from tests.conftest import examples


def leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(index.to_bytes(4, "big")) for index in range(count)]


def reference_root(hashes: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, top-down, written independently of the module."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    split = 1
    while split * 2 < len(hashes):
        split *= 2
    return hashlib.sha256(
        b"\x01" + reference_root(hashes[:split]) + reference_root(hashes[split:])
    ).digest()


@given(st.integers(0, 70))
def test_bottom_up_root_equals_the_rfc_definition(count: int) -> None:
    assert merkle.root_from_leaf_hashes(leaves(count)) == reference_root(leaves(count))


@given(st.integers(1, 70), st.data())
@settings(max_examples=examples(200))
def test_inclusion_proofs_verify_and_tampering_fails(count: int, data: st.DataObject) -> None:
    hashes = leaves(count)
    index = data.draw(st.integers(0, count - 1))
    root = merkle.root_from_leaf_hashes(hashes)
    proof = merkle.inclusion_proof(hashes, index)
    merkle.verify_inclusion(hashes[index], index, count, proof, root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[position] = bytes(32)
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(hashes[index], index, count, bad, root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(hashes[index], index, count, [*proof, bytes(32)], root)
    if count > 1:
        other = (index + 1) % count
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(hashes[other], index, count, proof, root)


@given(st.integers(1, 70), st.data())
@settings(max_examples=examples(200))
def test_consistency_proofs_verify_and_tampering_fails(count: int, data: st.DataObject) -> None:
    hashes = leaves(count)
    old = data.draw(st.integers(1, count))
    old_root, new_root = (
        merkle.root_from_leaf_hashes(hashes[:old]),
        merkle.root_from_leaf_hashes(hashes),
    )
    proof = merkle.consistency_proof(hashes, old)
    merkle.verify_consistency(old, count, old_root, new_root, proof)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(old, count, old_root, bytes(32), proof)
    if proof:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(old, count, old_root, new_root, proof[:-1])


def test_bad_arguments_are_typed() -> None:
    with pytest.raises(VerificationError):
        merkle.inclusion_proof(leaves(3), 3)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(b"short", 0, 1, [], bytes(32))
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(bytes(32), 0, 2, [b"short"], bytes(32))
    with pytest.raises(VerificationError):
        merkle.verify_consistency(3, 2, bytes(32), bytes(32), [])
