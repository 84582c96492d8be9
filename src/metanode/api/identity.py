"""The gateway's identity reads: the DID resolver (W3C DID Resolution over HTTP).

`GET /api/v1/dids/{did}` answers a DID resolution result (`didDocument`,
`didResolutionMetadata`, `didDocumentMetadata` with `deactivated`) rendered by
`state.identity.document`, with the HTTP status the DID Resolution binding gives each outcome:
200, 400 `invalidDid`, 404 `notFound`, 410 for a deactivated DID (the body still carries the
document and its metadata). `GET /api/v1/dids/{did}/credentials` lists the KYC credentials
registered for a subject (`metanode credential verify` reads it).
`POST /api/v1/disclosures/verify` checks an SD-JWT KYC presentation (state.identity.disclosure)
against the issuer key the chain holds and answers exactly the attributes it discloses, or a
422 problem `disclosure-refused` whose `rule` names the failed check.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from metanode.crypto import sd_jwt
from metanode.node.node import Node
from metanode.state.identity import disclosure, queries
from metanode.state.identity.document import resolution_result
from metanode.types import constants as types_constants

from . import problems, schemas

MEDIA_TYPE = 'application/ld+json;profile="https://w3id.org/did-resolution"'
_STATUS = {"invalidDid": 400, "notFound": 404}
# The pattern is documented, not enforced by FastAPI: text that is not a DID gets the DID
# Resolution binding's answer (400, `invalidDid`), not a validation problem.
DidPath = Annotated[
    str,
    Path(
        max_length=types_constants.did_bytes_max,
        json_schema_extra={"pattern": schemas.DID_PATTERN, **schemas.DID_DOC},
    ),
]


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get(
        "/api/v1/dids/{did}",
        responses={200: {"content": {MEDIA_TYPE: {}}}, 400: {}, 404: {}, 410: {}},
        response_class=JSONResponse,
    )
    async def resolve_did(
        did: DidPath,
    ) -> JSONResponse:
        """Resolve a `did:metanode` DID to its DID document and metadata."""
        state = node.store.state()
        result: dict[str, Any] = resolution_result(did, queries.did(state.reader, did))
        error = result["didResolutionMetadata"].get("error")
        deactivated = result["didDocumentMetadata"].get("deactivated", False)
        status = _STATUS[error] if error else (410 if deactivated else 200)
        return JSONResponse(result, status_code=status, media_type=MEDIA_TYPE)

    @routes.get("/api/v1/dids/{did}/credentials", response_model=schemas.CredentialsView)
    async def did_credentials(
        did: DidPath,
    ) -> schemas.CredentialsView:
        """The KYC credentials registered on chain for the subject DID, by hash, each with its
        revocation bit and whether it is valid at the latest block's time."""
        state = node.store.state()
        block = node.store.block(state.height) if state.height else None
        time_ms = block.header.timestamp_ms if block is not None else None
        return schemas.CredentialsView(
            height=state.height,
            subject=did,
            credentials=[
                schemas.CredentialView(
                    hash=digest.hex(),
                    issuer=record.issuer,
                    level=record.level.name.lower(),
                    valid_from_ms=record.valid_from_ms,
                    valid_until_ms=record.valid_until_ms,
                    status_index=record.status_index,
                    registered_height=record.registered_height,
                    revoked=queries.is_revoked(state.reader, record),
                    valid_now=time_ms is not None and record.is_valid_at(time_ms),
                )
                for digest, record in queries.credentials(state.reader, did)
            ],
        )

    @routes.post(
        "/api/v1/disclosures/verify",
        response_model=schemas.DisclosureView,
        responses={422: {"content": {problems.MEDIA_TYPE: {}}}},
    )
    async def verify_disclosure(body: schemas.DisclosureRequest) -> schemas.DisclosureView:
        """Verify an SD-JWT KYC presentation at the latest block's time: the issuer's key and
        authority are read from the chain; the answer holds only what the holder disclosed."""
        state = node.store.state()
        block = node.store.block(state.height) if state.height else None
        now_s = block.header.timestamp_ms // 1_000 if block is not None else 0
        try:
            verified = disclosure.verify_kyc(
                state.reader, body.presentation, now_s, body.audience, body.nonce
            )
        except sd_jwt.DisclosureError as error:
            raise problems.Problem(
                422,
                "disclosure-refused",
                "The presentation is refused",
                error.detail,
                rule=error.rule,
            ) from None
        return schemas.DisclosureView(
            height=state.height,
            issuer=verified.issuer,
            key_id=verified.key_id,
            key_bound=verified.key_bound,
            disclosed=disclosure.disclosed(verified),
        )

    return routes
