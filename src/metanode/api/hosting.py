"""The gateway's executor reads: this node's signed receipts for an app, and the app's state
with its read proof.

`GET /api/v1/apps/{app_id}/receipts?from=SEQ&limit=N` answers the receipts this node signed for
the app, from call `from` on, in seq order, each with the seq it answers, its hash and its
tagged CBOR encoding (what a notary or `replay` takes), and for a split-origin receipt the
client's key and transaction (`client`, `request_tx`). `GET /api/v1/apps/{app_id}/state/{key}`
answers the key's value (or null) with a proof (`tree.prove`, what `docklock.appstate.
prove_read` makes of the whole state) against the root the app's state has after the last
committed call: that call's receipt's `state_root_after`, and so the root before the next call.
The executor's worker answers it from the state and tree it keeps (`ExecutorService.read`), in
O(log n) and off the event loop; the loop only waits. A node that runs no executor answers 404
`not-an-executor`, one whose executor is stopped 503 `executor-stopped`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.executor import constants
from metanode.executor.service import ExecutorService, ExecutorStopped

from . import problems

HEX32 = r"^[0-9a-f]{64}$"
AppIdPath = Annotated[str, Path(pattern=HEX32, description="the app id, 64 hex digits")]
KeyPath = Annotated[str, Path(pattern=r"^([0-9a-f]{2}){0,256}$", description="the key in hex")]
seq_max = 2**64 - 1


class ReceiptView(BaseModel):
    seq: int
    hash: str
    receipt: str  # hex of the tagged CBOR receipt
    outcome: str
    fuel_used: int
    state_root_after: str
    output: str
    logs: list[str]  # hex of each `log` host call's bytes, in order (the witness covers them)
    # A split-origin receipt's client side (docs/audit.md); null for a version 1 receipt.
    client: str | None = None  # the client's Ed25519 key
    request_tx: str | None = None  # the CallApp transaction the client signed


class ReceiptPage(BaseModel):
    app_id: str
    receipts: list[ReceiptView]
    next: int | None  # the `from` of the following page, null on the last


class StateView(BaseModel):
    app_id: str
    key: str
    value: str | None
    seq: int | None  # the last call the state reflects; null before the first
    root: str
    proof: str  # hex; `docklock.appstate.verify_read(root, key, value, proof)` checks it


def router(service: ExecutorService | None) -> APIRouter:
    routes = APIRouter()

    def executor() -> ExecutorService:
        if service is None:
            raise problems.Problem(
                404, "not-an-executor", "Not an executor", "this node executes no apps"
            )
        return service

    @routes.get("/api/v1/apps/{app_id}/receipts", response_model=ReceiptPage)
    async def receipts(
        app_id: AppIdPath,
        start: Annotated[int, Query(alias="from", ge=0, le=seq_max)] = constants.first_seq,
        limit: Annotated[int, Query(ge=1, le=constants.receipts_page_max)] = 100,
    ) -> ReceiptPage:
        """This node's receipts for the app, in seq order, from call `from` on."""
        found = executor().store.receipts(bytes.fromhex(app_id), start, limit + 1)
        views = [
            ReceiptView(
                seq=item.seq,
                hash=tagged_hash(tags.EXEC_RECEIPT, item.encoded).hex(),
                receipt=item.encoded.hex(),
                outcome=item.receipt.outcome,
                fuel_used=item.receipt.fuel_used,
                state_root_after=item.receipt.state_root_after.hex(),
                output=item.output.hex(),
                logs=[entry.hex() for entry in item.logs],
                client=None if item.receipt.request is None else item.receipt.request.client.hex(),
                request_tx=(
                    None if item.receipt.request is None else item.receipt.request.tx_hash.hex()
                ),
            )
            for item in found[:limit]
        ]
        return ReceiptPage(
            app_id=app_id, receipts=views, next=found[limit].seq if len(found) > limit else None
        )

    @routes.get("/api/v1/apps/{app_id}/state/{key}", response_model=StateView)
    async def state(app_id: AppIdPath, key: KeyPath) -> StateView:
        """One key of the app's state, with its proof against the app's current root."""
        try:
            asked = executor().read(bytes.fromhex(app_id), bytes.fromhex(key))
            read = await asyncio.wrap_future(asked)
        except ExecutorStopped as stopped:
            raise problems.Problem(
                503, "executor-stopped", "Executor stopped", f"{stopped}: try another replica"
            ) from None
        return StateView(
            app_id=app_id,
            key=key,
            value=None if read.value is None else read.value.hex(),
            seq=read.seq,
            root=read.root.hex(),
            proof=read.proof.hex(),
        )

    return routes
