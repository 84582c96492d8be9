"""Bounds on the gateway's connections that uvicorn does not give: per-client connection counts
and read deadlines for a request's headers and body.

uvicorn 0.54 bounds the number of connections overall (`limit_concurrency`), the size of a
request head (`h11_max_incomplete_event_size`) and the idle time after an answer
(`timeout_keep_alive`), but nothing times out a client that sends half a request, and one
address may hold every connection. So the gateway serves HTTP with a subclass of uvicorn's h11
protocol that

- counts open connections per client address; past `connections_per_client_max` a new one is
  answered 503 and closed at once (a slowloris from one address stops at its own share);
- gives a request's headers `header_timeout_ms` from the connection's opening or from the
  first byte of a later request (an idle kept-alive connection is closed by uvicorn's
  `timeout_keep_alive`), and its body `body_timeout_ms` from the end of its headers; past
  either the client gets 408 and the connection is closed;
- counts a client that disconnects in the middle of a body: a normal event, never a traceback.

Every such drop is counted in `metanode_api_connections_dropped_total{reason}`, and told to the
guard (docs/security.md): each connection is one of the client's, each timeout a slow request,
and a client the guard bans is refused its connections (reason `banned`). A connection
upgraded to a WebSocket keeps its slot until it closes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
from prometheus_client import Counter
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from metanode.guard.score import Kind, Verdict

log = logging.getLogger("metanode.api")


def _plain(status: str, text: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection, for when no app has run."""
    body = text.encode() + b"\r\n"
    head = f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
    head += f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


REFUSED = _plain("503 Service Unavailable", "too many connections from this address")
BANNED = _plain("403 Forbidden", "this address is banned for a while (docs/security.md)")
TIMED_OUT = _plain("408 Request Timeout", "the request was not sent in time")


@dataclass(frozen=True, slots=True)
class Limits:
    connections_per_client_max: int
    header_timeout_s: float
    body_timeout_s: float


# What the guard is told of a client: (address, what happened) -> its verdict.
Watch = Callable[[str, Kind], Verdict]


class ClientTable:
    """The open connections of each client address of one server, and the drop counter."""

    def __init__(self, limits: Limits, dropped: Counter, watch: Watch | None = None) -> None:
        self.limits = limits
        self.dropped = dropped
        self.watch = watch
        self.open: dict[str, set[asyncio.BaseTransport]] = {}

    def admit(self, client: str, transport: asyncio.BaseTransport) -> str | None:
        """None when the connection may stay; else why it may not (the drop's reason)."""
        if self.watch is not None and self.watch(client, Kind.CONNECT) is Verdict.BAN:
            return "banned"
        held = self.open.setdefault(client, set())
        if len(held) >= self.limits.connections_per_client_max:
            return "per_client_limit"
        held.add(transport)
        return None

    def release(self, client: str, transport: asyncio.BaseTransport) -> None:
        held = self.open.get(client)
        if held is None:
            return
        held.discard(transport)
        if not held:
            del self.open[client]

    def drop(self, reason: str, client: str) -> None:
        self.dropped.labels(reason).inc()
        if self.watch is not None and reason in ("header_timeout", "body_timeout"):
            self.watch(client, Kind.SLOW)
        log.debug("connection from %s dropped: %s", client, reason)


class GuardedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, table: ClientTable, **options: Any) -> None:
        super().__init__(*args, **options)
        self.table = table
        self.address = "unknown"
        self.admitted = False
        self.upgraded = False
        self.phase: object | None = None  # h11.IDLE (owes headers), h11.SEND_BODY, or None
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.address = self.client[0] if self.client else "unknown"
        refused = self.table.admit(self.address, transport)
        self.admitted = refused is None
        if refused is not None:
            self.table.drop(refused, self.address)
            transport.write(BANNED if refused == "banned" else REFUSED)
            transport.close()
            return
        self._watch_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.admitted:
            self.table.release(self.address, self.transport)
        if self.phase is h11.SEND_BODY:
            self.table.drop("client_disconnect", self.address)
        self._stop_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        super().data_received(data)
        self._watch_reading()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._stop_deadline()  # an idle connection is uvicorn's, by `timeout_keep_alive`
        else:
            self._watch_reading()  # a pipelined request is under way

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The WebSocket protocol takes over the transport, and with it the connection's slot.
        self.upgraded = True
        self._stop_deadline()
        super().handle_websocket_upgrade(event)

    def _watch_reading(self) -> None:
        """Keep one deadline running while the client owes us headers or a body."""
        if self.upgraded or self.transport.is_closing():
            self._stop_deadline()
            return
        state = self.conn.their_state
        phase = state if state is h11.IDLE or state is h11.SEND_BODY else None
        if phase is self.phase:
            return
        self._stop_deadline()
        self.phase = phase
        if phase is not None:
            limits = self.table.limits
            delay = limits.header_timeout_s if phase is h11.IDLE else limits.body_timeout_s
            self.deadline = self.loop.call_later(delay, self._timed_out)

    def _timed_out(self) -> None:
        self.deadline = None
        reason = "header_timeout" if self.phase is h11.IDLE else "body_timeout"
        self.table.drop(reason, self.address)
        self.phase = None  # a body cut short by us is not the client's disconnect
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(TIMED_OUT)
        self.transport.close()

    def _stop_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.phase = None


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, table: ClientTable, **options: Any) -> None:
        super().__init__(*args, **options)
        self.table = table

    def connection_lost(self, exc: Exception | None) -> None:
        self.table.release(self.client[0] if self.client else "unknown", self.transport)
        super().connection_lost(exc)


def protocols(
    limits: Limits, dropped: Counter, watch: Watch | None = None
) -> tuple[Callable[..., asyncio.Protocol], Callable[..., asyncio.Protocol]]:
    """The HTTP and WebSocket protocol factories for `uvicorn.Config(http=…, ws=…)`."""
    table = ClientTable(limits, dropped, watch)
    return (
        functools.partial(GuardedH11Protocol, table=table),
        functools.partial(GuardedWebSocketProtocol, table=table),
    )
