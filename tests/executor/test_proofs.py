"""Read proofs against RFC 6962 state roots: presence and absence verify with crypto.merkle's
verifier and fail when anything in them is changed."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from metanode.crypto import merkle
from metanode.docklock.receipt import state_root
from metanode.errors import VerificationError
from metanode.executor.proofs import Leaf, ReadProof, prove, verify_read

keys = st.binary(min_size=1, max_size=6)
states = st.dictionaries(keys, st.binary(max_size=8), max_size=12)


@given(states, keys)
def test_every_read_verifies_against_the_root(state: dict[bytes, bytes], key: bytes) -> None:
    for probe in [key, *state]:
        assert verify_read(state_root(state), prove(state, probe)) == state.get(probe)


def tampered(proof: ReadProof, data: st.DataObject) -> ReadProof:
    if not proof.leaves:
        return dataclasses.replace(proof, tree_size=1)
    position = data.draw(st.integers(0, len(proof.leaves) - 1))
    leaf = proof.leaves[position]
    change = data.draw(st.sampled_from(["key", "value", "index", "path", "drop", "size"]))
    if change == "drop":
        return dataclasses.replace(
            proof, leaves=proof.leaves[:position] + proof.leaves[position + 1 :]
        )
    if change == "size":
        return dataclasses.replace(proof, tree_size=proof.tree_size + 1)
    changed: Leaf
    if change == "key":
        changed = dataclasses.replace(leaf, key=leaf.key + b"\x00")
    elif change == "value":
        changed = dataclasses.replace(leaf, value=leaf.value + b"\x01")
    elif change == "index":
        changed = dataclasses.replace(leaf, index=leaf.index + 1)
    else:
        extra = (bytes(32),) if not leaf.path else (bytes(32), *leaf.path[1:])
        changed = dataclasses.replace(leaf, path=extra)
    leaves = list(proof.leaves)
    leaves[position] = changed
    return dataclasses.replace(proof, leaves=tuple(leaves))


@given(states, keys, st.data())
def test_a_changed_proof_fails_or_proves_nothing_else(
    state: dict[bytes, bytes], key: bytes, data: st.DataObject
) -> None:
    proof = tampered(prove(state, key), data)
    try:
        value = verify_read(state_root(state), proof)
    except VerificationError:
        return
    # A changed proof that still verifies can only prove the truth (dropping one of two
    # neighbours at an end of the tree, say): never a wrong value.
    assert value == state.get(proof.key)


@given(states, keys, st.binary(max_size=8))
def test_a_proof_does_not_transfer_to_another_root(
    state: dict[bytes, bytes], key: bytes, value: bytes
) -> None:
    assume(state.get(key) != value + b"!")
    changed = {**state, key: value + b"!"}
    with pytest.raises(VerificationError):
        verify_read(state_root(changed), prove(state, key))


def test_absence_needs_adjacent_neighbours_around_the_key() -> None:
    state = {b"a": b"1", b"c": b"3", b"e": b"5"}
    root = state_root(state)
    far = ReadProof(b"b", 3, (prove(state, b"a").leaves[0], prove(state, b"e").leaves[0]))
    with pytest.raises(VerificationError, match="adjacent"):
        verify_read(root, far)
    with pytest.raises(VerificationError, match="either end"):
        verify_read(root, ReadProof(b"b", 3, prove(state, b"a").leaves))
    assert verify_read(merkle.EMPTY_ROOT, prove({}, b"x")) is None
    with pytest.raises(VerificationError, match="non-empty"):
        verify_read(root, ReadProof(b"b", 3, ()))
