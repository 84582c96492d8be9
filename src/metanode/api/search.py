"""The dashboard's search: `GET /api/v1/search?q=TEXT` says what TEXT names (a block by height
or hash, a transaction, an app, an account, a DID, a dispute as `dispute N`), always with 200,
so a browser that asks logs no failed request for a miss. Block hashes are looked for among
the newest `search_blocks_max` blocks only: the store keeps no index by block hash.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query

from metanode.errors import DecodeError
from metanode.node.node import Node
from metanode.state.apps import queries as app_queries
from metanode.state.court import queries as court_queries
from metanode.state.identity import queries as identity_queries
from metanode.types import Address
from metanode.types.address import PREFIX

from . import schemas

search_blocks_max = 1_000
_HASH = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
# A bare number is a height, so a dispute id is searched with its word: "dispute 7".
_DISPUTE = re.compile(r"^dispute[\s:#]*(\d{1,19})$", re.IGNORECASE)


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/search", response_model=schemas.SearchResult)
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=200)],
    ) -> schemas.SearchResult:
        """What `q` names: `kind` and the `id` to read it by, or `kind` null."""
        text = q.strip()
        kind, found = _find(node, text)
        return schemas.SearchResult(query=text, kind=kind, id=found)

    return routes


def _find(node: Node, text: str) -> tuple[schemas.SearchKind | None, str | None]:
    if text.isascii() and text.isdigit():
        height = int(text)
        return ("block", str(height)) if 1 <= height <= node.chain.height else (None, None)
    if text.startswith(PREFIX + "1"):
        try:
            return "account", str(Address.parse(text))
        except DecodeError:
            return None, None
    state = node.store.state()
    if dispute := _DISPUTE.match(text):
        dispute_id = int(dispute.group(1))
        found = court_queries.dispute(state.reader, dispute_id) is not None
        return ("dispute", str(dispute_id)) if found else (None, None)
    if re.fullmatch(schemas.DID_PATTERN, text):
        return ("did", text) if identity_queries.did(state.reader, text) else (None, None)
    if not _HASH.match(text):
        return None, None
    digest = bytes.fromhex(text.removeprefix("0x").lower())
    if digest in node.chain.pool or node.store.find_tx(digest) is not None:
        return "tx", digest.hex()
    if app_queries.app(state.reader, digest) is not None:
        return "app", digest.hex()
    top = node.chain.height
    for height in range(top, max(0, top - search_blocks_max), -1):
        block = node.store.block(height)
        if block is not None and block.hash() == digest:
            return "block", str(height)
    return None, None
