"""The executor's own LMDB environment: each app's state, receipts and head.

Separate from the ledger's store (a node that is no executor has none, and executing never
contends with block commits for the ledger's one writer). Tables:
    heads     app_id → CBOR [seq, receipt_hash]         the app's last executed call
    receipts  app_id ‖ seq (8 bytes, big-endian) → CBOR [receipt (tagged), output]
    state     app_id ‖ key → value
One call commits its state changes, its receipt and the app's new head in one write
transaction (synced before `commit` returns, and before the receipt is published), so after a
crash the store holds each call entirely or not at all, and the executor resumes after the head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb

from metanode.codec import decode, encode
from metanode.docklock.receipt import Receipt
from metanode.errors import ConfigError, check
from metanode.state.store import copy_environment, restore_environment

from . import constants

_SEQ_BYTES = 8
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


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An app as one read transaction saw it: its head (None: no call yet) and state."""

    head: Head | None
    state: dict[bytes, bytes]


def _receipt_key(app_id: bytes, seq: int) -> bytes:
    return app_id + seq.to_bytes(_SEQ_BYTES, "big")


class ExecutorStore:
    def __init__(self, env: lmdb.Environment) -> None:
        self._env = env
        self._heads = env.open_db(b"heads")
        self._receipts = env.open_db(b"receipts")
        self._state = env.open_db(b"state")

    @classmethod
    def open(cls, path: Path) -> ExecutorStore:
        path.mkdir(parents=True, exist_ok=True)
        try:
            env = lmdb.open(str(path), map_size=constants.map_bytes, max_dbs=3, readahead=False)
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

    def commit(
        self,
        app_id: bytes,
        seq: int,
        before: dict[bytes, bytes],
        after: dict[bytes, bytes],
        receipt: Receipt,
        output: bytes,
    ) -> None:
        check(len(app_id) == _APP_ID_BYTES, "app ids are 32 bytes")
        with self._env.begin(write=True) as txn:
            head = self._head(txn, app_id)
            expected = constants.first_seq if head is None else head.seq + 1
            check(seq == expected, f"call {seq} committed where {expected} was next")
            check(
                receipt.previous == (bytes(32) if head is None else head.receipt_hash),
                "a receipt must chain to the app's last one",
            )
            for key in before.keys() - after.keys():
                txn.delete(app_id + key, db=self._state)
            for key, value in after.items():
                if before.get(key) != value:
                    txn.put(app_id + key, value, db=self._state)
            txn.put(
                _receipt_key(app_id, seq),
                encode([receipt.to_wire(), output]),
                db=self._receipts,
            )
            txn.put(app_id, encode([seq, receipt.hash()]), db=self._heads)

    def receipts(self, app_id: bytes, from_seq: int, limit: int) -> list[StoredReceipt]:
        """This executor's receipts for `app_id` from `from_seq` on, in seq order."""
        found: list[StoredReceipt] = []
        with self._env.begin() as txn:
            cursor = txn.cursor(db=self._receipts)
            if not cursor.set_range(_receipt_key(app_id, from_seq)):
                return found
            for key, value in cursor:
                if key[:_APP_ID_BYTES] != app_id or len(found) >= limit:
                    break
                found.append(_stored(int.from_bytes(key[_APP_ID_BYTES:], "big"), decode(value)))
        return found


def _stored(seq: int, value: Any) -> StoredReceipt:
    wire, output = value
    return StoredReceipt(seq, Receipt.from_wire(wire), output)
