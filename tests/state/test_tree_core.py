"""The compiled core's state tree update against the reference, node for node: the same root,
the same nodes under the same keys, the same stale keys in the same order, on random blocks,
on one thread and split over two."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.core import native
from metanode.errors import InvariantViolation
from metanode.state import tree
from metanode.state.store import _node_rows
from tests.conftest import examples

KEYS = st.binary(min_size=1, max_size=3)  # few distinct keys: blocks overwrite and delete them
blocks = st.lists(
    st.dictionaries(KEYS, st.one_of(st.none(), st.binary(max_size=4)), max_size=30),
    min_size=1,
    max_size=8,
)


def _updates(choice: str, history: list[dict[bytes, bytes | None]]) -> list[tree.TreeUpdate]:
    nodes = tree.MemoryNodes()
    root = None
    updates = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", choice)
        for version, writes in enumerate(history, start=1):
            update = tree.update(nodes, root, version, list(writes.items()))
            nodes.apply(update)
            for stale in update.stale:
                nodes.pop(stale, None)
            root = update.root
            updates.append(update)
    return updates


@given(blocks)
@settings(max_examples=examples(120), deadline=None)
def test_random_blocks_give_the_same_updates(history: list[dict[bytes, bytes | None]]) -> None:
    compiled = _updates("rust", history)
    assert compiled == _updates("python", history)
    assert all(list(update.node_writes) == sorted(update.node_writes) for update in compiled)


@given(blocks)
@settings(max_examples=examples(120), deadline=None)
def test_the_cores_node_rows_and_cache_changes_are_the_references(
    history: list[dict[bytes, bytes | None]],
) -> None:
    """The node table's rows of each compiled update, made from the core's own copy of it
    (`TreeWrites.node_rows`), are store.py's `_node_rows` of the reference's update byte for
    byte (a stale path a new node replaces left out, root-index entries as they are), and a
    cache given them by `NodeCache.apply_update` holds the rows, and turns away the rows, that
    one given the reference's rows by `apply` does, large or too small for the tree."""
    compiled = native()
    assert compiled is not None
    table: dict[bytes, bytes] = {}
    pairs = [(compiled.NodeCache(size), compiled.NodeCache(size)) for size in (64 << 20, 1_500)]
    for made, expected in zip(_updates("rust", history), _updates("python", history), strict=True):
        assert made.core is not None and expected.core is None
        rows, deletes = _node_rows(expected.node_writes, expected.stale)
        assert made.core.node_rows() == (rows, deletes)
        for key, _ in deletes:
            del table[key]
        table.update(rows)
        for by_update, by_rows in pairs:
            by_update.apply_update(made.core)
            by_rows.apply(rows, [key for key, _ in deletes])
            assert (len(by_update), by_update.bytes) == (len(by_rows), by_rows.bytes)
            for path, row in table.items():
                node_key, node = (path, row) if path[:1] == b"R" else (row[:8] + path, row[8:])
                # A row the cache does not hold is read from the table (and then held).
                assert by_update.get(table.get, node_key) == by_rows.get(table.get, node_key)
                assert by_update.get(table.get, node_key) == node


@pytest.mark.parametrize("choice", ["rust", "python"])
def test_a_missing_node_is_an_invariant_violation(choice: str) -> None:
    nodes = tree.MemoryNodes()
    first = tree.update(nodes, None, 1, [(bytes([key]), b"v") for key in range(40)])
    nodes.apply(first)
    node_key = next(key for key, _ in first.node_writes if not key.startswith(b"R"))
    del nodes[node_key]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", choice)
        with pytest.raises(InvariantViolation, match="missing"):
            tree.update(nodes, first.root, 2, [(bytes([key]), b"w") for key in range(40)])


# Keys by the first nibble of their hash, the root's slot: blocks whose keys all fall under the
# root's low slots, its high slots, one slot, or anywhere.
_POOL = [index.to_bytes(2, "big") for index in range(600)]
_SCOPES = {
    "anywhere": _POOL,
    "low slots": [key for key in _POOL if tree.key_hash(key)[0] >> 4 < 8],
    "high slots": [key for key in _POOL if tree.key_hash(key)[0] >> 4 >= 8],
    "one slot": [key for key in _POOL if tree.key_hash(key)[0] >> 4 == 5],
}
scoped_blocks = st.lists(
    st.sampled_from(sorted(_SCOPES)).flatmap(
        lambda scope: st.dictionaries(
            st.sampled_from(_SCOPES[scope]),
            st.one_of(st.none(), st.binary(max_size=4)),
            max_size=60,
        )
    ),
    min_size=1,
    max_size=6,
)
_FIRST = {key: b"first" for key in _POOL[:100]}


class _Table(dict[bytes, bytes]):
    """A node table as the store keeps it (a node under its path, its version ahead of it),
    read by the core's cache on a miss."""

    def commit(self, update: tree.TreeUpdate, caches: list[Any]) -> None:
        rows, deletes = _node_rows(update.node_writes, update.stale)
        for key, _ in deletes:
            del self[key]
        self.update(rows)
        for cache in caches:
            cache.apply(rows, [key for key, _ in deletes])


@given(scoped_blocks)
@settings(max_examples=examples(60), deadline=None)
def test_updates_split_over_two_threads_are_the_references(
    history: list[dict[bytes, bytes | None]],
) -> None:
    """Through the node cache, every update of SPLIT_WRITES_MIN writes or more is done on two
    threads: the reference's nodes, stale keys and root, with the cache holding the whole
    table, holding none of its first block's rows (a miss: the update is done on one thread,
    reading the table), or too small to hold it (not tried)."""
    reference = _updates("python", [_FIRST, *history])
    compiled = native()
    assert compiled is not None
    held, cold, small = (compiled.NodeCache(size) for size in (64 << 20, 64 << 20, 3_000))
    table = _Table()
    root = None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tree, "SPLIT_WRITES_MIN", 1)
        blocks = zip([_FIRST, *history], reference, strict=True)
        for version, (writes, expected) in enumerate(blocks, start=1):
            for cache in (held, cold, small):
                nodes = tree.CachedNodes(cache, table.get)
                assert tree.update(nodes, root, version, list(writes.items())) == expected
            table.commit(expected, [held, cold, small] if version > 1 else [held, small])
            root = expected.root
    # The first random block that writes rewrites at most 60 of the first block's 100 keys: the
    # root stays an internal node, and its update is split.
    assert held.splits >= 1 or not any(history)
    assert small.splits == 0
