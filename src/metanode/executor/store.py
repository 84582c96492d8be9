"""The executor's own LMDB environment: each app's state, receipts and head.

Separate from the ledger's store (a node that is no executor has none, and executing never
contends with block commits for the ledger's one writer). Tables:
    heads     app_id → CBOR [seq, receipt_hash]         the app's last executed call
    receipts  app_id ‖ seq (8 bytes, big-endian) → CBOR [receipt (tagged), output, state_bytes,
              [witness record, …]] (what a replay of the call checks; the court asks for it)
    state     app_id ‖ key → value
    undo      app_id ‖ seq → CBOR [[key, value before or null], …]: what call seq changed
A call commits its state changes, its undo record, its receipt and the app's new head in the
same write transaction; the service runs up to `calls_per_commit_max` calls in one transaction
(`writing`), synced once before any of their receipts is published, so after a crash the store
holds each call entirely or not at all, and the executor resumes after the head.

The head's receipt hash is the executor's own last receipt of the app, what its next receipt
chains to by `previous`: a call it runs only to catch up (it was not drawn for it) moves the
head's seq and the state, and signs nothing. The undo records let it serve the app's state as
it stood after an earlier call (`state_at`) to an executor drawn anew (the hand-over,
docs/executor.md); an installed state (`install`) starts a new undo history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import lmdb

from metanode.codec import decode, encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.docklock.overlay import Changes
from metanode.docklock.receipt import Receipt
from metanode.docklock.witness import Record, logged
from metanode.errors import ConfigError, check
from metanode.state.store import copy_environment, restore_environment
from metanode.state.values import encode_plain

from . import constants

_SEQ_BYTES = 8
_HEAD_OF_4 = encode([None] * 4)[:1]  # the CBOR head of a four-item array
ZERO = bytes(32)
_APP_ID_BYTES = 32


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    receipt_hash: bytes


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    seq: int
    receipt: Receipt
    output: bytes
    state_bytes: int  # the app state's size after the call (Σ key and value bytes)
    witness: tuple[Record, ...]  # the call's host calls, which the receipt's witness root covers
    encoded: bytes  # the receipt's encoding (`Receipt.encode()`), as stored

    @property
    def logs(self) -> list[bytes]:
        """What the call passed to the `log` host call, in order."""
        return logged(self.witness)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An app as one read transaction saw it: its head (None: no call yet) and state."""

    head: Head | None
    state: dict[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Served:
    """The app's state after call `receipt.seq`, which this executor's receipt authenticates
    (its `state_root_after`)."""

    receipt: StoredReceipt
    state: dict[bytes, bytes]


def _receipt_key(app_id: bytes, seq: int) -> bytes:
    return app_id + seq.to_bytes(_SEQ_BYTES, "big")


@dataclass(frozen=True, slots=True)
class StateRead:
    """One key of an app's state as its last committed call left it, with the key's proof
    (`tree.prove`; `docklock.appstate.verify_read` checks it) under the state's root."""

    seq: int | None  # the last call the state reflects; None before the first
    value: bytes | None
    root: bytes
    proof: bytes


class ExecutorStore:
    def __init__(self, env: lmdb.Environment) -> None:
        self._env = env
        self._heads = env.open_db(b"heads")
        self._receipts = env.open_db(b"receipts")
        self._state = env.open_db(b"state")
        self._undo = env.open_db(b"undo")

    @classmethod
    def open(cls, path: Path) -> ExecutorStore:
        path.mkdir(parents=True, exist_ok=True)
        try:
            env = lmdb.open(str(path), map_size=constants.map_bytes, max_dbs=4, readahead=False)
        except lmdb.Error as error:
            raise ConfigError(f"cannot open the executor store in {path}: {error}") from None
        return cls(env)

    def close(self) -> None:
        self._env.close()

    def copy_to(self, directory: Path) -> None:
        """A dev chain's snapshot (node/devchain.py), and its revert below."""
        copy_environment(self._env, directory)

    def restore_from(self, directory: Path) -> None:
        tables = {b"heads": self._heads, b"receipts": self._receipts, b"state": self._state}
        restore_environment(self._env, tables, directory)

    def head(self, app_id: bytes) -> Head | None:
        with self._env.begin() as txn:
            return self._head(txn, app_id)

    def _head(self, txn: lmdb.Transaction, app_id: bytes) -> Head | None:
        raw = txn.get(app_id, db=self._heads)
        if raw is None:
            return None
        seq, receipt_hash = decode(raw)
        return Head(seq, receipt_hash)

    def _app_state(self, txn: lmdb.Transaction, app_id: bytes) -> dict[bytes, bytes]:
        state: dict[bytes, bytes] = {}
        cursor = txn.cursor(db=self._state)
        if cursor.set_range(app_id):
            for key, value in cursor:
                if key[:_APP_ID_BYTES] != app_id:
                    break
                state[key[_APP_ID_BYTES:]] = value
        return state

    def snapshot(self, app_id: bytes) -> Snapshot:
        with self._env.begin() as txn:
            return Snapshot(self._head(txn, app_id), self._app_state(txn, app_id))

    def writing(self) -> Writer:
        """One write transaction for many calls (`Writer.commit` each), synced once when the
        `with` block ends: an fsync per call capped the executor at ~480 calls/s."""
        return Writer(self)

    def install(self, app_id: bytes, seq: int, state: dict[bytes, bytes]) -> None:
        """Take the app's state after call `seq` from another replica (checked by the caller
        against that call's receipt); the head keeps this executor's own last receipt."""
        with self._env.begin(write=True) as txn:
            head = self._head(txn, app_id)
            check(head is None or head.seq < seq, "an installed state must be ahead of the head")
            for key in self._app_state(txn, app_id):
                txn.delete(app_id + key, db=self._state)
            for key, value in state.items():
                txn.put(app_id + key, value, db=self._state)
            # The old undo records led to a state that is no longer this one's history.
            cursor = txn.cursor(db=self._undo)
            while cursor.set_range(app_id) and cursor.key()[:_APP_ID_BYTES] == app_id:
                cursor.delete()
            own = ZERO if head is None else head.receipt_hash
            txn.put(app_id, encode([seq, own]), db=self._heads)

    def state_at(self, app_id: bytes, first_seq: int, last_seq: int) -> Served | None:
        """The app's state after the latest call in first_seq..last_seq that this executor
        signed a receipt for and can still undo back to, with that receipt."""
        with self._env.begin() as txn:
            head = self._head(txn, app_id)
            if head is None:
                return None
            state = self._app_state(txn, app_id)
            seq = head.seq
            while seq >= first_seq:
                raw = (
                    txn.get(_receipt_key(app_id, seq), db=self._receipts)
                    if seq <= last_seq
                    else None
                )
                if raw is not None:
                    return Served(_stored(seq, bytes(raw)), state)
                undo = txn.get(_receipt_key(app_id, seq), db=self._undo)
                if undo is None:
                    return None  # before an installed state: not this store's history
                for key, value in decode(undo):
                    if value is None:
                        state.pop(key, None)
                    else:
                        state[key] = value
                seq -= 1
            return None

    def heads(self) -> dict[bytes, Head]:
        """Every app this executor has run a call of, with its head."""
        with self._env.begin() as txn:
            return {app_id: Head(*decode(raw)) for app_id, raw in txn.cursor(db=self._heads)}

    def receipts(self, app_id: bytes, from_seq: int, limit: int) -> list[StoredReceipt]:
        """This executor's receipts for `app_id` from `from_seq` on, in seq order."""
        return [_stored(seq, data) for seq, data in self._scan(app_id, from_seq, limit)]

    def signed(self, app_id: bytes, from_seq: int, limit: int) -> dict[int, Receipt]:
        """`receipts` without their outputs and witnesses decoded, by seq: what a comparison
        with other replicas' receipts needs (the court watch at each commit)."""
        return {
            seq: Receipt.from_wire(decode(data)[0])
            for seq, data in self._scan(app_id, from_seq, limit)
        }

    def _scan(self, app_id: bytes, from_seq: int, limit: int) -> list[tuple[int, bytes]]:
        found: list[tuple[int, bytes]] = []
        with self._env.begin() as txn:
            cursor = txn.cursor(db=self._receipts)
            if not cursor.set_range(_receipt_key(app_id, from_seq)):
                return found
            for key, value in cursor:
                if key[:_APP_ID_BYTES] != app_id or len(found) >= limit:
                    break
                found.append((int.from_bytes(key[_APP_ID_BYTES:], "big"), bytes(value)))
        return found


def _stored(seq: int, data: bytes) -> StoredReceipt:
    """The record `Writer.commit` stored: the receipt's bytes are cut from it (the array's
    head, then the receipt, then the other three items, which are encoded again to find their
    length) instead of encoded again from the decoded receipt, as a gateway serving it needs
    them (docs/performance.md, "Apps, w20")."""
    wire, output, size, witness = decode(data)
    records = tuple(Record.decode(record) for record in witness)
    encoded = data[1 : len(data) - len(encode_plain([output, size, witness])) + 1]
    return StoredReceipt(seq, Receipt.from_wire(wire), output, size, records, encoded)


class Writer:
    """A write transaction of the executor store over many calls (`ExecutorStore.writing`):
    committed, and synced, when its `with` block ends; an exception in it aborts every call."""

    def __init__(self, store: ExecutorStore) -> None:
        self._store = store
        self._txn = store._env.begin(write=True)
        # The heads this transaction wrote: each call checks its seq against its app's head,
        # read back and decoded from the transaction for every call before (~3 us a call).
        self._heads: dict[bytes, Head] = {}

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self._txn.commit()
        else:
            self._txn.abort()

    def commit(
        self,
        app_id: bytes,
        seq: int,
        before: Mapping[bytes, bytes],
        changes: Changes,
        size: int,
        signed: tuple[Receipt, bytes, Sequence[bytes]] | None,
        previous: bytes | None = None,
        encoded: bytes | None = None,
    ) -> bytes:
        """Call `seq` made `changes` (by key, each differing from `before`, the app's state
        before it) and left a state of `size` bytes; `signed` is its receipt, output and
        witness records' encodings, or None for a call run only to catch up. Only the changed
        keys are written, so a call costs what it wrote, not its app's size. The receipt chains
        to the app's last one here, or to `previous` when the node chose another
        (`CommittedCall.previous`). `encoded`: the receipt's encoding, if the caller holds it.
        Returns the receipt hash the app's head now names."""
        check(len(app_id) == _APP_ID_BYTES, "app ids are 32 bytes")
        store, txn = self._store, self._txn
        head = self._heads[app_id] if app_id in self._heads else store._head(txn, app_id)
        expected = constants.first_seq if head is None else head.seq + 1
        check(seq == expected, f"call {seq} committed where {expected} was next")
        own = ZERO if head is None else head.receipt_hash
        # Deletes first, then puts, each by key: the records as they were when a call's whole
        # states were compared.
        undo: list[list[bytes | None]] = []
        for key, value in changes.items():
            if value is None:
                undo.append([key, before[key]])
                txn.delete(app_id + key, db=store._state)
        for key, value in changes.items():
            if value is not None:
                undo.append([key, before.get(key)])
                txn.put(app_id + key, value, db=store._state)
        # The records below hold byte strings, uint64s and nulls only: `encode_plain` writes the
        # codec's bytes without its hooks (tests/executor/test_store_encodings.py compares).
        txn.put(_receipt_key(app_id, seq), encode_plain(undo), db=store._undo)
        if signed is not None:
            receipt, output, records = signed
            expected_previous = own if previous is None else previous
            check(
                receipt.previous == expected_previous, "a receipt must chain to the app's last one"
            )
            wire = receipt.encode() if encoded is None else encoded
            own = tagged_hash(tags.EXEC_RECEIPT, wire)
            # An array's encoding is its head and its items' encodings: the receipt's is at hand.
            rest = [output, size, list(records)]
            txn.put(
                _receipt_key(app_id, seq),
                _HEAD_OF_4 + wire + encode_plain(rest)[1:],
                db=store._receipts,
            )
        txn.put(app_id, encode_plain([seq, own]), db=store._heads)
        self._heads[app_id] = Head(seq, own)
        return own
