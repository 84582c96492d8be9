"""An app's whole state as its executor holds it between calls: the entries, the state tree's
nodes and root (`docklock.appstate`), and the entries' size, each updated by what a call
changed.

A call's root after is `tree.update` of only the keys it changed (and the count's key when the
count moved) from the root before, so a call costs O(keys written · depth), not O(entries):
`appstate.state_root` built the whole tree at every call (23 ms at 10,000 entries, "Apps, w24"
in docs/performance.md). Each update is written at the next version and the nodes it made
stale are deleted, so the nodes held are always those of a fresh build of the state (as many,
under other versions). Nothing here is persisted: an executor builds it from its store's state
at an app's first call after a start (`LiveState(state)`, O(entries) once).
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.docklock.appstate import COUNT_KEY, count_value, entry_key, state_nodes
from metanode.docklock.overlay import Changes
from metanode.state import tree


def entry_bytes(key: bytes, value: bytes | None) -> int:
    """What an entry adds to the state's size (a LogBlock leaf's `state_bytes`)."""
    return 0 if value is None else len(key) + len(value)


@dataclass(frozen=True, slots=True)
class Transition:
    """A call's changes to a `LiveState`, worked out before they are made (`apply`)."""

    changes: Changes
    update: tree.TreeUpdate  # the state tree's, from the root before to the root after
    size: int  # the state's size after: Σ key and value bytes

    @property
    def root(self) -> bytes:
        return self.update.root


class LiveState:
    def __init__(self, state: dict[bytes, bytes]) -> None:
        """Take `state` (kept, and changed by `apply`, from now on) and build its tree."""
        self.state = state
        self.nodes, self.root = state_nodes(state)
        self.size = sum(entry_bytes(key, value) for key, value in state.items())
        self._version = 0

    def transition(self, changes: Changes) -> Transition:
        """What `changes` (each key's value differing from the state's) make of the state."""
        if not changes:
            return Transition(changes, tree.TreeUpdate(self.root, (), ()), self.size)
        state = self.state
        count = len(state)
        size = self.size
        writes: list[tuple[bytes, bytes | None]] = []
        for key, value in changes.items():
            was = state.get(key)
            count += (value is not None) - (was is not None)
            size += entry_bytes(key, value) - entry_bytes(key, was)
            writes.append((entry_key(key), value))
        if count != len(state):
            writes.append((COUNT_KEY, count_value(count)))
        return Transition(
            changes, tree.update(self.nodes, self.root, self._version + 1, writes), size
        )

    def apply(self, made: Transition) -> None:
        """Make the changes `transition` worked out from the state as it is now."""
        state = self.state
        for key, value in made.changes.items():
            if value is None:
                del state[key]
            else:
                state[key] = value
        update = made.update
        if update.node_writes or update.stale:
            self._version += 1
            nodes = self.nodes
            nodes.apply(update)
            for stale in update.stale:
                del nodes[stale]
        self.root = update.root
        self.size = made.size
