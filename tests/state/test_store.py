"""The LMDB store: one write transaction per block, reopen, indexes, pruning of stale tree
nodes, replay check, and the `metanode store check` command."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from metanode.cli.store import app as store_app
from metanode.core import native
from metanode.errors import ConfigError, InvariantViolation
from metanode.state import constants, index_runs
from metanode.state import store as store_module
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import BlockChanges, apply_block, build_block, init_chain
from metanode.state.store import LEDGER_DIR, ReplayMismatch, Store, replay_check
from metanode.types import Bond, CommitCertificate, Denom, Transaction, Transfer, Unbond
from tests.conftest import examples
from tests.state.support import Wallet, certify, certify_last, make_genesis, validator_wallet

PROPOSER = validator_wallet(0).address


def transfers(store: Store, count: int, amount: int = 1) -> list[Transaction]:
    from metanode.state.bank import queries

    txs = []
    for index in range(count):
        wallet = Wallet.of(index % 4)
        nonce = queries.account(store.state().reader, wallet.address).nonce + index // 4
        txs.append(
            wallet.tx(nonce, Transfer(Wallet.of((index + 1) % 4).address, amount, Denom.NEX))
        )
    return txs


def commit_block(store: Store, txs: list[Transaction], certificate: bool = False):
    """Build and commit the next block, carrying a real certificate of the last one; store the
    new block's own certificate too if `certificate`."""
    state = store.state()
    proposal = build_block(
        state,
        txs,
        timestamp_ms=2_000_000 + state.height * 1_000,
        proposer=PROPOSER,
        last_certificate=certify_last(state.reader, store.block(state.height)),
    )
    store.commit(
        proposal.changes,
        certify(proposal.changes.state.reader, proposal.block) if certificate else None,
    )
    return proposal


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / LEDGER_DIR


def test_commit_reopen_and_read_back(home: Path) -> None:
    document = make_genesis()
    with Store.open(home, document) as store:
        assert store.height == 0
        genesis_root = store.state().state_root
        first = commit_block(store, transfers(store, 6), certificate=True)
        second = commit_block(store, transfers(store, 3))
    with Store.open(home) as store:
        assert store.genesis == document
        assert store.height == 2
        state = store.state()
        assert state.state_root == second.block.header.state_root != genesis_root
        assert state.block_hash == second.block.hash()
        assert store.block(1) == first.block
        assert store.block(1).hash() == first.block.hash()
        assert store.receipts(1) == first.changes.receipts
        assert store.receipts(2) == second.changes.receipts
        assert store.certificate(1).block_hash == first.block.hash()
        assert store.certificate(2) is None
        assert store.block(3) is None and store.receipts(3) == ()
        for position, tx in enumerate(first.block.txs):
            assert store.find_tx(tx.hash()) == (1, position)
        assert store.find_tx(b"\x00" * 32) is None
        mine = store.address_txs(Wallet.of(0).address)
        assert mine[0][0] == 2 and (1, 0) in mine
        assert mine == sorted(mine, reverse=True)
        store.save_certificate(2, CommitCertificate(2, 1, second.block.hash(), b"\x01", bytes(96)))
        assert store.certificate(2).round == 1


def test_genesis_mismatch_and_missing(home: Path, tmp_path: Path) -> None:
    Store.open(home, make_genesis()).close()
    with pytest.raises(ConfigError, match="another genesis"):
        Store.open(home, make_genesis(wallets=7))
    with pytest.raises(ConfigError, match="no ledger"):
        Store.open(tmp_path / "empty")


def test_commit_must_extend_the_tip(home: Path) -> None:
    with Store.open(home, make_genesis()) as store:
        proposal = build_block(store.state(), [], timestamp_ms=2_000_000, proposer=PROPOSER)
        store.commit(proposal.changes)
        with pytest.raises(InvariantViolation):
            store.commit(proposal.changes)  # the same height again
        assert store.height == 1


def test_the_node_table_holds_exactly_the_live_tree(home: Path) -> None:
    from metanode.state import tree
    from metanode.state.bank.keys import account

    with Store.open(home, make_genesis()) as store:
        counts = []
        for _ in range(6):
            commit_block(store, transfers(store, 4))
            with store._env.begin() as txn:
                counts.append(txn.stat(store._db["nodes"])["entries"])
        # The same few accounts change every block: their nodes are replaced, not added
        # (from block 2, which adds the validator's signing window).
        assert len(set(counts[1:])) == 1
        # Proofs at the tip come from the stored nodes and verify with the tree alone.
        state = store.state()
        key = account(Wallet.of(1).address)
        proof = tree.prove(state.nodes, state.state_root, key)
        tree.verify_proof(state.state_root, key, state.reader.get(key), proof)
        absent = account(Wallet.of(99).address)
        tree.verify_proof(
            state.state_root, absent, None, tree.prove(state.nodes, state.state_root, absent)
        )
        # A node asked for at an older version is not there (the store serves the tip only).
        with store._env.begin() as txn:
            path, stored = next(iter(txn.cursor(db=store._db["nodes"])))
        older = (int.from_bytes(stored[:8], "big") - 1).to_bytes(8, "big")
        assert state.nodes.get(stored[:8] + path) == stored[8:]
        assert state.nodes.get(older + path) is None


def test_address_index_keeps_the_newest(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "address_txs_max", 5)
    with Store.open(home, make_genesis()) as store:
        for _ in range(4):
            commit_block(store, transfers(store, 4))
        found = store.address_txs(Wallet.of(1).address)
        assert len(found) == 5
        assert found[0][0] == 4


@pytest.mark.parametrize("core", ["rust", "python"])
def test_tables_hold_exactly_the_rows_the_blocks_describe(
    home: Path, monkeypatch: pytest.MonkeyPatch, core: str
) -> None:
    """Every row of the state, node and index tables (both levels), after blocks that rewrite
    the same accounts and overflow an address's index, against the layout in store.py's
    docstring, with the rows made by the compiled core and by the reference."""
    monkeypatch.setattr(constants, "address_txs_max", 3)
    monkeypatch.setenv("METANODE_CORE", core)
    document = make_genesis()
    ledger = MemoryLedger(document)
    nodes: dict[bytes, bytes] = {}
    txs: list[tuple[bytes, bytes]] = []
    addrs: dict[bytes, list[bytes]] = {}

    def describe(changes: BlockChanges) -> None:
        for node_key in changes.tree.stale:
            nodes.pop(node_key if node_key[:1] == b"R" else node_key[8:], None)
        for node_key, node in changes.tree.node_writes:
            if node_key[:1] == b"R":
                nodes[node_key] = node
            else:
                nodes[node_key[8:]] = node_key[:8] + node

    describe(init_chain(document))
    with Store.open(home, document) as store:
        for count in (4, 7, 1, 5):
            changes = commit_block(store, transfers(store, count)).changes
            ledger.commit(changes)
            describe(changes)
            for position, tx in enumerate(changes.block.txs):
                location = changes.height.to_bytes(4, "big") + position.to_bytes(2, "big")
                txs.append((tx.hash()[:8], location))
                for address in {tx.sender_address, tx.message.to}:
                    addrs.setdefault(address.raw[:8], []).append(location)
        with store._env.begin() as txn:
            table = {name: list(txn.cursor(db=store._db[name])) for name in store._db}
    assert dict(table["state"]) == ledger.items
    assert dict(table["nodes"]) == nodes and len(table["nodes"]) == len(nodes)
    tip = 4

    def swept(prefix: bytes, location: bytes) -> bool:
        """Moved to level 1: a commit from the entry's own on swept the prefix's slice."""
        height = int.from_bytes(location[:4], "big")
        part = index_runs.slice_of(prefix, constants.index_slices)
        return any(later % constants.index_slices == part for later in range(height, tip + 1))

    def level0(rows: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        packed: dict[bytes, set[bytes]] = {}
        for prefix, location in rows:
            if not swept(prefix, location):
                key = bytes((index_runs.slice_of(prefix, constants.index_slices),)) + location[:4]
                packed.setdefault(key, set()).add(prefix + location[4:])
        return [(key, b"".join(sorted(packed[key]))) for key in sorted(packed)]

    assert table["txs"] == sorted(row for row in txs if swept(*row))
    assert table["addrs"] == [
        (prefix, location)
        for prefix in sorted(addrs)
        for location in sorted(at for at in addrs[prefix] if swept(prefix, at))[-3:]
    ]
    assert table["txs_recent"] == level0(txs)
    assert table["addrs_recent"] == level0(
        [(prefix, location) for prefix in addrs for location in addrs[prefix]]
    )
    assert table["txs"] and table["txs_recent"] and table["addrs_recent"]


@given(
    st.integers(0, 2**32 - 1),
    st.lists(
        st.tuples(
            st.binary(min_size=32, max_size=32),
            st.lists(st.binary(min_size=20, max_size=20), min_size=1, max_size=2),
        ),
        max_size=12,
    ),
)
@settings(max_examples=examples(200), deadline=None)
def test_the_core_makes_the_rows_the_reference_makes(
    height: int,
    txs: list[tuple[bytes, list[bytes]]],
) -> None:
    """`_core.index_rows` against store.py's `_index_rows`, byte for byte, on random blocks
    (shared hashes and addresses); the node rows: tests/state/test_tree_core.py."""
    core = native()
    assert core is not None
    txs += txs[:1]  # a hash twice in a block (a prefix collision, as the index sees it)
    tx_hashes = [tx_hash for tx_hash, _ in txs]
    touched = [addresses for _, addresses in txs]
    for slices in (1, 2, constants.index_slices, 256):
        assert core.index_rows(height, tx_hashes, touched, slices) == store_module._index_rows(
            height, tx_hashes, touched, slices
        )


@given(st.binary(max_size=3000), st.binary(max_size=40), st.integers(0, 200))
@settings(max_examples=examples(200), deadline=None)
def test_the_cores_block_rows_read_back_with_zlib(noise: bytes, part: bytes, repeats: int) -> None:
    """The core compresses a block's row with libdeflate, not zlib: other bytes, which Python's
    `zlib.decompress` (what `Snapshot.block` reads with) must give back exactly, on random,
    repetitive and empty input."""
    core = native()
    assert core is not None
    for data in (noise, part * repeats + noise, b""):
        assert zlib.decompress(core.zlib_compress_begin(data).result()) == data


def test_a_compressions_result_is_taken_once() -> None:
    """The core compresses a block's row on a thread of its own; the row is taken once."""
    core = native()
    assert core is not None
    compressing = core.zlib_compress_begin(b"row" * 100)
    assert zlib.decompress(compressing.result()) == b"row" * 100
    with pytest.raises(InvariantViolation, match="taken twice"):
        compressing.result()


@pytest.mark.parametrize("core", ["rust", "python"])
def test_stored_blocks_read_back_under_either_compressor(
    home: Path, monkeypatch: pytest.MonkeyPatch, core: str
) -> None:
    """Blocks committed with either compressor are read back, by either, as they were."""
    monkeypatch.setenv("METANODE_CORE", core)
    with Store.open(home, make_genesis()) as store:
        blocks = [commit_block(store, transfers(store, count)).block for count in (3, 0, 6)]
    monkeypatch.setenv("METANODE_CORE", "python" if core == "rust" else "rust")
    with Store.open(home) as store, store.snapshot() as snapshot:
        assert [snapshot.block(height) for height in (1, 2, 3)] == blocks


def test_a_transaction_is_indexed_under_its_sender_and_its_counterparty_once_each() -> None:
    """The address index's addresses: a transfer's sender and recipient, a bond's sender and
    validator, each address once (a transfer to oneself, a bond to one's own validator)."""
    alice, bob = Wallet.of(0), Wallet.of(1)
    to_bob = alice.tx(0, Transfer(bob.address, 1, Denom.NEX))
    to_self = alice.tx(0, Transfer(alice.address, 1, Denom.NEX))
    assert store_module.touched_addresses(to_bob) == (alice.address, bob.address)
    assert store_module.touched_addresses(to_self) == (alice.address,)
    assert store_module.touched_addresses(alice.tx(0, Bond(bob.address, 5))) == (
        alice.address,
        bob.address,
    )
    assert store_module.touched_addresses(alice.tx(0, Unbond(alice.address, 5))) == (alice.address,)


@pytest.mark.parametrize("core", ["rust", "python"])
def test_a_blocks_changes_carry_the_addresses_each_transaction_is_indexed_under(
    monkeypatch: pytest.MonkeyPatch, core: str
) -> None:
    """What the address index takes from a block's changes: each transaction's raw addresses
    as `touched_addresses` gives them, in block order, from the core's transfer run (made in
    its loop) and from the reference alike, built or applied."""
    monkeypatch.setenv("METANODE_CORE", core)
    alice, bob, carol = Wallet.of(0), Wallet.of(1), Wallet.of(2)
    txs = [
        alice.tx(0, Transfer(bob.address, 1, Denom.NEX)),
        bob.tx(0, Transfer(bob.address, 1, Denom.NEX)),
        alice.tx(1, Bond(carol.address, 5)),
        carol.tx(0, Transfer(alice.address, 2, Denom.NEX)),
    ]
    document = make_genesis()
    ledger = MemoryLedger(document)
    proposal = build_block(
        ledger.state,
        txs,
        timestamp_ms=document.genesis_time_ms + 1_000,
        proposer=validator_wallet(0).address,
    )
    assert proposal.block.txs == tuple(txs)
    expected = tuple([address.raw for address in store_module.touched_addresses(tx)] for tx in txs)
    assert expected[1] == [bob.address.raw] and len(expected[3]) == 2
    assert proposal.changes.touched == expected
    assert apply_block(ledger.state, proposal.block).touched == expected


def test_the_core_refuses_index_keys_shorter_than_their_prefix() -> None:
    """The core keys its index rows by 8-byte arrays: a hash or address shorter than that is
    a broken caller, named, not a row of another length."""
    core = native()
    assert core is not None
    with pytest.raises(InvariantViolation, match="shorter than 8 bytes"):
        core.index_rows(1, [bytes(7)], [[bytes(20)]], 64)
    with pytest.raises(InvariantViolation, match="shorter than 8 bytes"):
        core.index_rows(1, [bytes(32)], [[bytes(20), bytes(5)]], 64)


def test_replay_check_and_cli(home: Path) -> None:
    with Store.open(home, make_genesis()) as store:
        for count in (5, 0, 3):
            commit_block(store, transfers(store, count))
        report = replay_check(store)
        assert report.height == 3 and report.transactions == 8
    runner = CliRunner()
    result = runner.invoke(store_app, ["check", "--home", str(home.parent), "--full"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("replay ok: height=3 blocks=3")
    result = runner.invoke(store_app, ["check", "--home", str(home.parent), "--full", "--json"])
    assert result.exit_code == 0, result.output
    checked = json.loads(result.output)
    assert (checked["result"], checked["height"], checked["transactions"]) == ("ok", 3, 8)
    assert checked["state_root"] == report.state_root.hex()
    # Tamper with a stored balance: the replay must notice.
    with Store.open(home) as store:
        from metanode.state.bank.keys import account

        key = account(Wallet.of(2).address)
        with store._env.begin(write=True) as txn:
            value = txn.get(key, db=store._db["state"])
            txn.put(key, value[:-1] + bytes([value[-1] ^ 1]), db=store._db["state"])
        with pytest.raises(ReplayMismatch, match="state table differs"):
            replay_check(store)
    result = runner.invoke(store_app, ["check", "--home", str(home.parent), "--full"])
    assert result.exit_code == 1
    result = runner.invoke(store_app, ["check", "--home", str(home.parent / "nowhere")])
    assert result.exit_code == 2 and "no ledger store" in result.output


def commit_blocks(ledger: str, count: int) -> None:
    """The writer of the next test, run in its own process (LMDB opens an environment once per
    process): `count` blocks of four transfers, as fast as the store takes them."""
    with Store.open(Path(ledger), sync=False) as store:
        for _ in range(count):
            commit_block(store, transfers(store, 4))


def stored_height(home: Path) -> int:
    with Store.open(home, readonly=True) as store:
        return store.height


def test_store_check_reads_one_snapshot_while_another_process_commits(home: Path) -> None:
    """`metanode store check` beside a writer: the blocks committed during a check are not
    its business, and must not make it compare the tip of one height with another's replay."""
    with Store.open(home, make_genesis()) as store:
        for _ in range(40):
            commit_block(store, transfers(store, 4))
    code = f"from tests.state.test_store import commit_blocks; commit_blocks({str(home)!r}, 400)"
    writer = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2])
    runner = CliRunner()
    overlapped = 0
    try:
        while writer.poll() is None:
            before = stored_height(home)
            result = runner.invoke(store_app, ["check", "--home", str(home.parent), "--full"])
            after = stored_height(home)
            assert result.exit_code == 0, result.output
            reported = int(result.output.split("height=")[1].split()[0])
            assert before <= reported <= after
            overlapped += after > before
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == 0
    assert overlapped >= 3, "the writer never committed during a check: the test proved nothing"


def test_store_state_is_what_apply_sees(home: Path) -> None:
    """A follower applies the proposer's block on its own store and reaches the same root."""
    document = make_genesis()
    with (
        Store.open(home, document) as proposer,
        Store.open(home.parent / "other", document) as follower,
    ):
        for count in (4, 2):
            proposal = commit_block(proposer, transfers(proposer, count))
            changes = apply_block(follower.state(), proposal.block)
            follower.commit(changes)
        assert follower.state().state_root == proposer.state().state_root
        assert store_module.replay_check(follower).height == 2


def test_store_check_runs_every_invariant_after_every_block(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metanode.state import invariants
    from metanode.state.bank import queries
    from metanode.state.view import StateReader

    with Store.open(home, make_genesis()) as store:
        for _ in range(3):
            commit_block(store, transfers(store, 1))
        assert replay_check(store, invariants=True).height == 3
    runner = CliRunner()
    result = runner.invoke(
        store_app, ["check", "--home", str(home.parent), "--full", "--invariants"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("invariants=held")

    def two_transfers_at_most(reader: StateReader) -> None:
        if queries.account(reader, Wallet.of(0).address).nonce > 2:
            raise InvariantViolation("test.two_transfers_at_most: a third was sent")

    monkeypatch.setattr(invariants, "INVARIANTS", (*invariants.INVARIANTS, two_transfers_at_most))
    with Store.open(home) as store, pytest.raises(ReplayMismatch, match=r"^block 3: test\."):
        replay_check(store, invariants=True)
    result = runner.invoke(
        store_app, ["check", "--home", str(home.parent), "--full", "--invariants"]
    )
    assert result.exit_code == 1 and "block 3" in result.output
