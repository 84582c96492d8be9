"""The guard at the gateway (metanode.guard, docs/security.md): a middleware that asks it about
each request and tells it how each one ended, the report of what each handler learnt
(`report`), and the operator's reads and override under `/api/v1/security`.

A throttled client is answered 429 with `Retry-After`, a banned one 403, both problem+json;
what they sent is not read. Every answer of 400 or more counts as an error of the client, and
the transaction handlers report what the mempool said of each transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metanode.guard.score import Kind, Override, Status, Verdict
from metanode.guard.watch import subject_of
from metanode.mempool.pool import Admission
from metanode.mempool.reasons import Reason
from metanode.node.node import Node, now_ms

from . import problems

_REASON_KINDS = {
    Reason.BAD_SIGNATURE: Kind.BAD_SIGNATURE,
    Reason.MALFORMED: Kind.OVERSIZE,
    Reason.TOO_LARGE: Kind.OVERSIZE,
    Reason.NONCE_TOO_LOW: Kind.NONCE,
    Reason.NONCE_GAP_TOO_LARGE: Kind.NONCE,
}
retry_after_s = 1
security_path = "/api/v1/security"


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class Gate:
    """Ask the guard before a request, tell it how the answer went."""

    def __init__(self, app: ASGIApp, node: Node) -> None:
        self.app = app
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = self.node.guard
        client = client_of(scope)
        if scope["path"].startswith(security_path) and client in self.node.config.guard.operators:
            await self.app(scope, receive, send)  # an operator banned by mistake can undo it
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        size = int(declared) if declared.isascii() and declared.isdigit() else 0
        verdict = guard.client(client, Kind.REQUEST, now_ms(), size)
        if verdict is not Verdict.PASS:
            await _refusal(verdict)(scope, receive, send)
            return

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                # The transaction handlers report their refusals themselves, by reason.
                status = message["status"]
                if status != 400 or scope["path"] != "/api/v1/txs":
                    kind = Kind.OVERSIZE if status == 413 else Kind.ERROR
                    guard.client(client, kind, now_ms())
            await send(message)

        await self.app(scope, receive, watched)


def connection_watch(node: Node) -> Callable[[str, Kind], Verdict]:
    """What the connection protocol tells the guard (connections.py). An operator's
    connection is never refused there: the Gate lets its security routes through."""

    def watch(client: str, kind: Kind) -> Verdict:
        verdict = node.guard.client(client, kind, now_ms())
        return Verdict.PASS if client in node.config.guard.operators else verdict

    return watch


def _refusal(verdict: Verdict) -> ASGIApp:
    if verdict is Verdict.BAN:
        return problems.response(
            403,
            "banned",
            "Banned for a while",
            "this address sent abusive traffic and is banned for a while (docs/security.md); "
            "an operator can lift it",
        )
    return problems.response(
        429,
        "throttled",
        "Too many requests",
        f"this address is over its allowance; retry after {retry_after_s} s",
        headers={"Retry-After": str(retry_after_s)},
    )


def report(node: Node, request: Request, results: list[Admission]) -> None:
    """What the mempool said of a client's transactions."""
    client = client_of(request.scope)
    at = now_ms()
    guard = node.guard
    delivered = 0  # admitted since the last refusal, reported at once and in order
    for result in results:
        reason = result.reason
        if reason is None:
            delivered += 1
        elif reason is not Reason.RATE_LIMITED:
            if delivered:
                guard.client_deliveries(client, delivered, at)
                delivered = 0
            guard.client(client, _REASON_KINDS.get(reason, Kind.ERROR), at)
    if delivered:
        guard.client_deliveries(client, delivered, at)


class SubjectView(BaseModel):
    subject: str
    score: float
    verdict: Literal["pass", "throttle", "ban"]
    banned_for_ms: int
    strikes: int
    allowed: bool
    features: dict[str, float]


class SecurityView(BaseModel):
    clients: list[SubjectView]
    peers: list[SubjectView]
    model: bool = Field(description="whether the learned model is fitted and scoring")


class OverrideRequest(BaseModel):
    subject: Annotated[
        str,
        Field(
            description="a peer's node id or a client's address (or either with its "
            "`peer:`/`client:` prefix, as the status shows it)",
            min_length=1,
            max_length=200,
        ),
    ]
    action: Override


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/security", response_model=SecurityView)
    async def security() -> SecurityView:
        """The guard's scores: every tracked client and peer, its verdict, ban and features."""
        found = node.guard.status(now_ms())
        return SecurityView(
            clients=[_view(item) for item in found["clients"]],
            peers=[_view(item) for item in found["peers"]],
            model=node.guard.clients.model is not None,
        )

    @routes.post(
        "/api/v1/security/override",
        response_model=SubjectView,
        responses={403: problems.SCHEMA},
    )
    async def override(request: Request, body: OverrideRequest) -> SubjectView:
        """An operator's word on a client or peer: `allow` (never throttled or banned),
        `ban` (for the longest ban), `pardon` (ban and counters cleared), `clear` (an allow
        withdrawn). Obeyed only from the addresses of `[guard] operators`."""
        client = client_of(request.scope)
        if client not in node.config.guard.operators:
            raise problems.Problem(
                403,
                "not-operator",
                "Operators only",
                f"{client} is not among this node's [guard] operators",
            )
        subject = body.subject
        if not subject.startswith(("peer:", "client:")):
            subject = subject_of(subject)
        node.guard.override(subject, body.action, now_ms())
        found = node.guard.status(now_ms())
        (item,) = [s for s in found["clients"] + found["peers"] if s.subject == subject]
        return _view(item)

    return routes


def _view(status: Status) -> SubjectView:
    return SubjectView(
        subject=status.subject,
        score=status.score,
        verdict=status.verdict.value,
        banned_for_ms=status.banned_for_ms,
        strikes=status.strikes,
        allowed=status.allowed,
        features={name: round(value, 3) for name, value in status.features.items()},
    )
