"""The authenticated state tree against a dict model: roots depend only on content, every key
has a proof of its value or of its absence, proofs fail when anything is changed, and old
versions stay provable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.errors import VerificationError
from metanode.state import tree

keys = st.binary(min_size=1, max_size=6)
batches = st.lists(
    st.lists(st.tuples(keys, st.none() | st.binary(max_size=8)), max_size=12),
    min_size=1,
    max_size=6,
)


def fresh_root(content: dict[bytes, bytes]) -> bytes:
    nodes = tree.MemoryNodes()
    return tree.update(nodes, None, 1, sorted(content.items())).root


@given(batches)
@settings(max_examples=150, deadline=None)
def test_model_roots_and_proofs(sequence) -> None:
    nodes = tree.MemoryNodes()
    root = tree.EMPTY_ROOT
    model: dict[bytes, bytes] = {}
    history = []
    for version, batch in enumerate(sequence, start=1):
        last = {}
        for key, value in batch:
            last[key] = value  # within a block the last write to a key wins
        update = tree.update(nodes, root, version, sorted(last.items()))
        nodes.apply(update)
        for key, value in last.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        root = update.root
        # (a) the root depends only on the content, not on the path taken to it
        assert root == (fresh_root(model) if model else tree.EMPTY_ROOT)
        history.append((root, dict(model)))
        # (b) every present key proves its value; absent keys prove absence
        for key in sorted(set(model) | {key for key, _ in batch}):
            proof = tree.prove(nodes, root, key)
            tree.verify_proof(root, key, model.get(key), proof)
            # (c) a wrong value or a wrong root fails
            with pytest.raises(VerificationError):
                tree.verify_proof(root, key, (model.get(key) or b"") + b"!", proof)
            if root != tree.EMPTY_ROOT:
                with pytest.raises(VerificationError):
                    tree.verify_proof(bytes(31) + b"\x01", key, model.get(key), proof)
    # (d) old versions still answer proofs against their old root (nothing pruned here)
    for old_root, old_model in history:
        for key, value in old_model.items():
            tree.verify_proof(old_root, key, value, tree.prove(nodes, old_root, key))


def test_tampered_sibling_fails() -> None:
    nodes = tree.MemoryNodes()
    update = tree.update(nodes, None, 1, [(bytes([i]), b"v") for i in range(40)])
    nodes.apply(update)
    proof = tree.prove(nodes, update.root, b"\x05")
    levels, terminal = __import__("metanode.codec", fromlist=["decode"]).decode(proof)
    assert levels
    from metanode.codec import encode

    bad_level = bytes([levels[0][0] ^ 1]) + levels[0][1:]
    bad = encode([[bad_level, *levels[1:]], list(terminal)])
    with pytest.raises(VerificationError):
        tree.verify_proof(update.root, b"\x05", b"v", bad)


@given(st.binary(max_size=200))
def test_malformed_proofs_are_refused_with_a_typed_error(garbage: bytes) -> None:
    try:
        tree.verify_proof(bytes(32), b"k", None, garbage)
    except VerificationError:
        pass


def test_stale_nodes_are_listed_and_unchanged_batches_write_nothing() -> None:
    nodes = tree.MemoryNodes()
    first = tree.update(nodes, None, 1, [(b"a", b"1"), (b"b", b"2")])
    nodes.apply(first)
    second = tree.update(nodes, first.root, 2, [(b"a", b"3")])
    assert second.stale and all(key in nodes for key in second.stale)
    nodes.apply(second)
    same = tree.update(nodes, second.root, 3, [(b"zzz", None), (b"a", b"3")])
    assert same == tree.TreeUpdate(second.root, (), ())
