"""DID documents (W3C DID Core 1.0) and DID resolution results, rendered from a DID record by
pure functions: the JSON-LD the resolver answers and `metanode did resolve` prints.

Verification methods are `Multikey` with an Ed25519 `publicKeyMultibase`; `controller` lists the
controllers (the DID itself when the record names none). Metadata times are block times.
"""

from __future__ import annotations

from typing import Any

from metanode.crypto.data_integrity import multikey
from metanode.state.identity.credentials import time_text
from metanode.state.identity.records import DidRecord, did_id
from metanode.types import Relationship

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
RESOLUTION_CONTEXT = "https://w3id.org/did-resolution/v1"
DID_JSON_LD = "application/did+ld+json"


def render_document(did: str, record: DidRecord) -> dict[str, Any]:
    controllers = list(record.controllers_of(did))
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "controller": controllers[0] if len(controllers) == 1 else controllers,
        "verificationMethod": [
            {
                "id": f"{did}#{method.fragment}",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey(method.public_key),
            }
            for method in record.methods
        ],
        "authentication": [
            f"{did}#{m.fragment}"
            for m in record.methods
            if Relationship.AUTHENTICATION in m.relationships
        ],
        "assertionMethod": [
            f"{did}#{m.fragment}"
            for m in record.methods
            if Relationship.ASSERTION in m.relationships
        ],
    }
    if record.services:
        document["service"] = [
            {"id": f"{did}#{s.fragment}", "type": s.type, "serviceEndpoint": s.endpoint}
            for s in record.services
        ]
    return document


def resolution_result(did: str, record: DidRecord | None) -> dict[str, Any]:
    """The DID resolution result (W3C DID Resolution): `invalidDid` for text that is not a
    `did:metanode` DID, `notFound` for one that was never created."""
    if did_id(did) is None or record is None:
        return {
            "@context": RESOLUTION_CONTEXT,
            "didDocument": None,
            "didResolutionMetadata": {"error": "invalidDid" if did_id(did) is None else "notFound"},
            "didDocumentMetadata": {},
        }
    return {
        "@context": RESOLUTION_CONTEXT,
        "didDocument": render_document(did, record),
        "didResolutionMetadata": {"contentType": DID_JSON_LD},
        "didDocumentMetadata": {
            "created": time_text(record.created_ms),
            "updated": time_text(record.updated_ms),
            "versionId": str(record.version),
            "deactivated": record.deactivated,
        },
    }
