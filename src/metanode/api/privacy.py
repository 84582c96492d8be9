"""The gateway's privacy reads (docs/privacy.md): what a holder needs to prove, and what a
verifier reads of an accepted proof.

`GET /api/v1/privacy/issuers/{did}`: an authority's AnonCreds definitions and its current
revocation status list (a proof must be made against that list; the holder's tails file comes
from the issuer, its hash is in the registry definition); 404 if it published none.
`GET /api/v1/privacy/attestations/{address}`: the account's last accepted KYC proof (issuer,
level bound, birth-date bound, height); 404 if none.
"""

from __future__ import annotations

import json

from fastapi import APIRouter

from metanode.node.node import Node
from metanode.state.privacy import queries

from . import problems, schemas
from .identity import DidPath
from .registry import AddressPath, parse_address


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/privacy/issuers/{did}", response_model=schemas.ZkIssuerView)
    async def zk_issuer(did: DidPath) -> schemas.ZkIssuerView:
        """An authority's published AnonCreds KYC definitions and current status list."""
        state = node.store.state()
        found = queries.issuer(state.reader, did)
        if found is None:
            raise problems.Problem(
                404, "issuer-not-found", "No published issuer", f"{did} published no definitions"
            )
        definitions, status = found
        return schemas.ZkIssuerView(
            height=state.height,
            issuer=did,
            capacity=definitions.capacity,
            status_timestamp=status.timestamp,
            definitions=json.loads(definitions.to_json()),
            status_list=json.loads(status.text),
        )

    @routes.get("/api/v1/privacy/attestations/{address}", response_model=schemas.AttestationView)
    async def attestation(address: AddressPath) -> schemas.AttestationView:
        """The account's last accepted zero-knowledge KYC proof."""
        state = node.store.state()
        found = queries.attestation(state.reader, parse_address(address))
        if found is None:
            raise problems.Problem(
                404, "attestation-not-found", "No accepted proof", f"{address} proved nothing"
            )
        return schemas.AttestationView(
            height=state.height,
            address=address,
            issuer=found.issuer,
            level_min=found.level_min,
            born_by=found.born_by,
            proved_height=found.height,
            proved_time_ms=found.time_ms,
        )

    return routes
