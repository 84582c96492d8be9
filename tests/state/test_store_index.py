"""The ledger indexes' two levels (state/index_runs.py, store.py): lookups of entries in level
0, just swept, long swept, across a reopen and after whole sweep cycles, against a reference
that keeps every entry; prefix collisions; the address bound across both levels; the upgrade of
a format-5 store; damaged level-0 rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import lmdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.core import native
from metanode.errors import InvariantViolation
from metanode.state import constants, index_runs
from metanode.state import store as store_module
from metanode.state.machine import build_block, touched_addresses
from metanode.state.store import LEDGER_DIR, Store
from metanode.types import Address, Denom, Transaction, Transfer
from tests.conftest import examples
from tests.state.support import Wallet, certify_last, make_genesis, validator_wallet

SLICES = constants.index_slices
SENDERS = 4
Location = tuple[int, int]


@dataclass
class Chain:
    """A store's chain of transfers from the genesis wallets to chosen recipients, and the
    reference the indexes answer against: every transaction and every address entry kept."""

    store: Store
    nonces: list[int] = field(default_factory=lambda: [0] * SENDERS)
    txs: dict[Location, Transaction] = field(default_factory=dict)

    def commit(self, recipients: list[Address]) -> None:
        txs = []
        for index, recipient in enumerate(recipients):
            sender = index % SENDERS
            txs.append(Wallet.of(sender).tx(self.nonces[sender], Transfer(recipient, 1, Denom.NEX)))
            self.nonces[sender] += 1
        state = self.store.state()
        proposal = build_block(
            state,
            txs,
            timestamp_ms=2_000_000 + state.height * 1_000,
            proposer=validator_wallet(0).address,
            last_certificate=certify_last(state.reader, self.store.block(state.height)),
        )
        self.store.commit(proposal.changes)
        for position, tx in enumerate(txs):
            self.txs[(proposal.block.header.height, position)] = tx

    def expected_tx(self, tx_hash: bytes) -> Location | None:
        return next((where for where, tx in self.txs.items() if tx.hash() == tx_hash), None)

    def expected_address_txs(self, address: Address) -> list[Location]:
        """Every entry under the address's prefix, the newest `address_txs_max` kept, newest
        first, those that touch it: what one level bounded at each block answered."""
        prefix = address.raw[:8]
        entries = [
            where
            for where, tx in sorted(self.txs.items())
            if any(touched.raw[:8] == prefix for touched in touched_addresses(tx))
        ]
        newest = reversed(entries[-constants.address_txs_max :])
        return [where for where in newest if address in touched_addresses(self.txs[where])]

    def check(self, missing: bytes = bytes(32)) -> None:
        for tx in self.txs.values():
            assert self.store.find_tx(tx.hash()) == self.expected_tx(tx.hash())
            for address in touched_addresses(tx):
                assert self.store.address_txs(address) == self.expected_address_txs(address)
        assert self.store.find_tx(missing) is None


def address(prefix: bytes, tail: int) -> Address:
    return Address(prefix + tail.to_bytes(20 - len(prefix), "big"))


def level0_rows(store: Store, table: str) -> list[tuple[bytes, bytes]]:
    with store._env.begin() as txn:
        return list(txn.cursor(db=store._db[table]).iternext())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / LEDGER_DIR


def test_lookups_in_level_0_just_swept_long_swept_after_a_cycle_and_a_reopen(home: Path) -> None:
    """One recipient per slice and block, so that every slice holds entries of every height:
    after each block some are in level 0, some were swept by it, some long ago; past S blocks
    every slice has been swept at least once; a reopen reads both levels from the file."""
    with Store.open(home, make_genesis()) as store:
        chain = Chain(store)
        for height in range(1, SLICES + 6):
            chain.commit([address(bytes((part << 2, height)), 1) for part in range(0, SLICES, 7)])
            part = height % SLICES
            assert all(key[0] != part for key, _ in level0_rows(store, "txs_recent"))
            assert all(key[0] != part for key, _ in level0_rows(store, "addrs_recent"))
            if height in (1, 2, SLICES - 1, SLICES, SLICES + 5):
                chain.check()
        recent = level0_rows(store, "addrs_recent")
        assert recent and len(recent) < len(chain.txs)  # both levels hold entries
    with Store.open(home) as store:
        chain.store = store
        chain.check()


def test_blocks_of_no_and_one_transaction(home: Path) -> None:
    with Store.open(home, make_genesis()) as store:
        chain = Chain(store)
        for count in (0, 1, 0, 1):
            chain.commit([address(b"\x01", count)] * count)
        chain.check()
        assert len(chain.txs) == 2


def test_addresses_sharing_a_prefix_get_only_their_own_transactions(home: Path) -> None:
    """Recipients crafted to share their 8-byte prefix (and so one index key, in both levels):
    each address's lookup keeps only its own transactions; two of them in one transaction are
    one entry."""
    shared = bytes(range(8))
    one, two = address(shared, 1), address(shared, 2)
    with Store.open(home, make_genesis()) as store:
        chain = Chain(store)
        for height in range(1, SLICES + 3):
            chain.commit([one, two] if height % 3 else [two])
        chain.check()
        assert chain.store.address_txs(one) == chain.expected_address_txs(one)
        assert len(chain.store.address_txs(two)) == SLICES + 2


def test_the_address_bound_spans_both_levels(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a bound of 5, an address touched in every block: its lookup is the newest 5 of both
    levels, and level 1 keeps at most 5 of its prefix."""
    monkeypatch.setattr(constants, "address_txs_max", 5)
    busy = address(b"\xfe\x01", 1)
    with Store.open(home, make_genesis()) as store:
        chain = Chain(store)
        for height in range(1, SLICES + 9):
            chain.commit([busy, address(b"\x02", height), busy])
            if height in (3, SLICES - 2, SLICES + 8):
                chain.check()
                assert len(store.address_txs(busy)) == 5
        with store._env.begin() as txn:
            cursor = txn.cursor(db=store._db["addrs"])
            assert cursor.set_key(busy.raw[:8]) and cursor.count() == 5


@given(
    st.lists(
        st.lists(st.integers(0, 40), max_size=6),
        max_size=SLICES + 12,
    ),
    st.integers(1, 4),
)
@settings(max_examples=examples(12), deadline=None)
def test_random_chains_answer_as_the_reference(
    tmp_path_factory: pytest.TempPathFactory, blocks: list[list[int]], bound: int
) -> None:
    """Random blocks of transfers to a pool of recipients whose prefixes collide in pairs and
    whose slices repeat, a random address bound: every lookup against the reference."""
    home = tmp_path_factory.mktemp("chain") / LEDGER_DIR
    recipients = [address(bytes(((tail // 4) * 37 % 256, 9)), tail % 2) for tail in range(41)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "address_txs_max", bound)
        with Store.open(home, make_genesis()) as store:
            chain = Chain(store)
            for block in blocks:
                chain.commit([recipients[index] for index in block])
            chain.check()
            for recipient in recipients:
                assert store.address_txs(recipient) == chain.expected_address_txs(recipient)


def test_a_format_5_store_is_upgraded_at_open(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A format-5 store (its entries all in level 1, no level-0 tables), made from a store of
    this code by moving level 0 into level 1 and dropping it: opened, it gains empty level-0
    tables and format 6 in one transaction, logs both numbers, and answers as before."""
    with Store.open(home, make_genesis()) as store:
        chain = Chain(store)
        for height in range(1, 9):
            chain.commit([address(bytes((height * 29 % 256,)), 1), address(b"\x80", height)])
    env = lmdb.open(str(home), max_dbs=16)
    with env.begin(write=True) as txn:
        for index in ("txs", "addrs"):
            recent = env.open_db(f"{index}_recent".encode(), txn=txn)
            rows = list(txn.cursor(db=recent).iternext())
            level1 = env.open_db(index.encode(), txn=txn, dupsort=True, dupfixed=index == "addrs")
            txn.cursor(db=level1).putmulti(index_runs.swept(index, rows)[0])
            txn.drop(recent, delete=True)
        txn.put(b"format", b"5", db=env.open_db(b"meta", txn=txn))
    env.close()
    with caplog.at_level(logging.INFO, logger="metanode.state.store"):
        store = Store.open(home)
    with store:
        assert "upgraded from format 5 to 6" in caplog.text
        assert level0_rows(store, "txs_recent") == level0_rows(store, "addrs_recent") == []
        chain.store = store
        chain.check()
        chain.commit([address(b"\x80", 99)])
        chain.check()
    with Store.open(home) as store, store.snapshot() as snapshot:
        assert snapshot._txn.get(b"format", db=snapshot._db["meta"]) == store_module.FORMAT


def test_a_copy_without_level_0_is_not_restored_and_changes_nothing(home: Path) -> None:
    """A copy made by format-5 code (no level-0 tables), restored into this store (a dev
    chain's revert): refused with the table named, and the store answers as before."""
    with Store.open(home / "a", make_genesis()) as store:
        chain = Chain(store)
        for height in range(1, 4):
            chain.commit([address(bytes((height * 53 % 256,)), height)])
        store.copy_to(home / "copy")
        env = lmdb.open(str(home / "copy"), max_dbs=16)
        with env.begin(write=True) as txn:
            txn.drop(env.open_db(b"txs_recent", txn=txn), delete=True)
        env.close()
        chain.commit([address(b"\x11", 7)])
        with pytest.raises(store_module.ConfigError, match="no table b'txs_recent'"):
            store.restore_from(home / "copy")
        assert store.height == 4
        chain.check()


def test_a_format_5_store_opened_read_only_is_refused(home: Path) -> None:
    """Upgrading writes; a reader beside a node of the old format names both formats."""
    with Store.open(home, make_genesis()):
        pass
    env = lmdb.open(str(home), max_dbs=16)
    with env.begin(write=True) as txn:
        txn.put(b"format", b"5", db=env.open_db(b"meta", txn=txn))
    env.close()
    with pytest.raises(store_module.ConfigError, match="ledger format b'5', this node reads b'6'"):
        Store.open(home, readonly=True)


@pytest.mark.parametrize("damage", [b"", b"\x00" * 7, b"\x00" * 21])
def test_a_damaged_level_0_row_is_named_and_a_commit_over_it_changes_nothing(
    home: Path, damage: bytes
) -> None:
    """A level-0 value that is not whole records (or empty): a lookup of its slice, and the
    commit whose sweep reads it, raise `InvariantViolation` naming the table and the key, and
    the commit leaves the store as it was."""
    target = address(b"\x44", 1)
    part = index_runs.slice_of(target.raw, SLICES)
    with Store.open(home, make_genesis()) as store:
        chain = Chain(store)
        chain.commit([target])
        key = bytes((part,)) + (1).to_bytes(4, "big")
        with store._env.begin(write=True) as txn:
            txn.put(key, damage, db=store._db["addrs_recent"])
        with pytest.raises(InvariantViolation, match=f"addrs_recent row {key.hex()} is damaged"):
            store.address_txs(target)
        while (store.height + 1) % SLICES != part:  # to the height whose sweep reads it
            chain.commit([])
        height = store.height
        with pytest.raises(InvariantViolation, match=f"addrs_recent row {key.hex()} is damaged"):
            chain.commit([address(b"\x45", 2)])
        assert store.height == height
        assert any(row == (key, damage) for row in level0_rows(store, "addrs_recent"))


ENTRIES = st.lists(st.tuples(st.binary(min_size=8, max_size=8), st.integers(0, 2**16 - 1)))
SLICE_COUNTS = st.sampled_from([1, 2, 16, SLICES, 256])


def packed_block(
    entries: list[tuple[bytes, int]], height: int, slices: int
) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """A block's sorted level-1 rows of `entries` (some repeated) and their level-0 rows."""
    head = height.to_bytes(4, "big")
    entries = entries + entries[:3]
    rows = sorted((prefix, head + position.to_bytes(2, "big")) for prefix, position in entries)
    return rows, index_runs.recent_rows(height, rows, slices)


@given(ENTRIES, st.integers(0, 2**32 - 1), st.binary(min_size=8, max_size=8), SLICE_COUNTS)
@settings(max_examples=examples(200), deadline=None)
def test_packed_rows_unpack_and_search_as_the_rows_they_pack(
    entries: list[tuple[bytes, int]], height: int, probe: bytes, slices: int
) -> None:
    """Level 0's packing of a block's sorted level-1 rows (prefixes colliding, repeated
    entries) unpacks to those rows, each once, and a binary search in each row finds exactly a
    prefix's locations."""
    rows, packed = packed_block(entries, height, slices)
    assert [key for key, _ in packed] == sorted({key for key, _ in packed})
    assert len(packed) <= slices
    assert index_runs.swept("txs_recent", packed) == (
        sorted(set(rows)),
        sorted({prefix for prefix, _ in rows}),
    )
    for prefix in [probe] + [prefix for prefix, _ in rows[:4]]:
        found = [
            location
            for key, value in packed
            if key[0] == index_runs.slice_of(prefix, slices)
            for location in index_runs.locations("txs_recent", key, value, prefix)
        ]
        assert found == sorted({location for row_prefix, location in rows if row_prefix == prefix})


@given(
    st.lists(st.tuples(ENTRIES, st.integers(0, 2**32 - 1)), max_size=4),
    SLICE_COUNTS,
    st.lists(st.tuples(st.binary(max_size=6), st.binary(max_size=23)), max_size=2),
    st.integers(0, 4),
)
@settings(max_examples=examples(200), deadline=None)
def test_the_cores_sweep_is_the_references(
    blocks: list[tuple[list[tuple[bytes, int]], int]],
    slices: int,
    damaged: list[tuple[bytes, bytes]],
    at: int,
) -> None:
    """`_core.index_swept` against `index_runs.swept`, byte for byte, on the rows of several
    blocks, and with rows this code does not write (any key and value lengths) among them:
    the same rows, prefixes, or the same error naming the same row."""
    core = native()
    assert core is not None
    rows = [row for entries, height in blocks for row in packed_block(entries, height, slices)[1]]
    rows[at:at] = damaged
    try:
        expected = index_runs.swept("addrs_recent", rows)
    except InvariantViolation as error:
        with pytest.raises(InvariantViolation) as raised:
            core.index_swept("addrs_recent", rows)
        assert str(raised.value) == str(error)
    else:
        assert core.index_swept("addrs_recent", rows) == expected


def test_a_slice_count_that_does_not_divide_256_is_refused() -> None:
    core = native()
    assert core is not None
    for slices in (0, 48, 512):
        with pytest.raises(InvariantViolation, match=f"{slices} index slices"):
            core.index_rows(1, [bytes(32)], [[bytes(20)]], slices)
        with pytest.raises(InvariantViolation, match=f"{slices} index slices"):
            store_module._index_rows(1, [bytes(32)], [[bytes(20)]], slices)
