"""The gateway's policy routes (docs/policy.md): an app's policy, evaluating a declaration
against it, and the Bus BIOS path of app calls.

`POST /api/v1/apps/{id}/calls` takes a signed CallApp and the caller's declaration and routes
it by `state.policy.routing.route` on the committed state: Green is admitted to the mempool;
Yellow is quarantined, that is logged with its rule, admitted at most
`[api] quarantine_calls_per_minute` times a minute per app (then 429), and its routing record
marked yellow; Red (a rule of the policy, or governance's emergency mode) is refused with 403
and the node's signed routing record naming the policy version and rule, never an error page.
Every answer carries the signed record, and `GET /api/v1/routing/{tx_hash}` gives it again
while the node keeps it (the last `routing_records_max`).
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from metanode.errors import DecodeError
from metanode.node.node import Node
from metanode.state.apps import queries as apps_queries
from metanode.state.policy import queries
from metanode.state.policy.evaluate import CallRequest, Decision, Light
from metanode.state.policy.routing import RoutingRecord, route
from metanode.types import CallApp, Transaction

from . import problems, schemas, submission
from .apps import AppIdPath

log = logging.getLogger(__name__)

routing_records_max = 10_000
_MINUTE_S = 60.0
HashHex = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


def declaration(body: schemas.CallDeclaration) -> CallRequest:
    return CallRequest(
        body.region, body.purpose, tuple(body.data_types), body.consent, body.transport
    )


def decision_view(decision: Decision, policy_version: int) -> schemas.PolicyDecisionView:
    return schemas.PolicyDecisionView(
        light=decision.light.value,
        rule=decision.rule,
        detail=decision.detail,
        policy_version=policy_version,
    )


def router(node: Node) -> APIRouter:
    routes = APIRouter()
    quarantined: dict[bytes, collections.deque[float]] = {}
    records: collections.OrderedDict[str, schemas.RoutingRecordView] = collections.OrderedDict()

    def known_app(app_id: str) -> bytes:
        raw = bytes.fromhex(app_id)
        if apps_queries.app(node.store.state().reader, raw) is None:
            raise problems.Problem(404, "app-not-found", "No such app", f"{app_id} is not deployed")
        return raw

    @routes.get("/api/v1/apps/{app_id}/policy", response_model=schemas.PolicyView)
    async def show(
        app_id: AppIdPath, version: Annotated[int, Query(ge=0, le=2**63)] = 0
    ) -> schemas.PolicyView:
        """The app's policy (`version` 0: the current one) as its signer signed it."""
        raw = known_app(app_id)
        reader = node.store.state().reader
        found = queries.policy(reader, raw, version)
        latest = queries.policy(reader, raw)
        if found is None or latest is None:
            raise problems.Problem(
                404, "policy-not-found", "No such policy", f"app {app_id} has no policy {version}"
            )
        document = found.document
        return schemas.PolicyView(
            version=found.version,
            current_version=latest.version,
            document=schemas.PolicyDocumentView(
                app_id=app_id,
                number=document.number,
                classification=document.classification.name.lower(),
                allowed_regions=list(document.allowed_regions),
                blocked_regions=list(document.blocked_regions),
                purposes=list(document.purposes),
                data_types=list(document.data_types),
                review_data_types=list(document.review_data_types),
                consent_required=document.consent_required,
                encrypt_in_transit=document.encrypt_in_transit,
                encrypt_at_rest=document.encrypt_at_rest,
                retention_days=document.retention_days,
            ),
            document_hex=found.signed.document.hex(),
            signer=str(found.signed.signer_address),
            signer_public_key=found.signed.signer.hex(),
            signature=found.signed.signature.hex(),
            height=found.signed.height,
            contained_since=queries.contained(reader, raw),
        )

    @routes.post("/api/v1/apps/{app_id}/policy/evaluate", response_model=schemas.PolicyDecisionView)
    async def evaluate(
        app_id: AppIdPath, body: schemas.CallDeclaration
    ) -> schemas.PolicyDecisionView:
        """The light a call with this declaration would get now, and the rule that decides."""
        raw = known_app(app_id)
        routed = route(node.store.state().reader, raw, declaration(body))
        return decision_view(routed.decision, routed.policy_version)

    @routes.post(
        "/api/v1/apps/{app_id}/calls",
        status_code=202,
        response_model=schemas.RoutedCall,
        responses={403: {"model": schemas.RoutedCall, "description": "refused: Red"}},
    )
    async def call(
        app_id: AppIdPath, body: schemas.AppCallSubmit, http: Request, response: Response
    ) -> schemas.RoutedCall:
        """Route a signed CallApp by the app's policy light (202 Green or Yellow, 403 Red)."""
        raw_app = known_app(app_id)
        tx = _call_tx(bytes.fromhex(body.tx), raw_app)
        state = node.store.state()
        request = declaration(body.request)
        routed = route(state.reader, raw_app, request)
        light = routed.decision.light
        limit = node.config.api.quarantine_calls_per_minute
        if light is Light.YELLOW and not _quarantine_slot(quarantined, raw_app, limit):
            node.metrics.policy_quarantine_limited.inc()
            raise problems.Problem(
                429,
                "quarantine-rate-limited",
                "Quarantine full",
                f"app {app_id} takes at most {limit} inspected calls a"
                f" minute ({routed.decision.rule}); try again later",
            )
        digest = tx.hash()
        record = RoutingRecord.of(routed, raw_app, digest, state.height, request)
        signed = schemas.RoutingRecordView(
            record=record.encode().hex(),
            signature=record.sign(node.node_key).hex(),
            node_public_key=node.node_key.public_key.hex(),
            tx_hash=digest.hex(),
            height=state.height,
        )
        records[digest.hex()] = signed
        while len(records) > routing_records_max:
            records.popitem(last=False)
        node.metrics.policy_routed.labels(light.value).inc()
        facts = {"app": app_id, "rule": routed.decision.rule, "tx": digest.hex()}
        decision = decision_view(routed.decision, routed.policy_version)
        if light is Light.RED:
            log.info("refused app call (red)", extra=facts)
            refused = schemas.RoutedCall(decision=decision, routing=signed, admitted=None)
            return JSONResponse(refused.model_dump(), status_code=403)  # type: ignore[return-value]
        if light is Light.YELLOW:
            log.warning("quarantined app call (yellow)", extra=facts)
        admitted = await submission.admit_one(node, bytes.fromhex(body.tx), http, response)
        return schemas.RoutedCall(decision=decision, routing=signed, admitted=admitted)

    @routes.get("/api/v1/routing/{tx_hash}", response_model=schemas.RoutingRecordView)
    async def routing(tx_hash: HashHex) -> schemas.RoutingRecordView:
        """The signed routing record of a call this node routed (among its last ones)."""
        found = records.get(tx_hash)
        if found is None:
            raise problems.Problem(
                404, "routing-not-found", "No routing record", f"this node keeps none for {tx_hash}"
            )
        return found

    return routes


def _call_tx(raw: bytes, app_id: bytes) -> Transaction:
    try:
        tx = Transaction.decode(raw)
    except DecodeError as error:
        raise problems.Problem(400, "bad-tx", "Not a transaction", str(error)) from None
    if not isinstance(tx.message, CallApp) or tx.message.app_id != app_id:
        raise problems.Problem(
            400,
            "not-a-call",
            "Not a call of this app",
            f"send a signed CallApp of app {app_id.hex()} (got {type(tx.message).__name__}"
            f" from {tx.sender_address})",
        )
    return tx


def _quarantine_slot(
    quarantined: dict[bytes, collections.deque[float]], app_id: bytes, limit: int
) -> bool:
    """Take one of the app's quarantine slots of the last minute, if one is free."""
    now = time.monotonic()
    recent = quarantined.setdefault(app_id, collections.deque())
    while recent and now - recent[0] > _MINUTE_S:
        recent.popleft()
    if len(recent) >= limit:
        return False
    recent.append(now)
    return True
