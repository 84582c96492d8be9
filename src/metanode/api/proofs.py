"""The gateway's proofs for light clients (docs/light.md): every answer carries what a client
needs to check it against a header it verified itself, and nothing it must take on trust.

`GET /api/v1/proofs/header/{height|latest}` a light block (header, certificate, validator set);
`GET /api/v1/proofs/tx/{hash}` a transaction and its receipt in their block's roots;
`GET /api/v1/proofs/account/{address}?height=H` an account record, or its absence, in the state;
`GET /api/v1/proofs/receipt/{hash}` a notarised execution receipt through its LogBlock to the
state. State proofs are served at the node's latest height only: the store keeps the live
state tree and no older versions (state/store.py), so another `height` is answered 404 of type
`state-not-retained` naming the height served.
`POST /api/v1/evidence/light-attack` takes light-client attack evidence (CBOR), checks it against
this node's chain as the next block would (state/registry/light_attack.py) and queues it for
the node's next proposal: 202, or 400 of a type that says why not (`evidence-not-a-conflict`,
`evidence-bad-certificate`, `evidence-too-old`, `evidence-already-handled`,
`evidence-queue-full`, `bad-evidence` for bytes that do not decode) with the exact `reason`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from metanode.crypto import merkle
from metanode.errors import DecodeError
from metanode.node.node import EvidenceRefused, Node
from metanode.state import tree
from metanode.state.bank import keys as bank_keys
from metanode.state.notary import keys as notary_keys
from metanode.state.notary import queries as notary_queries
from metanode.state.staking import queries as staking_queries
from metanode.types import Block
from metanode.types.light_attack import LightAttackEvidence

from . import problems, schemas
from .governance import validator_views
from .registry import AddressPath, parse_address

# The problem type of each refusal whose reason is not one of "no conflict to punish".
_REFUSALS = {
    "light_attack_certificate_invalid": "evidence-bad-certificate",
    "evidence_too_old": "evidence-too-old",
    "evidence_already_used": "evidence-already-handled",
    "queue_full": "evidence-queue-full",
}
CBOR = "application/cbor"
OCTETS = "application/octet-stream"
_EVIDENCE_BODY = {
    "type": "string",
    "format": "binary",
    "description": "one encoded LightAttackEvidence (CBOR)",
}
HashPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
evidence_bytes_max = 4_096


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/proofs/header/latest", response_model=schemas.LightBlockView)
    async def latest_light_block() -> schemas.LightBlockView:
        """The newest committed height's light block."""
        return _light_block(node, node.store.height)

    @routes.get("/api/v1/proofs/header/{height}", response_model=schemas.LightBlockView)
    async def light_block(
        height: Annotated[int, Path(ge=1, le=2**63)],
    ) -> schemas.LightBlockView:
        """The header of `height`, its commit certificate and the validator set that signs it."""
        return _light_block(node, height)

    @routes.get("/api/v1/proofs/tx/{tx_hash}", response_model=schemas.TxProofView)
    async def tx_proof(tx_hash: HashPath) -> schemas.TxProofView:
        """A committed transaction and its receipt, each with its audit path."""
        found = node.store.find_tx(bytes.fromhex(tx_hash))
        block = None if found is None else node.store.block(found[0])
        if found is None or block is None:
            raise problems.Problem(404, "tx-not-found", "Unknown transaction", tx_hash)
        height, index = found
        receipts = [receipt.encode() for receipt in node.store.receipts(height)]
        return schemas.TxProofView(
            height=height,
            tx=block.txs[index].encode().hex(),
            inclusion=_path([tx.hash() for tx in block.txs], index),
            receipt=receipts[index].hex(),
            receipt_inclusion=_path([merkle.leaf_hash(item) for item in receipts], index),
        )

    @routes.get("/api/v1/proofs/account/{address}", response_model=schemas.StateProofView)
    async def account_proof(
        address: AddressPath,
        height: Annotated[int | None, Query(ge=1, le=2**63)] = None,
    ) -> schemas.StateProofView:
        """An account's record, or its absence, in the state after block `height`."""
        return _state_proof(node, bank_keys.account(parse_address(address)), height)

    @routes.get("/api/v1/proofs/receipt/{receipt_hash}", response_model=schemas.NotarisedProofView)
    async def receipt_proof(receipt_hash: HashPath) -> schemas.NotarisedProofView:
        """A notarised execution receipt → its LogBlock's root → the LogBlock in the state."""
        state = node.store.state()
        proof = notary_queries.inclusion_proof(state.reader, bytes.fromhex(receipt_hash))
        if proof is None:
            raise problems.Problem(
                404,
                "receipt-not-notarised",
                "Receipt not notarised",
                f"no committed LogBlock holds receipt {receipt_hash}",
            )
        key = notary_keys.logblock(proof.app_id, proof.number)
        return schemas.NotarisedProofView(
            receipt_hash=receipt_hash,
            inclusion=schemas.MerklePathView(
                index=proof.index, size=proof.tree_size, path=[item.hex() for item in proof.path]
            ),
            logblock_key=key.hex(),
            state=_state_proof(node, key, None),
        )

    @routes.post(
        "/api/v1/evidence/light-attack",
        status_code=202,
        response_model=schemas.EvidenceAccepted,
        responses={400: problems.SCHEMA},
        openapi_extra={
            "requestBody": {
                "required": True,
                # The body is read as bytes whatever its type says.
                "content": {media: {"schema": _EVIDENCE_BODY} for media in (CBOR, OCTETS)},
            }
        },
    )
    async def light_attack(request: Request) -> schemas.EvidenceAccepted:
        """Evidence of a light-client attack, queued for the next block, which slashes the
        validators it proves to have signed a conflicting header."""
        body = await request.body()
        try:
            if len(body) > evidence_bytes_max:
                raise DecodeError("too_long", f"evidence is at most {evidence_bytes_max} bytes")
            evidence = LightAttackEvidence.decode(body)
        except DecodeError as error:
            raise problems.Problem(
                400, "bad-evidence", "Not light-attack evidence", str(error)
            ) from None
        try:
            node.accept_light_attack(evidence)
        except EvidenceRefused as refused:
            raise problems.Problem(
                400,
                _REFUSALS.get(refused.reason, "evidence-not-a-conflict"),
                "Evidence refused",
                refused.detail,
                reason=refused.reason,
            ) from None
        return schemas.EvidenceAccepted(
            evidence=evidence.hash().hex(), height=evidence.conflicting_header.height
        )

    return routes


def _path(leaf_hashes: list[bytes], index: int) -> schemas.MerklePathView:
    return schemas.MerklePathView(
        index=index,
        size=len(leaf_hashes),
        path=[item.hex() for item in merkle.inclusion_proof(leaf_hashes, index)],
    )


def _light_block(node: Node, height: int) -> schemas.LightBlockView:
    block: Block | None = node.store.block(height)
    certificate = node.store.certificate(height)
    members = staking_queries.validator_set_at(node.store.state().reader, height)
    if block is None or certificate is None or members is None:
        raise problems.Problem(
            404,
            "block-not-found",
            "No such block",
            f"height {height} is not committed (the chain is at {node.store.height})",
        )
    return schemas.LightBlockView(
        height=height,
        header=block.header.encode().hex(),
        certificate=certificate.encode().hex(),
        validators=validator_views(members),
    )


def _state_proof(node: Node, key: bytes, height: int | None) -> schemas.StateProofView:
    state = node.store.state()
    if height is not None and height != state.height:
        raise problems.Problem(
            404,
            "state-not-retained",
            "State of that height not kept",
            f"this node serves state proofs at its latest height only ({state.height}), "
            f"not at {height}: ask without a height, or at {state.height}",
            served_height=state.height,
        )
    value = state.reader.get(key)
    return schemas.StateProofView(
        height=state.height,
        key=key.hex(),
        value=None if value is None else bytes(value).hex(),
        proof=tree.prove(state.nodes, state.state_root, key).hex(),
    )
