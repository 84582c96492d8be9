"""The app state a call runs on: its writes kept over the state it started from.

The host reads through to the state before the call and records each write and delete here,
so a call costs what it touches, not the size of its app's state (a copy of the whole state
per call, and another for a failed one, cost an executor O(entries) a call: "Apps, w24" in
docs/performance.md). A failed call's overlay is dropped; a successful one's `changes` are
what the executor writes to its store and its state tree.
"""

from __future__ import annotations

from metanode.docklock.appstate import AppState

# key → its value after the call, None: deleted.
Changes = dict[bytes, bytes | None]


class Overlay:
    """`base` as the call has changed it; `base` itself is never written. Over a court's
    `ProvenState`, each key the call reads or writes is read from it once, so it learns what
    the run touched and raises `Unproven` as it would alone."""

    __slots__ = ("_base", "_before", "_count", "_writes")

    def __init__(self, base: AppState) -> None:
        self._base = base
        self._writes: Changes = {}
        self._before: Changes = {}  # the base's value of each key written
        self._count = len(base)

    def get(self, key: bytes) -> bytes | None:
        writes = self._writes
        if key in writes:
            return writes[key]
        return self._base.get(key)

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return self._count

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._write(key, value)

    def pop(self, key: bytes, default: None = None) -> bytes | None:
        return self._write(key, None)

    def _write(self, key: bytes, value: bytes | None) -> bytes | None:
        current = self.get(key)
        if current is None and value is None:
            return None  # deleting an absent key changes nothing
        if key not in self._before:
            self._before[key] = current
        self._count += (value is not None) - (current is not None)
        self._writes[key] = value
        return current

    def changes(self) -> Changes:
        """The keys whose value now differs from the base's, by key."""
        before = self._before
        return {key: value for key, value in sorted(self._writes.items()) if value != before[key]}


def applied(state: AppState, changes: Changes) -> AppState:
    """A copy of `state` with `changes` made."""
    after = state.copy()
    for key, value in changes.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    return after
