"""The gateway's notary reads: a notarised receipt, its RFC 6962 inclusion proof against its
LogBlock's root as the chain stores it, and an app's LogBlocks (docs/notary.md).

`GET /api/v1/logblocks?app=HEX&start=N&limit=M` pages by LogBlock number; `next` is the
following page's `start`, or null on the last. A receipt no committed LogBlock holds (not yet
notarised, or its range disputed) is answered 404.
"""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import APIRouter, Path, Query

from metanode.node.node import Node
from metanode.state.notary import queries
from metanode.state.notary.records import Stored
from metanode.types import LogLeaf

from . import problems, schemas

page_logblocks_max = 100
HashPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


def _not_found(receipt_hash: str) -> problems.Problem:
    return problems.Problem(
        404,
        "receipt-not-notarised",
        "Receipt not notarised",
        f"no committed LogBlock holds receipt {receipt_hash}",
    )


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/receipts/{receipt_hash}", response_model=schemas.NotarisedReceiptView)
    async def get_receipt(receipt_hash: HashPath) -> schemas.NotarisedReceiptView:
        """A notarised receipt's leaf, with the LogBlock and height that committed it."""
        found = queries.receipt(node.store.state().reader, bytes.fromhex(receipt_hash))
        if found is None:
            raise _not_found(receipt_hash)
        return schemas.NotarisedReceiptView(
            leaf=_leaf(found.leaf),
            app_id=found.app_id.hex(),
            logblock_number=found.number,
            logblock_hash=found.logblock_hash.hex(),
            leaf_index=found.index,
            height=found.height,
        )

    @routes.get("/api/v1/receipts/{receipt_hash}/proof", response_model=schemas.ReceiptProofView)
    async def get_receipt_proof(receipt_hash: HashPath) -> schemas.ReceiptProofView:
        """The receipt's RFC 6962 audit path to its LogBlock's on-chain root."""
        proof = queries.inclusion_proof(node.store.state().reader, bytes.fromhex(receipt_hash))
        if proof is None:
            raise _not_found(receipt_hash)
        return schemas.ReceiptProofView(
            receipt_hash=receipt_hash,
            leaf_index=proof.index,
            tree_size=proof.tree_size,
            path=[item.hex() for item in proof.path],
            root=proof.root.hex(),
            app_id=proof.app_id.hex(),
            logblock_number=proof.number,
            height=proof.height,
        )

    @routes.get("/api/v1/logblocks", response_model=schemas.LogBlockPage)
    async def get_logblocks(
        app: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
        start: Annotated[int, Query(ge=0, le=2**63)] = 0,
        limit: Annotated[int, Query(ge=1, le=page_logblocks_max)] = 50,
    ) -> schemas.LogBlockPage:
        """An app's committed LogBlocks by number, `limit` at a time from `start`."""
        state = node.store.state()
        found = list(
            itertools.islice(queries.logblocks(state.reader, bytes.fromhex(app), start), limit + 1)
        )
        return schemas.LogBlockPage(
            height=state.height,
            app_id=app,
            logblocks=[_logblock(number, stored) for number, stored in found[:limit]],
            next=found[limit][0] if len(found) > limit else None,
        )

    return routes


def _leaf(leaf: LogLeaf) -> schemas.LogLeafView:
    return schemas.LogLeafView(
        receipt_hash=leaf.receipt_hash.hex(),
        executor=leaf.executor.hex(),
        call_seq=leaf.call_seq,
        previous=leaf.previous.hex(),
        result_hash=leaf.result_hash.hex(),
        fuel_used=leaf.fuel_used,
        peak_memory_bytes=leaf.peak_memory_bytes,
        output_bytes=leaf.output_bytes,
        state_bytes=leaf.state_bytes,
        block_time=leaf.block_time,
    )


def _logblock(number: int, stored: Stored) -> schemas.LogBlockView:
    logblock = stored.logblock
    return schemas.LogBlockView(
        number=number,
        hash=logblock.hash().hex(),
        height=stored.height,
        app_version=logblock.app_version,
        first_seq=logblock.first_seq,
        last_seq=logblock.last_seq,
        root=logblock.root.hex(),
        leaves=len(logblock.leaves),
    )
