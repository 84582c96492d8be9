"""A one-validator dev chain's tools (`[dev] automine`, docs/devloop.md): snapshots of the
node's whole state and revert to them, time travel of the block clock, funding on demand.

Theory of operation. A snapshot copies, each in one LMDB read transaction, the three stores a
node writes: the ledger, the consensus write-ahead record and the executor's app state (the
executor is first let finish its queued calls, so its state is that of the ledger's height).
The node's loop is the only writer of the first two and the snapshot runs on it, between two
events, so the copies are of one moment. Revert writes a snapshot's tables back into the open
environments, in place (every holder of a handle, the gateway included, reads the old state
next), then the node forgets everything it derived from them: pending proposals, the mempool,
the executor's and the notary's caches, and restarts consensus at the snapshot's height.

Semantics chosen: a snapshot id stays valid after a revert to it, so a test suite may take one
snapshot and revert to it after every test; a revert with `keep=False` consumes it as
Hardhat's `evm_revert` does (the pytest plugin's per-test snapshots). The snapshots taken after
it are dropped either way, since they describe a future the chain no longer has. The block
clock's offset is part of a snapshot: after a revert the next block's time is at least the
snapshot tip's (the state machine raises a time that went back to the tip's), and `advance`
only ever moves the clock forward.

Only the dev kind of chain with one validator may run this: reverting one validator of many
would fork it from its peers, and a public chain must never rewind.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from metanode.errors import ConfigError, MetanodeError, check
from metanode.executor.service import ExecutorService
from metanode.state.store import Store

from .config import Dev
from .durable import ConsensusLog

log = logging.getLogger("metanode.node")

SNAPSHOTS_DIR = "dev-snapshots"
# Snapshots held at once; each is a copy of the stores (a test suite needs one or two).
snapshots_max = 64
# What the clock may be moved ahead by in all, in total: a century.
clock_offset_ms_max = 100 * 366 * 86_400_000
# With no block interval, round 0 waits this long for a transaction (the engine extends its
# timeout by it): in effect never, so an idle dev chain makes no empty blocks.
idle_wait_ms = 10**12


class TooManySnapshots(MetanodeError):
    """`snapshots_max` snapshots are held; a revert to an early one (or with `keep=False`)
    frees them."""


class UnknownSnapshot(MetanodeError):
    """No snapshot of that id is held (never taken, or dropped by a revert to an earlier one)."""


def check_allowed(dev: Dev, chain_kind: str, validators: int) -> None:
    if not dev.automine:
        return
    if chain_kind != "dev":
        raise ConfigError(
            f"[dev] automine runs a one-validator dev chain: refused on a {chain_kind} chain "
            "(start one with `metanode dev up`)"
        )
    if validators != 1:
        raise ConfigError(
            f"[dev] automine needs a chain of one validator, this one has {validators} "
            "(`metanode dev up` makes one)"
        )


def proposal_wait_ms(dev: Dev) -> int:
    """How long round 0 waits for transactions before an empty block."""
    return dev.block_interval_ms or idle_wait_ms


@dataclass(frozen=True, slots=True)
class Taken:
    id: int
    height: int
    state_root: bytes
    clock_offset_ms: int


class DevChain:
    def __init__(
        self,
        home: Path,
        store: Store,
        consensus_log: ConsensusLog,
        executor: ExecutorService,
        restart: Callable[[], None],
    ) -> None:
        """`restart`: the node forgets what it derived from the stores and starts consensus
        again at the store's height."""
        self._directory = home / SNAPSHOTS_DIR
        # Snapshots belong to one run: the chain a process left may have moved on since.
        shutil.rmtree(self._directory, ignore_errors=True)
        self._store = store
        self._consensus_log = consensus_log
        self._executor = executor
        self._restart = restart
        self._taken: dict[int, Taken] = {}
        self._next_id = 1
        self.clock_offset_ms = 0

    def block_time(self, wall_ms: int) -> int:
        return wall_ms + self.clock_offset_ms

    def advance(self, seconds: int) -> int:
        """Move the block clock ahead by `seconds`; the new offset in ms."""
        if seconds <= 0:
            raise ConfigError(f"advance by {seconds} s: time moves forward only (give > 0)")
        offset = self.clock_offset_ms + seconds * 1000
        if offset > clock_offset_ms_max:
            raise ConfigError(f"advance by {seconds} s: the clock may run ahead a century at most")
        self.clock_offset_ms = offset
        log.info("dev clock advanced", extra={"seconds": seconds, "offset_ms": offset})
        return offset

    def snapshot(self) -> Taken:
        if len(self._taken) >= snapshots_max:
            raise TooManySnapshots(
                f"{snapshots_max} snapshots are held; revert to an early one to drop the later"
            )
        self._executor.wait_idle()
        taken_id = self._next_id
        path = self._directory / str(taken_id)
        shutil.rmtree(path, ignore_errors=True)
        self._store.copy_to(path / "ledger")
        self._consensus_log.copy_to(path / "consensus")
        self._executor.store.copy_to(path / "executor")
        state = self._store.state()
        taken = Taken(taken_id, state.height, state.state_root, self.clock_offset_ms)
        self._taken[taken_id] = taken
        self._next_id += 1
        log.info("dev snapshot taken", extra={"id": taken_id, "height": taken.height})
        return taken

    def revert(self, taken_id: int, *, keep: bool = True) -> Taken:
        """Back to snapshot `taken_id`, which stays held unless not `keep` (Hardhat's way:
        a test fixture that snapshots before each test and reverts after it would otherwise
        hold one more snapshot per test)."""
        taken = self._taken.get(taken_id)
        if taken is None:
            held = ", ".join(str(key) for key in sorted(self._taken)) or "none"
            raise UnknownSnapshot(f"no snapshot {taken_id} (held: {held})")
        started = time.perf_counter()
        self._executor.wait_idle()
        path = self._directory / str(taken_id)
        self._store.restore_from(path / "ledger")
        ledger_done = time.perf_counter()
        self._consensus_log.restore_from(path / "consensus")
        self._executor.store.restore_from(path / "executor")
        self._executor.reset()
        first_dropped = taken_id if not keep else taken_id + 1
        for dropped in [key for key in self._taken if key >= first_dropped]:
            del self._taken[dropped]
            shutil.rmtree(self._directory / str(dropped), ignore_errors=True)
        self.clock_offset_ms = taken.clock_offset_ms
        self._restart()
        state = self._store.state()
        check(
            (state.height, state.state_root) == (taken.height, taken.state_root),
            "a reverted store differs from its snapshot",
        )
        done = time.perf_counter()
        log.info(
            "dev reverted",
            extra={
                "id": taken_id,
                "height": taken.height,
                "ledger_ms": round((ledger_done - started) * 1000, 1),
                "ms": round((done - started) * 1000, 1),
            },
        )
        return taken
