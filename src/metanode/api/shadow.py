"""The gateway's shadow registry (docs/shadow.md): shadows and grants, and the door through
which a Web2 service calls an app as a user.

`GET /api/v1/shadows/{domain}` a shadow identity (404 `shadow-not-found`);
`GET /api/v1/shadows/{domain}/grants/{address}` the user's grant to it (404 `grant-not-found`:
never given, or revoked), with `acting`, the acting rule's answer for the next block;
`POST /api/v1/shadows/{domain}/calls` takes `{"request": hex, "tx": hex}`: a shadow request
signed with the service key and the service's CallApp transaction. It passes the transaction
to the mempool (202, its hash) only if the request names this domain, matches the transaction
and the acting rule holds for the next block (`receipts.check_request`); otherwise 403 of type
`shadow-<code>` (`shadow-grant_unknown`, `shadow-grant_expired`, `shadow-out_of_scope`,
`shadow-service_signature_invalid`, `shadow-receipt_mismatch`, `shadow-shadow_unknown`) with the
code's name as `reason`, and nothing reaches the chain. Bytes that do not decode are 400
`bad-shadow-call`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from metanode.errors import DecodeError
from metanode.node.node import Node
from metanode.state.codes import OK, name_of
from metanode.state.shadow import errors, keys, queries
from metanode.state.shadow.receipts import ShadowRequest, check_request
from metanode.types import Transaction

from . import problems
from .registry import AddressPath, parse_address

DomainPath = Annotated[str, Path(min_length=1, max_length=253)]
call_hex_max = 64 * 1024


class ShadowView(BaseModel):
    domain: str
    shadow_id: str
    owner: str
    service_key: str
    encryption_key: str
    registered_height: int


class ScopeView(BaseModel):
    app_id: str
    functions: list[str]  # empty: every function of the app


class GrantView(BaseModel):
    domain: str
    user: str
    scopes: list[ScopeView]
    expiry_height: int
    granted_height: int
    acting: str  # "ok", or why a call in the next block would be refused


class ShadowCall(BaseModel):
    request: str  # hex of the signed ShadowRequest
    tx: str  # hex of the service's CallApp transaction


class ShadowCallAccepted(BaseModel):
    tx_hash: str
    request_hash: str


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/shadows/{domain}", response_model=ShadowView)
    async def shadow(domain: DomainPath) -> ShadowView:
        """A Web2 service's shadow identity: its owner and keys."""
        found = queries.shadow(node.store.state().reader, domain)
        if found is None:
            raise problems.Problem(404, "shadow-not-found", "No such shadow", domain)
        return ShadowView(
            domain=found.domain,
            shadow_id=keys.shadow_id(found.domain).hex(),
            owner=str(found.owner),
            service_key=found.service_key.hex(),
            encryption_key=found.encryption_key.hex(),
            registered_height=found.registered_height,
        )

    @routes.get("/api/v1/shadows/{domain}/grants/{address}", response_model=GrantView)
    async def grant(domain: DomainPath, address: AddressPath) -> GrantView:
        """The user's grant to the shadow, and whether it acts in the next block."""
        state = node.store.state()
        user = parse_address(address)
        found = queries.grant(state.reader, user, domain)
        if found is None:
            raise problems.Problem(
                404, "grant-not-found", "No such grant", f"{address} grants {domain} nothing"
            )
        expired = state.height + 1 >= found.expiry_height
        return GrantView(
            domain=domain,
            user=address,
            scopes=[
                ScopeView(app_id=scope.app_id.hex(), functions=list(scope.functions))
                for scope in found.scopes
            ],
            expiry_height=found.expiry_height,
            granted_height=found.granted_height,
            acting="grant_expired" if expired else "ok",
        )

    @routes.post(
        "/api/v1/shadows/{domain}/calls",
        status_code=202,
        response_model=ShadowCallAccepted,
        responses={400: problems.SCHEMA, 403: problems.SCHEMA},
    )
    async def call(domain: DomainPath, body: ShadowCall) -> ShadowCallAccepted:
        """A call the shadow makes as a user: passed on only within the user's grant."""
        try:
            if len(body.request) > call_hex_max or len(body.tx) > call_hex_max:
                raise DecodeError("too_long", f"request and tx are at most {call_hex_max} hex")
            request = ShadowRequest.decode(bytes.fromhex(body.request))
            tx = Transaction.decode(bytes.fromhex(body.tx))
        except (DecodeError, ValueError) as error:
            raise problems.Problem(
                400, "bad-shadow-call", "Not a shadow call", str(error)
            ) from None
        state = node.store.state()
        code = (
            errors.RECEIPT_MISMATCH
            if request.domain != domain
            else check_request(state.reader, request, tx, state.height + 1)
        )
        if code != OK:
            reason = name_of(code).removeprefix("shadow.")
            raise problems.Problem(
                403,
                f"shadow-{reason}",
                "Not within the user's grant",
                f"{domain} may not make this call as {request.user}: {reason}",
                reason=reason,
            )
        (admitted,) = await node.submit([tx.encode()])
        if not admitted.admitted:
            reason = admitted.reason.value if admitted.reason else "refused"
            raise problems.Problem(
                400, f"tx-{reason}", "Transaction refused", admitted.detail or reason
            )
        return ShadowCallAccepted(tx_hash=tx.hash().hex(), request_hash=request.hash().hex())

    return routes
