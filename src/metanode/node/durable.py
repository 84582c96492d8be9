"""The engine's write-ahead record (`consensus.record.Durable`) in its own LMDB environment.

`save` commits synchronously (LMDB's commit is durable when it returns), and the node calls it
for a `Persist` action before it carries out the `Broadcast` that follows: a validator that
restarts never signs a message that conflicts with one it already sent. The fsync takes 2-30
ms on the shared machine under load (0.2 ms of CPU), and it is on the path of every vote, so
the node writes once for all the `Persist` actions of one engine step (`fold`).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import lmdb

from metanode.consensus.actions import Action, Persist
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


def fold(record: Durable, actions: deque[Action]) -> Durable:
    """The record to write for a `Persist` and for every later `Persist` of the same height in
    `actions` (one engine step's), which it removes: the last of them. Within a height a record
    only grows (`sent` gains messages, `prepared_round` only rises), so the last one names
    every message the earlier ones name, and one write before the broadcasts between them keeps
    the rule: nothing leaves that the log does not hold. The proposer's step (its PROPOSAL,
    then its PREPARE) wrote twice a height."""
    for action in list(actions):
        if isinstance(action, Persist) and action.record.height == record.height:
            record = action.record
            actions.remove(action)
    return record
