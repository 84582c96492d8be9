"""The gateway's identity reads: the DID resolver (W3C DID Resolution over HTTP).

`GET /api/v1/dids/{did}` answers a DID resolution result (`didDocument`,
`didResolutionMetadata`, `didDocumentMetadata` with `deactivated`) rendered by
`state.identity.document`, with the HTTP status the DID Resolution binding gives each outcome:
200, 400 `invalidDid`, 404 `notFound`, 410 for a deactivated DID (the body still carries the
document and its metadata). `GET /api/v1/dids/{did}/credentials` lists the KYC credentials
registered for a subject (`metanode credential verify` reads it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from metanode.node.node import Node
from metanode.state.identity import queries
from metanode.state.identity.document import resolution_result
from metanode.types import constants as types_constants

from . import schemas

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

    return routes
