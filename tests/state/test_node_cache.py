"""The store's tree node cache (`_core.NodeCache`, store.py): blocks read their nodes from it
and not from LMDB, and it never answers other than the node table would: byte-identical roots,
node rows and proofs with and without it (and with one too small to hold the tree), across a
dev chain's revert, a state sync's install and a restore the store did not see, with the
updates done on one thread or split over two."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.core import native
from metanode.state import tree
from metanode.state.store import Store, _NodeReader, restore_environment
from metanode.types import Denom, Transfer
from tests.conftest import examples
from tests.state.support import Wallet, certify, make_genesis
from tests.state.test_store import commit_block

WALLETS = 4
# A transfer: (sender, recipient, amount) among the genesis wallets.
transfer = st.tuples(st.integers(0, WALLETS - 1), st.integers(0, WALLETS - 1), st.integers(1, 9))
blocks = st.lists(st.lists(transfer, max_size=5), min_size=1, max_size=4)
# Cache sizes: the default, one that holds part of the tree (a miss past it reads LMDB), none.
CAPACITIES = (64 << 20, 3_000, 0)


def commit_transfers(store: Store, block: list[tuple[int, int, int]]) -> tree.TreeUpdate:
    from metanode.state.bank import queries

    reader = store.state().reader
    nonces = {index: queries.account(reader, Wallet.of(index).address).nonce for index in range(4)}
    txs = []
    for sender, recipient, amount in block:
        message = Transfer(Wallet.of(recipient).address, amount, Denom.NEX)
        txs.append(Wallet.of(sender).tx(nonces[sender], message))
        nonces[sender] += 1
    return commit_block(store, txs).changes.tree


def table(store: Store) -> list[tuple[bytes, bytes]]:
    with store._env.begin() as txn:
        return list(txn.cursor(db=store._db["nodes"]))


def assert_cache_is_table(store: Store) -> None:
    """The cache holds every row of the node table, as the table holds it, and no other."""

    def unread(key: bytes) -> bytes | None:
        raise AssertionError(f"row {key.hex()} is not held")

    rows = table(store)
    cache = store._nodes_cache
    assert cache is not None and len(cache) == len(rows)
    for key, row in rows:
        node_key = key if key[:1] == b"R" else row[:8] + key
        assert cache.get(unread, node_key) == (row if key[:1] == b"R" else row[8:])


def proofs(store: Store) -> list[bytes]:
    state = store.state()
    return [tree.prove(state.nodes, state.state_root, key) for key, _ in state.reader.scan(b"")]


def run(
    home: Path, capacity: int, history: list[Any], kept: int, replay: list[Any]
) -> tuple[list[tree.TreeUpdate], list[tuple[bytes, bytes]], list[bytes]]:
    """Commit `history`, revert to its first `kept` blocks as a dev chain does (a copy, then
    `restore_from`), and commit `replay` on top: every block's tree update, then the node
    table and a proof of every state key."""
    updates = []
    with Store.open(
        home / "ledger", make_genesis(), sync=False, node_cache_bytes=capacity
    ) as store:
        for height, block in enumerate(history):
            if height == kept:
                store.copy_to(home / "kept")
            updates.append(commit_transfers(store, block))
        if kept == len(history):
            store.copy_to(home / "kept")
        store.restore_from(home / "kept")
        updates += [commit_transfers(store, block) for block in replay]
        if tree.SPLIT_WRITES_MIN == 1 and capacity == CAPACITIES[0]:
            # Every block writes (an empty one rewrites the tip's keys) under genesis's root.
            assert store._nodes_cache is not None and store._nodes_cache.splits > 0
        return updates, table(store), proofs(store)


@given(history=blocks, kept=st.integers(0, 4), replay=blocks)
@settings(max_examples=examples(12), deadline=None)
def test_the_cache_changes_no_root_row_or_proof(
    tmp_path_factory: pytest.TempPathFactory, history: list[Any], kept: int, replay: list[Any]
) -> None:
    kept = min(kept, len(history))
    results = [
        run(tmp_path_factory.mktemp("store"), capacity, history, kept, replay)
        for capacity in CAPACITIES
    ]
    with pytest.MonkeyPatch.context() as patch:
        # Every block's update split over two threads where the cache holds its nodes.
        patch.setattr(tree, "SPLIT_WRITES_MIN", 1)
        results += [
            run(tmp_path_factory.mktemp("store"), capacity, history, kept, replay)
            for capacity in CAPACITIES[:2]
        ]
    assert results[0] == results[1] == results[2] == results[3] == results[4]


class CountingRows:
    """The node table's `get` by key, counting the rows it reads."""

    def __init__(self, store: Store) -> None:
        self.reads = 0
        self._get = store.state().nodes.rows  # type: ignore[attr-defined]

    def __call__(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self._get(key)


def test_a_block_reads_its_nodes_from_the_cache_not_from_lmdb(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ledger", make_genesis(), sync=False) as store:
        cache = store._nodes_cache
        assert cache is not None
        commit_transfers(store, [(0, 1, 5), (2, 3, 7)])
        proposal = commit_block(store, [])  # an empty block still rewrites the tip's keys
        state = store.state()
        writes = list(proposal.changes.writes)
        rows = CountingRows(store)
        first = tree.update(tree.CachedNodes(cache, rows), state.state_root, 3, writes)
        # The committed blocks' rows are held: the nodes the next update reads are all there.
        assert rows.reads <= 1
        reads = rows.reads
        again = tree.update(tree.CachedNodes(cache, rows), state.state_root, 3, writes)
        assert again == first and rows.reads == reads
        uncached = _NodeReader(store._read, store._db["nodes"])
        assert first == tree.update(uncached, state.state_root, 3, writes)


def test_a_revert_an_install_and_an_unseen_restore_empty_the_cache(tmp_path: Path) -> None:
    genesis = make_genesis()
    with Store.open(tmp_path / "ledger", genesis, sync=False) as store:
        cache = store._nodes_cache
        assert cache is not None
        commit_transfers(store, [(0, 1, 5)])
        store.copy_to(tmp_path / "kept")
        commit_transfers(store, [(1, 2, 3), (3, 0, 4)])
        assert len(cache) > 0
        store.restore_from(tmp_path / "kept")
        assert len(cache) == 0
        # The same heights again with other blocks: each root as a store without a cache has.
        commit_transfers(store, [(2, 1, 8)])
        commit_transfers(store, [(0, 3, 1)])
        assert len(cache) > 0
        # A restore past the store (as another writer of the environment would): the tip the
        # cache mirrors is not the table's, and the next state() reloads it before any read.
        tables = {name.encode(): db for name, db in store._db.items()}
        store._end_read()
        restore_environment(store._env, tables, tmp_path / "kept")
        assert len(cache) > 0
        assert store.state().height == 1
        assert_cache_is_table(store)
        after = [commit_transfers(store, [(3, 2, 6)]), commit_transfers(store, [(1, 0, 2)])]
        expected = table(store), proofs(store)
        # A state sync's install of the tip's own state: a tree of other versions, built anew.
        state = store.state()
        items = list(state.reader.scan(b""))
        block = store.block(state.height)
        with store._env.begin() as txn:
            receipts = txn.get(state.height.to_bytes(8, "big"), db=store._db["receipts"])
        store.install(
            block,
            certify(state.reader, block),
            receipts,
            items,
            tree.update(tree.MemoryNodes(), None, state.height, items),
        )
        assert_cache_is_table(store)
        installed = commit_transfers(store, [(2, 3, 9)]).root
    with Store.open(tmp_path / "plain", genesis, sync=False, node_cache_bytes=0) as plain:
        assert plain._nodes_cache is None
        commit_transfers(plain, [(0, 1, 5)])
        assert [commit_transfers(plain, [(3, 2, 6)]), commit_transfers(plain, [(1, 0, 2)])] == after
        assert (table(plain), proofs(plain)) == expected
        assert commit_transfers(plain, [(2, 3, 9)]).root == installed


def test_an_opened_store_loads_its_node_table_shallow_nodes_first(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ledger", make_genesis(), sync=False) as store:
        assert_cache_is_table(store)  # genesis's rows, the first of an empty table
        commit_transfers(store, [(0, 1, 5), (2, 3, 7)])
        assert_cache_is_table(store)
    with Store.open(tmp_path / "ledger", sync=False) as store:
        rows = table(store)
        store.state()
        assert store._nodes_cache is not None and len(store._nodes_cache) == len(rows)
    with Store.open(tmp_path / "ledger", sync=False, node_cache_bytes=2_000) as store:
        store.state()
        cache = store._nodes_cache
        assert cache is not None and 0 < len(cache) < len(rows)

        read: list[bytes] = []

        def rows_read(key: bytes) -> bytes | None:
            read.append(key)
            return dict(rows).get(key)

        # Keys start with the depth: the root node comes first, and is held; every answer is
        # the table's, held or read.
        for key, row in rows:
            node_key = key if key[:1] == b"R" else row[:8] + key
            assert cache.get(rows_read, node_key) == (row if key[:1] == b"R" else row[8:])
        assert rows[0][0] not in read and 0 < len(read) < len(rows)


def test_a_use_right_after_an_apply_sees_all_of_its_rows() -> None:
    """`apply` takes a block's rows on a thread of its own; the next use of the cache waits
    for it, so it never sees the rows before or half taken."""
    compiled = native()
    assert compiled is not None
    cache = compiled.NodeCache(64 << 20)

    def unread(key: bytes) -> bytes | None:
        raise AssertionError(f"row {key.hex()} is not held")

    paths = [bytes([2]) + index.to_bytes(4, "big") for index in range(20_000)]
    for version in range(1, 4):
        stamp = version.to_bytes(8, "big")
        cache.apply([(path, stamp + b"node" * version) for path in paths], paths[:version])
        assert len(cache) == len(paths)
        assert all(cache.get(unread, stamp + path) == b"node" * version for path in paths)
