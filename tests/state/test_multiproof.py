"""Multiproofs over the state tree: the root after writing the proven keys, computed from the
proof alone, is the whole tree's root after the same writes (random states and write sets,
puts and deletes); reads answer from the proof; a changed or incomplete proof is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import decode, encode
from metanode.docklock.appstate import ProvenState, ReadsError, Unproven, prove_keys, state_root
from metanode.errors import VerificationError
from metanode.state import multiproof, tree
from metanode.state.multiproof import Incomplete
from tests.conftest import examples

keys = st.binary(max_size=3)
states = st.dictionaries(keys, st.binary(max_size=4), max_size=40)
writes = st.dictionaries(keys, st.none() | st.binary(max_size=4), max_size=12)


def built(state: dict[bytes, bytes]) -> tuple[tree.MemoryNodes, bytes]:
    nodes = tree.MemoryNodes()
    update = tree.update(nodes, None, 0, list(state.items()))
    nodes.apply(update)
    return nodes, update.root


def whole_after(state: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> bytes:
    after = {**state, **changes}
    return built({key: value for key, value in after.items() if value is not None})[1]


@settings(max_examples=examples(150))
@given(states, writes)
def test_the_root_from_the_proof_is_the_whole_trees(
    state: dict[bytes, bytes], changes: dict[bytes, bytes | None]
) -> None:
    nodes, root = built(state)
    opened: list[bytes] = []
    while True:  # open what the writes need, as a prover does
        proof = multiproof.Proof.check(root, multiproof.expand(nodes, root, changes, opened))
        try:
            after = proof.apply(changes)
        except Incomplete as needed:
            opened.append(needed.path)
            continue
        break
    assert after == whole_after(state, changes)
    for key in changes:
        value = state.get(key)
        assert proof.read(key) == (None if value is None else tree.value_hash(value))


@settings(max_examples=examples(100))
@given(states, writes)
def test_an_app_state_replayed_from_proofs_has_the_whole_states_root(
    state: dict[bytes, bytes], changes: dict[bytes, bytes | None]
) -> None:
    proven = ProvenState.check(state_root(state), prove_keys(state, changes))
    whole = dict(state)
    for key, value in changes.items():
        assert proven.get(key) == state.get(key)
        if value is None:
            proven.pop(key, None)
            whole.pop(key, None)
        else:
            proven[key] = value
            whole[key] = value
    assert len(proven) == len(whole)
    assert state_root(proven) == state_root(whole)


def test_a_key_outside_the_proof_is_unproven_and_closed_nodes_are_incomplete() -> None:
    state = {bytes([index]): b"v" for index in range(200)}
    proven = ProvenState.check(state_root(state), prove_keys(state, [b"\x01"]))
    assert proven.get(b"\x01") == b"v"
    with pytest.raises(Unproven):
        proven.get(b"\x02")
    with pytest.raises(Unproven):
        proven[b"new"] = b"x"
    nodes, root = built(state)
    proof = multiproof.Proof.check(root, multiproof.expand(nodes, root, [b"\x01"]))
    with pytest.raises(Incomplete):
        proof.read(b"\x02")


def test_a_changed_proof_or_value_is_refused() -> None:
    state = {bytes([index]): b"v" for index in range(50)}
    root = state_root(state)
    evidence = prove_keys(state, [b"\x07", b"absent"])
    pairs, count, data = decode(evidence)
    forged = [
        encode([[[b"\x07", b"w"], [b"absent", None]], count, data]),
        encode([[[b"\x07", b"v"], [b"absent", b"v"]], count, data]),
        encode([pairs, count + 1, data]),
        encode([pairs, count, data[:-1] + bytes([data[-1] ^ 1])]),
        encode([[*pairs, pairs[0]], count, data]),
        b"\xff",
        encode([pairs, count]),
    ]
    for item in forged:
        with pytest.raises(VerificationError):
            ProvenState.check(root, item)
    ProvenState.check(root, evidence)
    with pytest.raises(VerificationError):
        ProvenState.check(state_root({}), evidence)


STATE = {bytes([index]): b"v" * (index % 5) for index in range(60)}
EVIDENCE = prove_keys(STATE, [b"\x07", b"\x30", b"absent"])


@settings(max_examples=examples(300))
@given(
    st.one_of(
        st.binary(max_size=200), st.tuples(st.integers(0, len(EVIDENCE) - 1), st.integers(1, 255))
    )
)
def test_garbage_or_a_flipped_byte_is_a_typed_refusal(garbage: bytes | tuple[int, int]) -> None:
    """What a ruling's sender controls never raises anything but the refusals the court
    turns into codes (or, rarely, still proves what it lists)."""
    if isinstance(garbage, tuple):
        position, flip = garbage
        data = bytearray(EVIDENCE)
        data[position] ^= flip
        garbage = bytes(data)
    try:
        ProvenState.check(state_root(STATE), garbage)
    except (ReadsError, Incomplete):
        pass
