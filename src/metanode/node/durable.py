"""The engine's write-ahead record (`consensus.record.Durable`) in its own LMDB environment.

`save` commits synchronously (LMDB's commit is durable when it returns), and the node calls it
for a `Persist` action before it carries out the `Broadcast` that follows: a validator that
restarts never signs a message that conflicts with one it already sent.
"""

from __future__ import annotations

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

    def save(self, record: Durable) -> None:
        with self._env.begin(write=True) as txn:
            txn.put(_KEY, record.encode())

    def load(self) -> Durable | None:
        with self._env.begin() as txn:
            data = txn.get(_KEY)
        return None if data is None else Durable.decode(bytes(data))

    def copy_to(self, directory: Path) -> None:
        copy_environment(self._env, directory)

    def restore_from(self, directory: Path) -> None:
        restore_environment(self._env, {None: self._env.open_db()}, directory)

    def close(self) -> None:
        self._env.close()
