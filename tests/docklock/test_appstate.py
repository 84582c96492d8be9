"""App state roots are the state tree's: every key's read (present or absent) verifies against
the root and fails when the value, the key or the root is changed; the count is in the root."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.docklock.appstate import EMPTY_ROOT, prove_read, state_root, verify_read
from metanode.errors import VerificationError
from metanode.state import tree

keys = st.binary(max_size=6)
states = st.dictionaries(keys, st.binary(max_size=8), max_size=12)


@given(states, keys)
def test_every_read_verifies_against_the_root(state: dict[bytes, bytes], key: bytes) -> None:
    root = state_root(state)
    for probe in [key, *state]:
        verify_read(root, probe, state.get(probe), prove_read(state, probe))


@given(states, keys, st.binary(max_size=8))
def test_a_read_of_another_value_or_root_fails(
    state: dict[bytes, bytes], key: bytes, other: bytes
) -> None:
    proof = prove_read(state, key)
    value = state.get(key)
    wrong = None if value is not None and other == b"" else other
    if wrong != value:
        with pytest.raises(VerificationError):
            verify_read(state_root(state), key, wrong, proof)
    changed = {**state, key: (value or b"") + b"!"}
    with pytest.raises(VerificationError):
        verify_read(state_root(changed), key, value, proof)


def test_the_count_is_in_the_root_so_no_root_is_the_empty_trees() -> None:
    assert state_root({}) == EMPTY_ROOT != tree.EMPTY_ROOT
    verify_read(EMPTY_ROOT, b"x", None, prove_read({}, b"x"))
    # The same entries under the root of a tree that counts them otherwise do not verify.
    state = {b"a": b"1"}
    entries = tree.update(tree.MemoryNodes(), None, 0, [(b"\x00a", b"1")]).root
    assert state_root(state) != entries
