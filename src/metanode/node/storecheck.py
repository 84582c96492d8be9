"""The store check a node's supervisor runs before every start (`metanode store check`;
`--full` re-executes every block from genesis instead: `state.store.replay_check`).

Theory of operation. A node must not start, and a validator must not sign, from a store whose
state is not the state its certified chain names, or whose blocks do not chain up to that
certified tip. In one LMDB read snapshot (exact while the node of another process commits):

1. State: every key and value of the state table is read and the tree rebuilt from them in
   memory; its root must be the root the store records, and every key's proof read from the
   stored tree nodes must verify against it (so every page of both tables is read and hashed).
2. Tip: the tip's block hashes to the tip hash the store records and its header names that
   state root; its commit certificate verifies against the validator set the state holds for
   the tip's height, whose hash is the header's.
3. Chain: from the tip down to the checkpoint, every block decodes, names its parent's hash,
   and its transactions and receipts hash to its header's roots; the block at the checkpoint
   must still hash to what the checkpoint recorded. The checkpoint (`DIR/store-checked.json`)
   is the tip of the last check that passed; without one the walk goes down to the lowest
   block held.

So a check costs the state's size plus the blocks since the last check, not the chain's length
(re-executing every block on every start took 5.7 s of a 14 s restart on a short test chain).
It re-executes nothing: the certified tip vouches for the state root its quorum computed, and
the state is shown to be that root's. Whether this node's own code computes the same, `--full`
shows (and records a checkpoint too).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import lmdb

from metanode.consensus.certificate import verify_certificate
from metanode.consensus.real_suite import RealSuite
from metanode.errors import DecodeError, InvariantViolation, MetanodeError, VerificationError
from metanode.state import tree
from metanode.state.machine import receipts_root, txs_root
from metanode.state.staking import queries as staking_queries
from metanode.state.store import Snapshot, Store
from metanode.types import Block

from .chain import consensus_set

CHECKPOINT_FILE = "store-checked.json"


class StoreInconsistent(MetanodeError):
    """The store is not the certified chain's: a node must not start from it."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The tip a check that passed saw."""

    height: int
    block_hash: bytes

    def save(self, home: Path) -> None:
        path = home / CHECKPOINT_FILE
        partial = path.with_suffix(".partial")
        text = json.dumps({"height": self.height, "block_hash": self.block_hash.hex()})
        partial.write_text(text + "\n")
        partial.replace(path)

    @classmethod
    def load(cls, home: Path) -> Checkpoint | None:
        """The home's checkpoint; None when there is none or it does not parse (the check then
        walks the whole chain, as with none)."""
        try:
            saved = json.loads((home / CHECKPOINT_FILE).read_text())
            return cls(int(saved["height"]), bytes.fromhex(saved["block_hash"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def forget(home: Path) -> None:
        """The store it vouched for is gone (set aside by a recovery)."""
        (home / CHECKPOINT_FILE).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Report:
    height: int
    state_root: bytes
    keys: int
    blocks: int  # blocks walked down from the tip
    since: int | None  # the checkpoint's height, when there was one


def check(store: Store, since: Checkpoint | None) -> Report:
    """The module docstring's checks; raises `StoreInconsistent` with the first failure."""
    try:
        with store.snapshot() as snapshot:
            return _check(snapshot, since)
    except (DecodeError, VerificationError, InvariantViolation, zlib.error, lmdb.Error) as error:
        raise StoreInconsistent(f"the store does not read back: {error}") from None


def _check(snapshot: Snapshot, since: Checkpoint | None) -> Report:
    state = snapshot.state()
    tip = state.height
    items = list(state.reader.scan(b""))
    rebuilt = tree.update(tree.MemoryNodes(), None, tip, items).root
    if rebuilt != state.state_root:
        raise StoreInconsistent(
            f"the state table rebuilds to root {rebuilt.hex()}, the store records "
            f"{state.state_root.hex()} at height {tip}"
        )
    for key, value in items:
        tree.verify_proof(state.state_root, key, value, tree.prove(state.nodes, rebuilt, key))
    if tip == 0:
        return Report(0, rebuilt, len(items), 0, None)
    block = _block(snapshot, tip)
    header = block.header
    if block.hash() != state.block_hash or header.state_root != state.state_root:
        raise StoreInconsistent(
            f"the tip block {tip} is not the one the store records, or names another state root"
        )
    members = staking_queries.validator_set_at(state.reader, tip)
    validators = consensus_set(members or ())
    if validators.hash() != header.validator_set_hash:
        raise StoreInconsistent(f"the state's validator set for {tip} is not the header's")
    certificate = snapshot.certificate(tip)
    if certificate is None:
        raise StoreInconsistent(f"the tip block {tip} is stored without its certificate")
    verify_certificate(certificate, block.hash(), validators, RealSuite(None))
    if since is not None and since.height > tip:
        raise StoreInconsistent(
            f"the store's tip {tip} is below the height {since.height} its last check "
            f"verified: it went back (if it was replaced on purpose, remove {CHECKPOINT_FILE})"
        )
    lowest = snapshot.lowest_block() if since is None else since.height
    walked = _walk(snapshot, block, lowest or tip)
    if since is not None and walked.hash() != since.block_hash:
        raise StoreInconsistent(
            f"block {since.height} is not the block its last check verified (if the store "
            f"was replaced on purpose, remove {CHECKPOINT_FILE})"
        )
    since_height = None if since is None else since.height
    return Report(tip, rebuilt, len(items), tip - walked.header.height + 1, since_height)


def _walk(snapshot: Snapshot, tip: Block, lowest: int) -> Block:
    """Check each block from `tip` down to height `lowest`: its transactions' and receipts'
    roots, and that its child names its hash. Answers the block at `lowest`."""
    block = tip
    while True:
        height = block.header.height
        header = block.header
        if txs_root([tx.hash() for tx in block.txs]) != header.txs_root:
            raise StoreInconsistent(f"block {height}'s transactions are not its header's")
        if receipts_root(snapshot.receipts(height)) != header.receipts_root:
            raise StoreInconsistent(f"block {height}'s stored receipts are not its header's")
        if height <= lowest:
            return block
        parent = _block(snapshot, height - 1)
        if parent.hash() != header.previous_hash:
            raise StoreInconsistent(f"block {height - 1} is not the parent block {height} names")
        block = parent


def _block(snapshot: Snapshot, height: int) -> Block:
    block = snapshot.block(height)
    if block is None:
        raise StoreInconsistent(f"block {height} is missing below the tip")
    return block
