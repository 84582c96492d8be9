"""The gateway's relay storage endpoints (docs/storage.md): a storage node takes the shares
the chain placed on it and serves them, and any chunk with its proof, to readers and to the
other holders' challenges.

- `GET /api/v1/blobs/node`: the address of the node answering (for a storage directory).
- `GET /api/v1/blobs/{root}`: the blob's placement on chain and the shares this node holds.
- `PUT /api/v1/blobs/{root}/shares/{share}`: CBOR `[outboard, [chunk…]]`; stored only if the
  chain placed the share on this node and every chunk verifies against the coded root
  (400 `chunk-rejected` with the reason otherwise; nothing is written).
- `GET /api/v1/blobs/{root}/shares/{share}`: the share as CBOR `[outboard, [chunk…]]`.
- `GET /api/v1/blobs/{root}/chunks/{stripe}/{share}`: CBOR `[chunk, [proof hash…]]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from metanode.codec import encode
from metanode.node.blobs import parse_share, share_body
from metanode.node.chunks import ChunkStore, Share
from metanode.state.storage import queries
from metanode.state.storage.records import Placement
from metanode.state.view import StateReader
from metanode.storage import constants
from metanode.storage.coding import prove
from metanode.storage.errors import StorageError
from metanode.types import Address

from . import problems

RootPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the blob's root, hex")]
SharePath = Annotated[int, Path(ge=0, lt=constants.shares_max)]
StripePath = Annotated[int, Path(ge=0, le=constants.stripes_max)]
_CBOR = "application/cbor"
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_CBOR_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {_CBOR: _BINARY}}}


class NodeView(BaseModel):
    address: str


class BlobView(BaseModel):
    root: str
    owner: str
    size: int
    chunk_bytes: int
    k: int
    n: int
    coded_root: str
    holders: list[str]  # share j's node at position j
    height: int  # where it was placed
    since: list[int]  # the height share j's node took it (placed, or moved to it)
    held_here: list[int]  # the shares this node's store holds


def router(me: Address, state: Callable[[], StateReader], store: ChunkStore | None) -> APIRouter:
    """The endpoints of the node `me`, reading the committed state through `state`."""
    routes = APIRouter()

    def chunks() -> ChunkStore:
        if store is None:
            raise problems.Problem(
                404, "not-a-storage-node", "Not a storage node", "this node stores no blobs"
            )
        return store

    def placed(root: str) -> Placement:
        record = queries.placement(state(), bytes.fromhex(root))
        if record is None:
            raise problems.Problem(404, "blob-not-found", "No such blob", f"{root} is not placed")
        return record

    def held(root: str, record: Placement, share: int) -> Share:
        found = None
        if share < record.n:
            found = chunks().share(bytes.fromhex(root), share, record.layout.stripes)
        if found is None:
            raise problems.Problem(
                404,
                "share-not-held",
                "Share not held",
                f"this node holds no share {share} of {root}",
            )
        return found

    @routes.get("/api/v1/blobs/node", response_model=NodeView)
    async def node_address() -> NodeView:
        """The address of this node: the one placements name."""
        return NodeView(address=str(me))

    @routes.get("/api/v1/blobs/{root}", response_model=BlobView)
    async def blob(root: RootPath) -> BlobView:
        """The blob's placement on chain, and which of its shares this node holds."""
        record = placed(root)
        raw = bytes.fromhex(root)
        return BlobView(
            root=root,
            owner=str(record.owner),
            size=record.size,
            chunk_bytes=record.chunk_bytes,
            k=record.k,
            n=record.n,
            coded_root=record.coded_root.hex(),
            holders=[str(holder) for holder in record.holders],
            height=record.height,
            since=list(record.since),
            held_here=[
                share for share in range(record.n) if store is not None and store.holds(raw, share)
            ],
        )

    @routes.put(
        "/api/v1/blobs/{root}/shares/{share}",
        status_code=204,
        responses={403: problems.SCHEMA},
        # Declared as octet-stream, which generic clients and schemathesis can send; the
        # bytes are CBOR [outboard, [chunk…]] (the media type is not checked).
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}}
        },
    )
    async def put_share(root: RootPath, share: SharePath, request: Request) -> Response:
        """Store a share the chain placed on this node, checked whole before it is written."""
        record = placed(root)
        if share >= record.n or record.holders[share] != me:
            raise problems.Problem(
                403,
                "not-the-holder",
                "Not the holder",
                f"the chain places share {share} of {root} on another node",
            )
        try:
            body = parse_share(await request.body())
            chunks().put_share(
                record.layout,
                bytes.fromhex(root),
                record.coded_root,
                share,
                body.leaves,
                body.chunks,
            )
        except StorageError as error:
            raise problems.Problem(
                400, "chunk-rejected", "Chunk rejected", str(error), reason=error.reason
            ) from None
        return Response(status_code=204)

    @routes.get(
        "/api/v1/blobs/{root}/shares/{share}", response_class=Response, responses=_CBOR_ANSWER
    )
    async def get_share(root: RootPath, share: SharePath) -> Response:
        """A share this node holds: CBOR [outboard, [chunk…]]."""
        found = held(root, placed(root), share)
        return Response(share_body(found.leaves, found.chunks), media_type=_CBOR)

    @routes.get(
        "/api/v1/blobs/{root}/chunks/{stripe}/{share}",
        response_class=Response,
        responses=_CBOR_ANSWER,
    )
    async def get_chunk(root: RootPath, stripe: StripePath, share: SharePath) -> Response:
        """One coded chunk with its inclusion proof under the coded root: a challenge's
        answer."""
        record = placed(root)
        found = held(root, record, share)
        layout = record.layout
        if stripe >= layout.stripes:
            raise problems.Problem(
                404, "chunk-not-held", "Chunk not held", f"{root} has {layout.stripes} stripes"
            )
        proof = prove(found.leaves, layout.index(stripe, share))
        return Response(encode([found.chunks[stripe], proof]), media_type=_CBOR)

    return routes
