"""Auto-recovery of a node's store (docs/server.md "Recovery"), run by `bpci server`'s
supervisor before each start of its node.

The check is `metanode store check` (node/storecheck.py) in a child process of its own, forked
from the supervisor (cli/forked.py): the state table must rebuild to the root the certified tip
names, and every block since the last check must chain up to that tip. A store that LMDB
cannot open, whose pages decode to garbage, or that crashes the checking process, fails it as
surely as one that diverged from its certified headers; run in this process, a torn page could
take the supervisor down with it.

A store that fails is never started from: the node is not running while the supervisor
recovers, so it signs nothing, and it starts again only from a store that is rebuilt from
verified data. The strategies are tried in order until one succeeds:

1. `SnapshotRestore`: rebuild the ledger from the node's own newest state snapshot that
   verifies against its certificate and the genesis validator set (`node.snapshots.
   restore_latest`, docs/sync.md); the node then block-syncs the rest from its peers. A node
   that takes no snapshots (`[sync] snapshot_interval_blocks = 0`), or none of whose snapshots
   verifies, says so (`NotBuiltError`) and the next strategy runs.
2. `ResyncFromPeers`: set the failed store aside under `quarantine/` (kept for a person to
   look at, never deleted) and start the node on an empty one: block sync fetches every block
   from the peers with its certificate, checked against the height's validator set before it
   is executed, and every executed block's state root must be the one its header names. The
   consensus record (`consensus/`) is kept: it is what stops a restarted validator from
   signing a message that conflicts with one it sent before (the engine signs nothing below
   the record's height, `EngineState.ahead`).
"""

from __future__ import annotations

import datetime
import logging
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from metanode.errors import MetanodeError, NotBuiltError
from metanode.node import config as node_config
from metanode.node import snapshots, storecheck
from metanode.state.genesis.document import load_genesis
from metanode.state.store import LEDGER_DIR

from . import forked

log = logging.getLogger("metanode.server")
QUARANTINE_DIR = "quarantine"
# A check that runs longer is stuck (a chain of a million blocks takes minutes, not hours).
check_timeout_s = 3_600
poll_interval_s = 0.1


class RecoveryFailed(MetanodeError):
    """No strategy could rebuild the store; the node stays stopped."""


class Strategy(Protocol):
    name: str

    def recover(self, home: Path, problem: str) -> str:
        """Rebuild the store in `home` that failed its check with `problem`; return what was
        done, or raise `NotBuiltError` (not available here) or `RecoveryFailed`."""
        ...


def check_store(home: Path, cancelled: Callable[[], bool] = lambda: False) -> str | None:
    """Why the store in `home` cannot be started from, or None (it checks out, or there is
    none yet: a new node syncs from genesis, or the check was `cancelled`: the supervisor is
    stopping and starts nothing)."""
    if not (home / LEDGER_DIR / "data.mdb").exists():
        return None
    with tempfile.TemporaryFile("w+") as said_file:
        checking = forked.metanode(["store", "check", "--home", str(home)], said_file)
        deadline = time.monotonic() + check_timeout_s
        while checking.poll() is None:
            if cancelled() or time.monotonic() > deadline:
                checking.kill()
                checking.wait()
                if cancelled():
                    return None
                return f"the store check did not finish within {check_timeout_s} s"
            time.sleep(poll_interval_s)
        said_file.seek(0)
        said = said_file.read().strip().splitlines()
    if checking.returncode == 0:
        return None
    if checking.returncode < 0:
        name = signal.Signals(-checking.returncode).name
        return f"the store check crashed ({name}) reading the store" + (
            f": {said[-1]}" if said else ""
        )
    return said[-1].removeprefix("metanode store check: ") if said else "the store check failed"


class SnapshotRestore:
    name = "snapshot"

    def recover(self, home: Path, problem: str) -> str:
        config_path = home / "config.toml"
        cfg = node_config.load(config_path)
        if cfg.sync.snapshot_interval_blocks == 0:
            raise NotBuiltError(
                "this node takes no state snapshots ([sync] snapshot_interval_blocks = 0); "
                "recovery goes on with the next strategy"
            )
        genesis_path = node_config.resolve(config_path, cfg.genesis)
        try:
            genesis = load_genesis(genesis_path, genesis_path.read_text())
        except OSError as error:
            raise RecoveryFailed(
                f"cannot read the genesis file {genesis_path}: {error.strerror}"
            ) from None
        try:
            height = snapshots.restore_latest(home, genesis)
        except snapshots.SnapshotError as error:
            raise NotBuiltError(f"no snapshot of this node verifies ({error})") from None
        # restore_latest keeps the failed ledger beside the new one; it goes to quarantine/
        # with the reason, as the re-sync's does.
        kept = home / f"{LEDGER_DIR}.before-{height}"
        if kept.exists():
            aside = _quarantine(kept, problem)
            return (
                f"restored the state at height {height} from this node's newest verified "
                f"snapshot (the failed store is in {aside}); the node block-syncs the rest"
            )
        return f"restored the state at height {height} from this node's newest verified snapshot"


def _quarantine(ledger: Path, problem: str) -> Path:
    """Move a failed store under quarantine/ with a WHY file (kept for a person to read)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = ledger.parent / QUARANTINE_DIR / f"{LEDGER_DIR}-{stamp}"
    aside.parent.mkdir(exist_ok=True)
    try:
        ledger.rename(aside)
    except OSError as error:
        raise RecoveryFailed(
            f"cannot set the failed store {ledger} aside: {error.strerror}"
        ) from None
    (aside / "WHY").write_text(problem + "\n")
    return aside


class ResyncFromPeers:
    name = "resync"

    def recover(self, home: Path, problem: str) -> str:
        aside = _quarantine(home / LEDGER_DIR, problem)
        return (
            f"set the failed store aside in {aside}; the node re-syncs every block from its "
            "peers, each checked against its commit certificate"
        )


STRATEGIES: tuple[Strategy, ...] = (SnapshotRestore(), ResyncFromPeers())


def recover(home: Path, problem: str, strategies: tuple[Strategy, ...] = STRATEGIES) -> str:
    """Run the strategies in order; return the name and account of the one that succeeded."""
    storecheck.Checkpoint.forget(home)  # it vouched for the store that failed
    skipped = []
    for strategy in strategies:
        try:
            done = strategy.recover(home, problem)
        except NotBuiltError as error:
            log.info(
                "recovery strategy unavailable",
                extra={"strategy": strategy.name, "why": str(error)},
            )
            skipped.append(strategy.name)
            continue
        return f"{strategy.name}: {done}"
    raise RecoveryFailed(f"no recovery strategy is available (tried {', '.join(skipped)})")
