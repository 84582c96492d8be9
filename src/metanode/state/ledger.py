"""An in-memory ledger: committed state in dicts, for tests, simulations and replay checks.

`MemoryLedger.commit(changes)` applies a block's changes the way the LMDB store does (state
writes, tree node writes, stale nodes dropped at once: nothing here serves old versions).
A `LedgerState` it hands out reads its live dicts, so it is valid until the next commit, the
same contract as the store's.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state import tree
from metanode.state.genesis.document import GenesisDocument
from metanode.state.machine import BlockChanges, LedgerState, init_chain
from metanode.state.view import MemoryReader


class MemoryLedger:
    def __init__(self, document: GenesisDocument) -> None:
        self.document = document
        self._reader = MemoryReader()
        self._nodes = tree.MemoryNodes()
        self._state = LedgerState(self._reader, self._nodes, 0, b"", b"")
        self.commit(init_chain(document, self._nodes))

    @property
    def state(self) -> LedgerState:
        return self._state

    @property
    def items(self) -> dict[bytes, bytes]:
        """Every state key and value (a copy)."""
        return dict(self._reader.scan(b""))

    def commit(self, changes: BlockChanges) -> LedgerState:
        expected = 0 if changes.block is None else self._state.height + 1
        check(changes.height == expected, f"commit of height {changes.height}, expected {expected}")
        self._reader.apply(changes.writes)
        self._nodes.apply(changes.tree)
        self._state = LedgerState(
            self._reader,
            self._nodes,
            changes.height,
            changes.state_root,
            changes.block_hash,
        )
        return self._state
