"""The engine's write-ahead record (`consensus.record.Durable`) in its own LMDB environment.

`save` commits synchronously (LMDB's commit is durable when it returns). The node saves a
`Persist` action's record with `save_soon`, in the log's one writer thread (saves stay in
order), and carries out the `Broadcast` that follows only once that save is done: a validator
that restarts never signs a message that conflicts with one it already sent. The fsync was
4.3% of a validator's loop at `--rate max` (py-spy, docs/performance.md), time in which the
loop could not serve the gateway or the network.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import lmdb

from metanode.consensus.record import Durable
from metanode.errors import ConfigError
from metanode.state.store import copy_environment, restore_environment

_KEY = b"durable"
_MAP_BYTES = 64 * 1024 * 1024


class ConsensusLog:
    def __init__(self, directory: Path, *, sync: bool = True) -> None:
        """`sync=False` (a dev chain) gives up the guarantee above for speed: the fsyncs were
        40% of a dev chain's commit, several per height."""
        directory.mkdir(parents=True, exist_ok=True)
        try:
            self._env = lmdb.open(
                str(directory), map_size=_MAP_BYTES, max_dbs=1, sync=sync, metasync=sync
            )
        except lmdb.Error as error:
            raise ConfigError(f"cannot open the consensus log in {directory}: {error}") from None
        # Without fsync a save takes microseconds: a thread would cost more than it frees.
        self._writer = ThreadPoolExecutor(1, "consensus-log") if sync else None

    def save(self, record: Durable) -> None:
        with self._env.begin(write=True) as txn:
            txn.put(_KEY, record.encode())

    def save_soon(self, record: Durable) -> Future[None]:
        """`save` in the writer thread, after the saves asked before it; done at once if the
        log does not fsync."""
        if self._writer is not None:
            return self._writer.submit(self.save, record)
        saved: Future[None] = Future()
        saved.set_result(self.save(record))
        return saved

    def load(self) -> Durable | None:
        with self._env.begin() as txn:
            data = txn.get(_KEY)
        return None if data is None else Durable.decode(bytes(data))

    def copy_to(self, directory: Path) -> None:
        copy_environment(self._env, directory)

    def restore_from(self, directory: Path) -> None:
        restore_environment(self._env, {None: self._env.open_db()}, directory)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown()  # the saves asked for are finished first
        self._env.close()
