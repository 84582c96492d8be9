"""The ledger store: one LMDB environment per node, one write transaction per block.

Rules:
- `commit(changes, certificate)` writes, in ONE LMDB write transaction: the block, its
  receipts, the certificate, the state writes, the state tree's new nodes (and the deletion of
  the nodes the block made stale), the indexes (tx hash → height and position; address → its
  recent transactions) and the tip.
  LMDB commits a transaction atomically and durably (`sync=True`: fsync before returning), so
  after a crash the store holds the previous block or the new one, never a part.
- This is the only module of `metanode.state` that does I/O (tests/test_tidy.py).
- A `LedgerState` from `state()` reads through one LMDB read transaction; it is valid until
  the next `commit`, which ends it (a reader left open would pin old pages and the file would
  grow).
- `replay_check(store)` re-executes every stored block from the stored genesis in memory and
  compares every header's state root, every stored receipt, the tip and the final state,
  all read in one read transaction (`snapshot()`): LMDB gives each read transaction the store
  as of its start, so the check is exact while a node of another process commits. The price: a
  check holds its snapshot for its whole run, and the writer cannot reuse the pages it frees
  meanwhile, so the node's file grows by about what it writes during the check.

Tables (named databases; keys big-endian so that LMDB's order is height order):
    meta      b"height" → u64, b"block_hash", b"state_root", b"genesis" → genesis JSON,
              b"genesis_hash", b"format" → `FORMAT` (a store of format 5, the indexes of
              one level, is upgraded at open; an older one is refused with both numbers)
    blocks    height u64 → 0x01 ‖ zlib format, level 1 (block encoding): `block_row`
    receipts  height u64 → compact receipts (below)
    certs     height u64 → commit certificate encoding
    state     state key → value (the latest version; the tree authenticates it)
    nodes     tree node path (depth ‖ nibbles) → version u64 ‖ node encoding; and the tree's
              root-index entries (`R` ‖ root) as they are
    txs       (dupsort) tx hash[:8] → height u32 ‖ position u16; a lookup checks the full hash
              against the stored block, so colliding prefixes cost a read, never a wrong answer
    addrs     (dupsort, dupfixed) address[:8] → height u32 ‖ position u16, the newest
              `address_txs_max` per address prefix; a lookup keeps only the transactions
              that really touch the address
    txs_recent, addrs_recent
              the two indexes' level 0 (`index_runs.py`): slice u8 ‖ height u32 → that block's
              entries whose prefix falls in the slice, packed (prefix ‖ position u16), sorted

The indexes are two levels (docs/decisions/ledger-indexes.md): keyed by hash or address, a
block's ≈ 15,000 entries would land at as many random places of `txs` and `addrs` (level 1)
and rewrite nearly every leaf page of both each block, and LMDB's free list, which holds a
commit's freed pages for two more, would grow with them. So a block writes its entries to
level 0, ≤ `index_slices` rows a table at the end of each slice's key range, and the commit of
height h moves level 0's slice h mod S into level 1 (the sweep): those entries land in 1/S of
level 1's key range, and an entry waits ≤ S blocks. A lookup reads level 1's entries of its
prefix and level 0's rows of its prefix's slice, all in one read transaction; level 0's
entries of a prefix are newer than level 1's, and the address index's bound is applied to
level 1 as entries are moved, and to both levels together when read.

Tree nodes are stored by path, not by (version, path): a block's new node at a path replaces
the old one in place, and the stale nodes it lists are deleted in the same transaction. So the
table holds exactly the live tree (no garbage to prune, no fragmentation of version-ordered
pages: the first layout, versioned keys pruned two blocks late, grew the file by ~3 KB per
transfer), and the store serves the tree, and proofs, at its tip only. `tree.py` reads a node
by (version, path); the reader checks the stored version and answers "absent" for any other.

Compact receipts: one CBOR array per block, one entry per transaction: the bare code when the
fee charged is the transaction's fee and there are no events (the usual case: one byte), else
`[code, fee_charged, events]`. The transaction hash comes from the stored block. Blocks are
compressed: the chain id and the CBOR framing repeat in every transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb

from metanode.codec import decode, encode
from metanode.core import native
from metanode.errors import ConfigError, DecodeError, InvariantViolation, MetanodeError, check
from metanode.state import constants, index_runs
from metanode.state.genesis.document import GenesisDocument, parse_genesis
from metanode.state.invariants import check_all
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import (
    BlockChanges,
    InvalidBlock,
    LedgerState,
    apply_block,
    init_chain,
    touched_addresses,
)
from metanode.state.tree import CachedNodes, TreeUpdate
from metanode.types import (
    Address,
    Block,
    CommitCertificate,
    Event,
    Receipt,
    Transaction,
)

# 6: the indexes' level 0 (txs_recent, addrs_recent). 5: block h carries the certificate of
# h - 1 (its header commits to it); a store of format 5 holds exactly level 1, so opening it
# for writing creates the empty level 0 and writes 6.
FORMAT = b"6"
_FORMAT_UPGRADABLE = b"5"
# The store's directory inside a node's home.
LEDGER_DIR = "ledger"
_TABLES = ("meta", "blocks", "receipts", "certs", "state", "nodes", "txs_recent", "addrs_recent")
# The tree's node keys are version u64 ‖ depth ‖ packed path; its root-index keys start with
# "R" (0x52), which no depth byte (0..64) equals.
_VERSION_BYTES = 8
_ROOT_INDEX = b"R"
_BLOCK_ZLIB = b"\x01"
_HEIGHT_U32_MAX = 2**32 - 1
_POSITIONS = 2**16
_TX_PREFIX_BYTES = 8
# Index keys are hash or address prefixes: 8 bytes instead of 32 or 20 keep an index entry at
# ~24 bytes; the rare prefix collision costs a block read at lookup, never a wrong answer.
_ADDRESS_PREFIX_BYTES = 8
# Sparse on Linux: the file grows with what is written, not with the map.
_MAP_BYTES_DEFAULT = 1 << 40
# The tree's node table held in memory by the compiled core (`_core.NodeCache`): 100,000
# accounts' tree is ≈ 16 MB of it; past the bound a node read that misses goes to LMDB.
NODE_CACHE_BYTES_DEFAULT = 64 << 20

log = logging.getLogger(__name__)


def _height_key(height: int) -> bytes:
    return height.to_bytes(8, "big")


def _location(location: bytes) -> tuple[int, int]:
    """An index entry's (height, position) from height u32 ‖ position u16."""
    return int.from_bytes(location[:4], "big"), int.from_bytes(location[4:], "big")


class _Reader:
    """A `StateReader` (and tree node reader) over one table of one read transaction."""

    __slots__ = ("_db", "_txn")

    def __init__(self, txn: lmdb.Transaction, db: Any) -> None:
        self._txn = txn
        self._db = db

    def get(self, key: bytes) -> bytes | None:
        return self._txn.get(key, db=self._db)

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        # A cursor's `get` takes no keyword to parse, and answers a key that is not there in
        # a third of `Transaction.get`'s time (a block of transfers asks for every sender's
        # migration flag, which is almost never there).
        get = self._txn.cursor(db=self._db).get
        return [get(key) for key in keys]

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        cursor = self._txn.cursor(db=self._db)
        if not cursor.set_range(prefix):
            return
        for key, value in cursor:
            if not key.startswith(prefix):
                return
            yield key, value


class _NodeReader:
    """The tree's `NodeReader` over the path-keyed node table of one read transaction."""

    __slots__ = ("_db", "_txn")

    def __init__(self, txn: lmdb.Transaction, db: Any) -> None:
        self._txn = txn
        self._db = db

    def get(self, node_key: bytes) -> bytes | None:
        if node_key[:1] == _ROOT_INDEX:
            return self._txn.get(node_key, db=self._db)
        data = self._txn.get(node_key[_VERSION_BYTES:], db=self._db)
        if data is None or data[:_VERSION_BYTES] != node_key[:_VERSION_BYTES]:
            return None  # an older version of this path: not kept
        return data[_VERSION_BYTES:]


def block_row(block: Block) -> bytes:
    """A block as the blocks table holds it: 0x01 ‖ its encoding in zlib's format at level 1,
    by the core's libdeflate (less than half of zlib's CPU) or, for the reference, by zlib;
    the two give different bytes, which `zlib.decompress` reads back alike."""
    return _block_row_begun(block)()


def _block_row_begun(block: Block) -> Callable[[], bytes]:
    """`block_row(block)`, begun: the core compresses on a thread of its own, so that a
    commit's state and node rows are made meanwhile (the reference compresses when taken)."""
    core = native()
    if core is None:
        return lambda: _BLOCK_ZLIB + zlib.compress(block.encode(), 1)
    compressing = core.zlib_compress_begin(block.encode())
    return lambda: _BLOCK_ZLIB + compressing.result()


def encode_receipts(txs: tuple[Transaction, ...], receipts: tuple[Receipt, ...]) -> bytes:
    check(len(txs) == len(receipts), "one receipt per transaction")
    entries: list[Any] = []
    for tx, receipt in zip(txs, receipts, strict=True):
        if receipt.fee_charged == tx.fee and not receipt.events:
            entries.append(receipt.code)
        else:
            entries.append(
                [receipt.code, receipt.fee_charged, [event.to_wire() for event in receipt.events]]
            )
    return encode(entries)


def decode_receipts(data: bytes, txs: tuple[Transaction, ...]) -> tuple[Receipt, ...]:
    """The receipts stored for a block of `txs`; a malformed blob is a corrupt store."""
    try:
        entries = decode(data)
    except DecodeError as error:
        raise InvariantViolation(f"stored receipts are corrupt: {error}") from None
    check(type(entries) is tuple and len(entries) == len(txs), "stored receipts are malformed")
    receipts = []
    for tx, entry in zip(txs, entries, strict=True):
        if type(entry) is int:
            check(entry >= 0, "stored receipt code is negative")
            receipts.append(Receipt(tx.hash(), entry, tx.fee))
            continue
        check(
            type(entry) is tuple
            and len(entry) == 3
            and type(entry[0]) is int
            and type(entry[1]) is int
            and entry[0] >= 0
            and entry[1] >= 0
            and type(entry[2]) is tuple,
            "stored receipt is malformed",
        )
        try:
            events = tuple(Event.from_wire(event) for event in entry[2])
        except DecodeError as error:
            raise InvariantViolation(f"stored receipt events are corrupt: {error}") from None
        receipts.append(Receipt(tx.hash(), entry[0], entry[1], events))
    return tuple(receipts)


def _meta(txn: lmdb.Transaction, db: dict[str, Any], key: bytes) -> bytes:
    value = txn.get(key, db=db["meta"])
    if value is None:
        raise InvariantViolation(f"ledger store meta {key!r} missing")
    return value


class Snapshot:
    """The store as one read transaction sees it: every read is of the same committed height.
    Valid only inside `Store.snapshot()` (or until the next commit, for `Store.state()`)."""

    __slots__ = ("_db", "_txn")

    def __init__(self, txn: lmdb.Transaction, db: dict[str, Any]) -> None:
        self._txn = txn
        self._db = db

    @property
    def height(self) -> int:
        return int.from_bytes(_meta(self._txn, self._db, b"height"), "big")

    def state(self) -> LedgerState:
        txn, db = self._txn, self._db
        return LedgerState(
            reader=_Reader(txn, db["state"]),
            nodes=_NodeReader(txn, db["nodes"]),
            height=self.height,
            state_root=_meta(txn, db, b"state_root"),
            block_hash=_meta(txn, db, b"block_hash"),
        )

    def block(self, height: int) -> Block | None:
        data = self._txn.get(_height_key(height), db=self._db["blocks"])
        if data is None:
            return None
        check(data[:1] == _BLOCK_ZLIB, f"stored block {height} has an unknown format")
        return Block.decode(zlib.decompress(data[1:]))

    def receipts(self, height: int) -> tuple[Receipt, ...]:
        block = self.block(height)
        if block is None:
            return ()
        data = self._txn.get(_height_key(height), db=self._db["receipts"])
        check(data is not None, f"block {height} is stored without its receipts")
        return decode_receipts(data, block.txs)  # type: ignore[arg-type]

    def certificate(self, height: int) -> CommitCertificate | None:
        data = self._txn.get(_height_key(height), db=self._db["certs"])
        return None if data is None else CommitCertificate.decode(data)

    def index_locations(self, index: str, prefix: bytes) -> list[bytes]:
        """The locations (height u32 ‖ position u16) that index `index` ("txs" or "addrs")
        holds under `prefix`, oldest first: level 1's, then level 0's rows of the prefix's
        slice (newer than any of level 1's: a sweep moves a slice's every row)."""
        txn, db = self._txn, self._db
        cursor = txn.cursor(db=db[index])
        found = list(cursor.iternext_dup()) if cursor.set_key(prefix) else []
        recent = f"{index}_recent"
        first = bytes((index_runs.slice_of(prefix, constants.index_slices),))
        cursor = txn.cursor(db=db[recent])
        if cursor.set_range(first):
            for key, value in cursor:
                if key[:1] != first:
                    break
                found += index_runs.locations(recent, key, value, prefix)
        return found

    def lowest_block(self) -> int | None:
        """The lowest height whose block is held (above 1 in a store installed from a state
        snapshot), or None when there is none."""
        cursor = self._txn.cursor(db=self._db["blocks"])
        return int.from_bytes(cursor.key(), "big") if cursor.first() else None


class Store:
    """One node's ledger on disk. Not thread-safe: one owner (the node's single writer).

    With the compiled core, a writer holds its tree's node table in memory between blocks
    (`_core.NodeCache`, up to `node_cache_bytes`; 0 holds none): it is loaded from the table,
    `state()`'s node reader reads through it (a miss reads LMDB and fills it), and each commit
    hands it the block's node rows once LMDB has them. It is kept equal to the table by one
    rule: it mirrors the table at one tip (height, block hash), and any `state()` or commit
    that finds another tip (a state sync's install, a dev chain's revert, a writer it did not
    see) empties it first."""

    def __init__(
        self,
        env: lmdb.Environment,
        genesis: GenesisDocument,
        *,
        node_cache_bytes: int = NODE_CACHE_BYTES_DEFAULT,
    ) -> None:
        self._env = env
        self._db = {name: env.open_db(name.encode()) for name in _TABLES}
        self._db["txs"] = env.open_db(b"txs", dupsort=True)
        self._db["addrs"] = env.open_db(b"addrs", dupsort=True, dupfixed=True)
        self.genesis = genesis
        self._read: lmdb.Transaction | None = None
        core = native()
        self._nodes_cache = (
            core.NodeCache(node_cache_bytes) if core is not None and node_cache_bytes else None
        )
        self._cache_tip: tuple[int, bytes] | None = None  # the tip the cache mirrors

    @classmethod
    def open(
        cls,
        home: Path,
        genesis: GenesisDocument | None = None,
        *,
        map_bytes: int = _MAP_BYTES_DEFAULT,
        sync: bool = True,
        readonly: bool = False,
        node_cache_bytes: int = NODE_CACHE_BYTES_DEFAULT,
    ) -> Store:
        """Open (creating if needed) the store in `home`. A new store needs `genesis`; an
        existing one refuses a `genesis` other than the one it was made with. `readonly` opens
        an existing store for reading only, beside a node of another process that writes it
        (LMDB's lock file, which must be writable, coordinates the two), and holds no node
        cache: every commit of that writer would empty it."""
        if readonly:
            node_cache_bytes = 0
        if not readonly:
            home.mkdir(parents=True, exist_ok=True)
        try:
            env = lmdb.open(
                str(home),
                readonly=readonly,
                map_size=map_bytes,
                max_dbs=len(_TABLES) + 2,
                sync=sync,
                metasync=sync,
                # Random reads of state and tree nodes gain nothing from read-ahead, which
                # would only pull neighbouring pages into the node's resident memory.
                readahead=False,
            )
        except lmdb.Error as error:
            raise ConfigError(f"cannot open the ledger store in {home}: {error}") from None
        try:
            with env.begin(db=env.open_db(b"meta")) as txn:
                stored = txn.get(b"genesis")
                stored_format = txn.get(b"format")
        except lmdb.ReadonlyError:  # read-only, and the table was never created
            stored = stored_format = None
        if stored is None:
            if genesis is None or readonly:
                env.close()
                raise ConfigError(f"{home} holds no ledger; give a genesis file to create one")
            store = cls(env, genesis, node_cache_bytes=node_cache_bytes)
            store._commit(init_chain(genesis), None, genesis_text=genesis.to_json())
            return store
        if stored_format == _FORMAT_UPGRADABLE and not readonly:
            _upgrade(env, home)
            stored_format = FORMAT
        if stored_format != FORMAT:
            env.close()
            raise ConfigError(
                f"{home}: ledger format {stored_format!r}, this node reads {FORMAT!r}"
            )
        try:
            document = parse_genesis(stored.decode())
        except (UnicodeDecodeError, ConfigError) as error:
            env.close()
            # Written by this code as JSON, so garbage here is a damaged file, not bad input.
            raise StoreCorrupt(f"{home}: the stored genesis does not read: {error}") from None
        if genesis is not None and genesis.hash() != document.hash():
            env.close()
            raise ConfigError(
                f"{home} holds a ledger of another genesis (chain {document.chain_id})"
            )
        return cls(env, document, node_cache_bytes=node_cache_bytes)

    def close(self) -> None:
        self._end_read()
        self._env.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Reading ------------------------------------------------------------------------------

    def _end_read(self) -> None:
        if self._read is not None:
            self._read.abort()
            self._read = None

    def state(self) -> LedgerState:
        """The committed state, valid until the next commit."""
        if self._read is None:
            self._read = self._env.begin()
        state = Snapshot(self._read, self._db).state()
        cache = self._nodes_cache
        if cache is None:
            return state
        tip = (state.height, state.block_hash)
        nodes_db = self._db["nodes"]
        if tip != self._cache_tip:
            cache.clear()
            # The whole table, shallow nodes first (keys start with the depth) while the bound
            # allows: a block's transfers touch accounts no block before read (≈ 0.2 s at
            # 100,000 accounts, once after opening, a revert or an install).
            cache.apply(list(self._read.cursor(db=nodes_db).iternext()), [])
            self._cache_tip = tip
        rows = functools.partial(self._read.get, db=nodes_db)
        return dataclasses.replace(state, nodes=CachedNodes(cache, rows))

    def _forget_nodes(self) -> None:
        """The node table changed other than by a commit: the cache holds none of it."""
        if self._nodes_cache is not None:
            self._nodes_cache.clear()
            self._cache_tip = None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Reads of one committed height, whatever a writer (this process or another) commits
        meanwhile: one LMDB read transaction, which sees the store as it was when it began."""
        with self._env.begin() as txn:
            yield Snapshot(txn, self._db)

    @property
    def height(self) -> int:
        with self.snapshot() as snapshot:
            return snapshot.height

    def block(self, height: int) -> Block | None:
        with self.snapshot() as snapshot:
            return snapshot.block(height)

    def receipts(self, height: int) -> tuple[Receipt, ...]:
        with self.snapshot() as snapshot:
            return snapshot.receipts(height)

    def certificate(self, height: int) -> CommitCertificate | None:
        with self.snapshot() as snapshot:
            return snapshot.certificate(height)

    def find_tx(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(height, position) of a stored transaction, or None."""
        with self.snapshot() as snapshot:
            for location in snapshot.index_locations("txs", tx_hash[:_TX_PREFIX_BYTES]):
                height, position = _location(location)
                block = snapshot.block(height)
                if block is not None and block.txs[position].hash() == tx_hash:
                    return height, position
        return None

    def address_txs(self, address: Address) -> list[tuple[int, int]]:
        """The address's recent transactions as (height, position), newest first: of the
        newest `address_txs_max` indexed under its prefix, those that touch it."""
        with self.snapshot() as snapshot:
            found = snapshot.index_locations("addrs", address.raw[:_ADDRESS_PREFIX_BYTES])
            blocks: dict[int, Block | None] = {}
            mine = []
            for location in reversed(found[-constants.address_txs_max :]):
                height, position = _location(location)
                if height not in blocks:
                    blocks[height] = snapshot.block(height)
                block = blocks[height]
                if block is not None and address in touched_addresses(block.txs[position]):
                    mine.append((height, position))
        return mine

    def copy_to(self, directory: Path) -> None:
        copy_environment(self._env, directory)

    def restore_from(self, directory: Path) -> None:
        """The store as `copy_to(directory)` copied it (a dev chain's revert)."""
        self._end_read()
        self._forget_nodes()
        tables = {name.encode(): db for name, db in self._db.items()}
        restore_environment(self._env, tables, directory)

    def table_pages(self) -> dict[str, int]:
        """Pages each table uses, and `free`: pages of the file in no table (LMDB's free list
        and its two meta pages)."""
        pages: dict[str, int] = {}
        with self._env.begin() as txn:
            for name, db in self._db.items():
                stat = txn.stat(db)
                pages[name] = stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
        pages["free"] = self._env.info()["last_pgno"] + 1 - sum(pages.values())
        return pages

    def file_bytes(self) -> int:
        """Bytes the LMDB data file uses (up to its last page)."""
        info = self._env.info()
        return (info["last_pgno"] + 1) * self._env.stat()["psize"]

    # Writing ------------------------------------------------------------------------------

    def commit(
        self, changes: BlockChanges, certificate: CommitCertificate | None = None
    ) -> LedgerState:
        """Store one block and everything it changed in one write transaction."""
        check(changes.block is not None, "commit a block's changes; genesis commits on open")
        self._commit(changes, certificate)
        return self.state()

    def install(
        self,
        block: Block,
        certificate: CommitCertificate,
        receipts: bytes,
        items: Sequence[tuple[bytes, bytes]],
        update: TreeUpdate,
    ) -> LedgerState:
        """Make the store hold the state `items` at `block`'s height, its tree `update` (built at
        that version from nothing), the block, its compact receipts and its certificate, in one
        write transaction; blocks below it are not held. State sync's install (node/snapshots.py,
        which verified all of it against the certified header first)."""
        header = block.header
        check(update.root == header.state_root, "installing a state that is not the header's")
        check(
            certificate.block_hash == header.hash(), "installing a block with another's certificate"
        )
        self._end_read()
        self._forget_nodes()
        db = self._db
        with self._env.begin(write=True) as txn:
            for name in (
                "state",
                "nodes",
                "blocks",
                "receipts",
                "certs",
                "txs",
                "addrs",
                "txs_recent",
                "addrs_recent",
            ):
                txn.drop(db[name], delete=False)
            txn.cursor(db=db["state"]).putmulti(items, append=True)
            txn.cursor(db=db["nodes"]).putmulti(_tree_rows(update)[0])
            key = _height_key(header.height)
            txn.put(key, block_row(block), db=db["blocks"])
            txn.put(key, receipts, db=db["receipts"])
            txn.put(key, certificate.encode(), db=db["certs"])
            txn.put(b"height", key, db=db["meta"])
            txn.put(b"block_hash", header.hash(), db=db["meta"])
            txn.put(b"state_root", header.state_root, db=db["meta"])
        return self.state()

    def save_certificate(self, height: int, certificate: CommitCertificate) -> None:
        with self._env.begin(write=True) as txn:
            check(
                txn.get(_height_key(height), db=self._db["blocks"]) is not None,
                f"certificate for height {height}, which is not stored",
            )
            txn.put(_height_key(height), certificate.encode(), db=self._db["certs"])

    def _commit(
        self,
        changes: BlockChanges,
        certificate: CommitCertificate | None,
        genesis_text: str | None = None,
    ) -> None:
        self._end_read()
        db = self._db
        height = changes.height
        parent: tuple[int, bytes] | None = None
        with self._env.begin(write=True) as txn:
            if genesis_text is None:
                tip = int.from_bytes(_meta(txn, db, b"height"), "big")
                check(height == tip + 1, f"commit of height {height} on a store at {tip}")
                check(
                    changes.block is not None
                    and changes.block.header.previous_hash == _meta(txn, db, b"block_hash"),
                    "commit of a block that does not extend the stored tip",
                )
                parent = (tip, changes.block.header.previous_hash)
            else:
                check(txn.get(b"height", db=db["meta"]) is None, "genesis committed twice")
                txn.put(b"genesis", genesis_text.encode(), db=db["meta"])
                txn.put(b"genesis_hash", changes.block_hash, db=db["meta"])
                txn.put(b"format", FORMAT, db=db["meta"])
            block = changes.block
            row = None if block is None else _block_row_begun(block)
            rows, deletes = self._write_state(txn, changes)
            if block is not None and row is not None:
                key = _height_key(height)
                txn.put(key, row(), db=db["blocks"])
                txn.put(key, encode_receipts(block.txs, changes.receipts), db=db["receipts"])
                if certificate is not None:
                    check(certificate.height == height, "certificate of another height")
                    txn.put(key, certificate.encode(), db=db["certs"])
                self._write_indexes(txn, height, block, changes)
            txn.put(b"height", height.to_bytes(8, "big"), db=db["meta"])
            txn.put(b"block_hash", changes.block_hash, db=db["meta"])
            txn.put(b"state_root", changes.state_root, db=db["meta"])
        # Only once LMDB holds the block: a commit that raised changed neither.
        cache = self._nodes_cache
        if cache is not None:
            # Genesis (no parent) wrote the first rows of an empty table: the cache holds them.
            if parent is None or parent != self._cache_tip:
                cache.clear()
            if parent is None or parent == self._cache_tip:
                if changes.tree.core is not None:
                    cache.apply_update(changes.tree.core)
                else:
                    cache.apply(rows, [key for key, _ in deletes])
            self._cache_tip = (height, changes.block_hash)

    def _write_state(
        self, txn: lmdb.Transaction, changes: BlockChanges
    ) -> tuple[list[Row], list[tuple[bytes, bytes | None]]]:
        """Put the block's state and node rows; the node rows put and the keys deleted."""
        db = self._db
        state_db = db["state"]
        # The writes come sorted by key: `putmulti` puts them in one C loop, in key order
        # (a put per row from Python was a fifth of a block's commit).
        txn.cursor(db=state_db).putmulti(
            [write for write in changes.writes if write[1] is not None]
        )
        for key, value in changes.writes:
            if value is None:
                txn.delete(key, db=state_db)
        nodes_db = db["nodes"]
        rows, deletes = _tree_rows(changes.tree)
        for key, version in deletes:
            if version is not None:
                stored = txn.get(key, db=nodes_db)
                check(
                    stored is not None and stored[:_VERSION_BYTES] == version,
                    f"stale tree node {(version + key).hex()} is not the one stored",
                )
            txn.delete(key, db=nodes_db)
        txn.cursor(db=nodes_db).putmulti(rows)
        return rows, deletes

    def _write_indexes(
        self, txn: lmdb.Transaction, height: int, block: Block, changes: BlockChanges
    ) -> None:
        check(height <= _HEIGHT_U32_MAX, "index heights are u32")
        check(len(block.txs) <= _POSITIONS, "index positions are u16")
        touched = changes.touched or [
            [address.raw for address in touched_addresses(tx)] for tx in block.txs
        ]
        core = native()
        slices = constants.index_slices
        txs_rows, addrs_rows = (_index_rows if core is None else core.index_rows)(
            height, changes.tx_hashes, touched, slices
        )
        db = self._db
        txn.cursor(db=db["txs_recent"]).putmulti(txs_rows)
        txn.cursor(db=db["addrs_recent"]).putmulti(addrs_rows)
        part = height % slices
        txn.cursor(db=db["txs"]).putmulti(self._sweep(txn, "txs_recent", part)[0])
        moved, prefixes = self._sweep(txn, "addrs_recent", part)
        cursor = txn.cursor(db=db["addrs"])
        cursor.putmulti(moved)
        keep = constants.address_txs_max
        set_key, count = cursor.set_key, cursor.count
        # A sweep moves ≈ 2 prefixes a transfer: each is found and counted by C calls from
        # one comprehension, and only a prefix past `keep` (rare) loses its oldest rows.
        for raw in [raw for raw in prefixes if set_key(raw) and count() > keep]:
            while set_key(raw) and count() > keep:
                cursor.delete()

    def _sweep(self, txn: lmdb.Transaction, table: str, part: int) -> tuple[list[Row], list[bytes]]:
        """Take level 0's rows of slice `part` out of `table`: their entries as level 1's
        rows, sorted, and their prefixes once each."""
        cursor = txn.cursor(db=self._db[table])
        first = bytes((part,))
        rows = []
        if cursor.set_range(first):
            # `delete` moves the cursor to the next row (an empty key past the last).
            while cursor.key()[:1] == first:
                rows.append(cursor.item())
                cursor.delete()
        core = native()
        return (index_runs.swept if core is None else core.index_swept)(table, rows)


Row = tuple[bytes, bytes]


def _tree_rows(update: TreeUpdate) -> tuple[list[Row], list[tuple[bytes, bytes | None]]]:
    """`_node_rows` of `update`, made by the core from its own copy when it made the update
    (no Python object a node in between)."""
    if update.core is not None:
        return update.core.node_rows()  # type: ignore[no-any-return]
    return _node_rows(update.node_writes, update.stale)


def _node_rows(
    writes: Iterable[Row], stale: Iterable[bytes]
) -> tuple[list[Row], list[tuple[bytes, bytes | None]]]:
    """The node table's rows for a tree update: a node under its path, its version ahead of
    its encoding, a root-index entry as it is; and the keys its stale nodes delete, each with
    the version its stored row must have (None for a root-index entry), but for the paths a
    new node replaces in place. The reference of the core's `TreeWrites.node_rows`."""
    rows = [
        (node_key, node)
        if node_key[:1] == _ROOT_INDEX
        else (node_key[_VERSION_BYTES:], node_key[:_VERSION_BYTES] + node)
        for node_key, node in writes
    ]
    written = {path for path, _ in rows}
    deletes: list[tuple[bytes, bytes | None]] = [
        (node_key, None)
        if node_key[:1] == _ROOT_INDEX
        else (node_key[_VERSION_BYTES:], node_key[:_VERSION_BYTES])
        for node_key in stale
        if node_key[:1] == _ROOT_INDEX or node_key[_VERSION_BYTES:] not in written
    ]
    return rows, deletes


def _index_rows(
    height: int, tx_hashes: Sequence[bytes], touched: Sequence[Sequence[bytes]], slices: int
) -> tuple[list[Row], list[Row]]:
    """A block's level-0 index rows (`index_runs.recent_rows`) of its entries (tx hash
    prefix, location) and (address prefix, location) for each address each transaction
    touches; a location is height u32 ‖ position u16. The reference of the core's
    `index_rows`."""
    head = height.to_bytes(4, "big")
    locations = [head + position.to_bytes(2, "big") for position in range(len(tx_hashes))]
    txs = sorted(zip([tx_hash[:_TX_PREFIX_BYTES] for tx_hash in tx_hashes], locations, strict=True))
    addrs = sorted(
        (address[:_ADDRESS_PREFIX_BYTES], location)
        for addresses, location in zip(touched, locations, strict=True)
        for address in addresses
    )
    return index_runs.recent_rows(height, txs, slices), index_runs.recent_rows(
        height, addrs, slices
    )


def _upgrade(env: lmdb.Environment, home: Path) -> None:
    """A store of format 5 to `FORMAT`, in one write transaction: its indexes are level 1 as
    they are, and level 0 starts empty."""
    with env.begin(write=True) as txn:
        for name in ("txs_recent", "addrs_recent"):
            env.open_db(name.encode(), txn=txn)
        txn.put(b"format", FORMAT, db=env.open_db(b"meta", txn=txn))
    log.info(
        "ledger store %s upgraded from format %s to %s (the indexes' level 0 added)",
        home,
        _FORMAT_UPGRADABLE.decode(),
        FORMAT.decode(),
    )


def copy_environment(env: lmdb.Environment, directory: Path) -> None:
    """A copy of `env` as one read transaction sees it, into the new `directory` (a dev
    chain's snapshot, node/devchain.py)."""
    directory.mkdir(parents=True)
    env.copy(str(directory))


def compact_copy(source: Path, directory: Path) -> None:
    """A compacted copy (free pages left out) of the LMDB environment in `source` into the new
    `directory`, as one read transaction sees it: a node of another process may be writing it
    (LMDB's lock file coordinates the two). A backup's copy (node/backup.py)."""
    try:
        env = lmdb.open(
            str(source), readonly=True, map_size=_MAP_BYTES_DEFAULT, max_dbs=64, readahead=False
        )
    except lmdb.Error as error:
        raise ConfigError(f"cannot open the LMDB store in {source}: {error}") from None
    try:
        directory.mkdir(parents=True)
        env.copy(str(directory), compact=True)
    finally:
        env.close()


def restore_environment(env: lmdb.Environment, tables: dict[bytes | None, Any], path: Path) -> None:
    """Give every table of `tables` (name, None for the main table → `env`'s handle) the
    content it has in the copy at `path`, in one write transaction of `env`. In place, so
    every holder of the environment and its handles reads the restored content next: closing
    and reopening would leave the gateway's and the executor's handles dangling."""
    copy = lmdb.open(str(path), readonly=True, lock=False, max_dbs=len(tables), readahead=False)
    try:
        with env.begin(write=True) as write, copy.begin() as read:
            for name, handle in tables.items():
                flags = handle.flags(write)
                try:
                    source = copy.open_db(name, txn=read, create=False, **flags)
                except lmdb.Error:
                    # A copy made by another version of the store (format 5 had no level-0
                    # tables): raising aborts the write transaction, so nothing is restored.
                    raise ConfigError(
                        f"{path}: the copy has no table {name!r} (made by another version of "
                        "this store?); nothing was restored"
                    ) from None
                write.drop(handle, delete=False)
                # Items come in key order: appending skips the search, but not for duplicate
                # keys, which LMDB's append refuses.
                write.cursor(db=handle).putmulti(
                    read.cursor(db=source).iternext(), append=not flags["dupsort"]
                )
    finally:
        copy.close()


@dataclass(frozen=True, slots=True)
class ReplayReport:
    height: int
    state_root: bytes
    blocks: int
    transactions: int


class StoreCorrupt(MetanodeError):
    """The store holds what this code never writes: the file is damaged."""


class ReplayMismatch(MetanodeError):
    """Re-executing the stored chain did not reproduce what the store holds."""


def replay_check(
    store: Store,
    *,
    verify_signatures: bool = True,
    invariants: bool = False,
    on_block: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Re-execute every stored block from genesis; raise `ReplayMismatch` at the first
    difference (a header's state root, a block's receipts, the tip, the final state), and, with
    `invariants`, at the first block after which a module's invariant fails (they scan whole
    tables: slow on a long chain).

    Every read is of one snapshot, so a node that commits while the check runs (in its own
    process) changes nothing the check sees: reading the tip, the blocks and the final state
    in separate transactions compared the state of one height with the replay of another.
    `on_block(tip)` is told each block re-executed and the tip it runs to (a progress bar)."""
    with store.snapshot() as snapshot:
        return _replay(store.genesis, snapshot, verify_signatures, invariants, on_block)


def _replay(
    genesis: GenesisDocument,
    snapshot: Snapshot,
    verify_signatures: bool,
    invariants: bool,
    on_block: Callable[[int], None] | None,
) -> ReplayReport:
    ledger = MemoryLedger(genesis)
    tip = snapshot.height
    transactions = 0
    for height in range(1, tip + 1):
        block = snapshot.block(height)
        if block is None:
            raise ReplayMismatch(f"block {height} is missing below the tip {tip}")
        try:
            changes = apply_block(ledger.state, block, verify_signatures=verify_signatures)
        except InvalidBlock as error:
            raise ReplayMismatch(f"block {height} does not re-execute: {error}") from None
        if changes.receipts != snapshot.receipts(height):
            raise ReplayMismatch(f"block {height}: re-executed receipts differ from the stored")
        ledger.commit(changes)
        if invariants:
            try:
                check_all(ledger.state.reader)
            except InvariantViolation as error:
                raise ReplayMismatch(f"block {height}: {error}") from None
        transactions += len(block.txs)
        if on_block is not None:
            on_block(tip)
    stored = snapshot.state()
    if stored.state_root != ledger.state.state_root or stored.height != ledger.state.height:
        raise ReplayMismatch(
            f"tip: stored root {stored.state_root.hex()} at {stored.height}, "
            f"re-executed {ledger.state.state_root.hex()} at {ledger.state.height}"
        )
    if dict(stored.reader.scan(b"")) != ledger.items:
        raise ReplayMismatch("the stored state table differs from the re-executed state")
    return ReplayReport(tip, ledger.state.state_root, tip, transactions)
