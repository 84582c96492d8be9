"""The authenticated state tree against a dict model: roots depend only on content, every key
has a proof of its value or of its absence, proofs fail when anything is changed, and old
versions stay provable."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.errors import VerificationError
from metanode.state import tree
from tests.conftest import examples

keys = st.binary(min_size=1, max_size=6)
batches = st.lists(
    st.lists(st.tuples(keys, st.none() | st.binary(max_size=8)), max_size=12),
    min_size=1,
    max_size=6,
)


def fresh_root(content: dict[bytes, bytes]) -> bytes:
    nodes = tree.MemoryNodes()
    return tree.update(nodes, None, 1, sorted(content.items())).root


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_root(content: dict[bytes, bytes]) -> bytes:
    """The root straight from the definition in docs/decisions/state-tree.md, written
    independently of tree.py: a leaf at the shallowest depth where its key hash's nibble
    prefix is unique, each 16-slot node folded as a binary tree in which two empties stay
    empty."""

    def nibble(hashed: bytes, depth: int) -> int:
        return hashed[depth // 2] >> 4 if depth % 2 == 0 else hashed[depth // 2] & 15

    def pair(left: bytes, right: bytes) -> bytes:
        return bytes(32) if left == right == bytes(32) else _sha(b"\x01" + left + right)

    def subtree(items: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not items:
            return bytes(32)
        if len(items) == 1:
            return _sha(b"\x00" + items[0][0] + items[0][1])
        level = [
            subtree([i for i in items if nibble(i[0], depth) == s], depth + 1) for s in range(16)
        ]
        while len(level) > 1:
            level = [pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        return level[0]

    return subtree(sorted((_sha(k), _sha(v)) for k, v in content.items()), 0)


@given(batches)
@settings(max_examples=examples(150), deadline=None)
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
        assert root == reference_root(model)
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


def test_wide_batches_match_the_definition() -> None:
    """Batches of thousands of keys (the upper levels split their share by bisection) give the
    root the definition gives, through inserts, updates and deletes, and every key proves."""
    rng = random.Random(5)
    nodes = tree.MemoryNodes()
    model = {rng.randbytes(12): rng.randbytes(20) for _ in range(3_000)}
    update = tree.update(nodes, None, 1, sorted(model.items()))
    nodes.apply(update)
    assert update.root == reference_root(model)
    present = sorted(model)
    changes: dict[bytes, bytes | None] = {key: rng.randbytes(20) for key in present[::3]}
    changes.update({key: None for key in present[1::7]})
    changes.update({rng.randbytes(12): rng.randbytes(20) for _ in range(800)})
    update = tree.update(nodes, update.root, 2, sorted(changes.items()))
    nodes.apply(update)
    for key, value in changes.items():
        if value is None:
            model.pop(key)
        else:
            model[key] = value
    assert update.root == reference_root(model)
    for key in sorted(changes)[:200]:
        tree.verify_proof(update.root, key, model.get(key), tree.prove(nodes, update.root, key))
