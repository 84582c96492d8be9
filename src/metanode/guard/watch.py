"""The guards of one node: one for its gateway's clients, one for its peers, each with its own
allowance and model; what the edges call, named by who is observed. Every edge and the ticks
read one clock, `now_ms`: a peer's frames (the links) and its gossip (the node) land in the same
subject, and two clocks would scatter its buckets and stall its token refill.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from metanode.errors import DecodeError
from metanode.types import Address

from . import traces
from .record import Recorder
from .score import Allowance, Guard, Kind, Override, Status, Verdict

# (which guard: "client" or "peer", the verdict other than PASS)
RefusalHandler = Callable[[str, Verdict], None]
BanHandler = Callable[[str, str, int], None]  # (which guard, subject, ban in ms)


def now_ms() -> int:
    """The guard's clock: wall milliseconds, the node's clock (node.now_ms)."""
    return time.time_ns() // 1_000_000


def subject_of(name: str) -> str:
    """A peer's node id or a client's address, as a subject of its guard."""
    try:
        return f"peer:{Address.parse(name)}"
    except DecodeError:
        return f"client:{name}"


class Watch:
    def __init__(
        self,
        clients: Allowance,
        allow: list[str],
        on_refused: RefusalHandler,
        on_ban: BanHandler,
    ) -> None:
        self.clients = Guard(clients, None, lambda who, ms: on_ban("client", who, ms))
        self.peers = Guard(traces.PEERS, None, lambda who, ms: on_ban("peer", who, ms))
        self.on_refused = on_refused
        self.recorder: Recorder | None = None
        for name in allow:
            self.override(subject_of(name), Override.ALLOW, 0)

    def record(self, path: Path, observer: str) -> Recorder:
        """Append what is observed from now on to the recording at `path` (guard/record.py)."""
        allowed = [
            name
            for guard in (self.clients, self.peers)
            for name, entry in guard.subjects.items()
            if entry.allowed
        ]
        self.recorder = Recorder(path, observer, self.clients.allowance, allowed, now_ms())
        return self.recorder

    def fit(self) -> None:
        """Fit the models on normal traffic (about a second of CPU: run it off the loop)."""
        self.clients.model, self.peers.model = traces.models()

    def client(self, address: str, kind: Kind, now_ms: int, size: int = 0) -> Verdict:
        return self._observe("client", self.clients, f"client:{address}", kind, now_ms, size)

    def client_deliveries(self, address: str, count: int, now_ms: int) -> None:
        """`client(address, DELIVERY, now_ms)` `count` times (`Guard.observe_deliveries`); a
        recording keeps one line an observation with its own verdict, so it takes them one
        by one."""
        if self.recorder is not None:
            for _ in range(count):
                self.client(address, Kind.DELIVERY, now_ms)
            return
        self.clients.observe_deliveries(f"client:{address}", count, now_ms)

    def peer(self, node_id: Address, kind: Kind, now_ms: int, size: int = 0) -> Verdict:
        return self._observe("peer", self.peers, f"peer:{node_id}", kind, now_ms, size)

    def _observe(
        self, which: str, guard: Guard, subject: str, kind: Kind, at_ms: int, size: int
    ) -> Verdict:
        verdict = guard.observe(subject, kind, at_ms, size)
        if kind is Kind.REQUEST and verdict is not Verdict.PASS:
            self.on_refused(which, verdict)
        if self.recorder is not None:
            self.recorder.observation(at_ms, subject, kind, size, verdict)
        return verdict

    def peer_banned(self, node_id: Address, now_ms: int) -> bool:
        return self.peers.banned(f"peer:{node_id}", now_ms)

    def tick(self, now_ms: int) -> None:
        self.clients.tick(now_ms)
        self.peers.tick(now_ms)
        if self.recorder is not None:
            self.recorder.flush()

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None

    def override(self, subject: str, action: Override, now_ms: int) -> None:
        guard = self.peers if subject.startswith("peer:") else self.clients
        guard.override(subject, action, now_ms)

    def status(self, now_ms: int) -> dict[str, list[Status]]:
        return {"clients": self.clients.status(now_ms), "peers": self.peers.status(now_ms)}
