"""Per-app call order: the chain numbers each app's calls; they run in that order and once.

A call whose seq is below the app's next is a duplicate (a block seen twice, a restart that
replays blocks already executed) and is dropped; a call above it waits until the gap is filled,
so a missing call stops only its own app. Pure: the caller supplies each app's next seq as the
store holds it, and runs what `accept` returns, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from . import constants
from .calls import CommittedCall


class Sequencer:
    def __init__(self, next_seq: Callable[[bytes], int]) -> None:
        self._stored_next = next_seq
        self._next: dict[bytes, int] = {}
        self._pending: dict[bytes, dict[int, CommittedCall]] = {}
        self.duplicates = 0
        self.overflowed = 0

    def waiting(self, app_id: bytes) -> list[int]:
        """The seqs held for `app_id` behind a gap, ascending."""
        return sorted(self._pending.get(app_id, {}))

    def restart(self, app_id: bytes) -> list[CommittedCall]:
        """The app's store moved its next seq (a state handed over): re-read it, drop what it
        passed and return the held calls that can run now."""
        self._next.pop(app_id, None)
        pending = self._pending.pop(app_id, {})
        return self.accept(pending[seq] for seq in sorted(pending))

    def accept(self, calls: Iterable[CommittedCall]) -> list[CommittedCall]:
        """The calls that can run now, in the order they must run."""
        ready: list[CommittedCall] = []
        for call in calls:
            app = call.app_id
            if app not in self._next:
                self._next[app] = self._stored_next(app)
            pending = self._pending.setdefault(app, {})
            if call.seq < self._next[app] or call.seq in pending:
                self.duplicates += 1
                continue
            # The call that fills the gap is always taken: refusing it would stall the app.
            filling = call.seq == self._next[app]
            if not filling and len(pending) >= constants.pending_calls_per_app_max:
                self.overflowed += 1
                continue
            pending[call.seq] = call
            while self._next[app] in pending:
                ready.append(pending.pop(self._next[app]))
                self._next[app] += 1
            if not pending:
                del self._pending[app]
        return ready
