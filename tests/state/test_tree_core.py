"""The compiled core's state tree update against the reference, node for node: the same root,
the same nodes under the same keys, the same stale keys in the same order, on random blocks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.errors import InvariantViolation
from metanode.state import tree
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
