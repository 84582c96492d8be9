"""What orchestrators, load balancers and `bpci server status` read: `GET /health` and
`GET /ready` (node/readiness.py), and the gateway role's switch.

`/health` answers 200 while the process serves and its node is not stopping (a liveness probe
restarts on anything else); `/ready` answers 200 with every check, or 503 problem+json whose
detail names each failing check and whose `checks` hold all four (a readiness probe and
HAProxy's `option httpchk` take the node out of rotation meanwhile). Both are cheap: no store
scan, one block decoded per height.

Without the gateway role (`[server] roles`) the node answers only these, `/metrics` and
`/api/v1/status`; every other request is refused 403 `role-off`, a WebSocket closed (1008).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send

from metanode.node.node import Node

from . import problems

OPERATOR_PATHS = frozenset({"/health", "/ready", "/metrics", "/api/v1/status"})


def router(node: Node) -> APIRouter:
    routes = APIRouter(tags=["operations"])

    @routes.get("/health")
    async def health() -> dict[str, Any]:
        """200 while this process serves and its node runs; 503 once it is stopping."""
        running = node.readiness().checks[0]
        if not running.ok:
            raise problems.Problem(503, "not-alive", "Node not running", running.detail)
        return {"status": "alive", "node": node.config.name, "height": node.chain.height}

    @routes.get("/ready")
    async def ready() -> dict[str, Any]:
        """200 when the node is running, synced within the bound, its store's tip consistent
        and enough peers connected; else 503 naming each failing check."""
        assessed = node.readiness()
        answer = assessed.as_json()
        if not assessed.ready:
            raise problems.Problem(
                503,
                "not-ready",
                "Node not ready",
                "; ".join(f"{check.name}: {check.detail}" for check in assessed.failing),
                **answer,
            )
        return answer

    return routes


class GatewayRole:
    """Refuse all but the operator's paths when the node runs without the gateway role."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "gateway role off"})
            return
        if scope["path"] in OPERATOR_PATHS:
            await self.app(scope, receive, send)
            return
        answer = problems.response(
            403,
            "role-off",
            "Gateway role off",
            'this node runs without the "gateway" role ([server] roles in its config.toml): '
            f"it answers only {', '.join(sorted(OPERATOR_PATHS))}",
        )
        await answer(scope, receive, send)
