"""The gateway API of one node (FastAPI). Handlers are thin: they parse, call the node on the
event loop thread (the node's one writer), and shape the answer; every error is a problem+json.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from metanode.codec import decode
from metanode.crypto import merkle
from metanode.errors import DecodeError
from metanode.executor.service import ExecutorService
from metanode.node.node import Node
from metanode.state import tree
from metanode.state.auth import queries as auth_queries
from metanode.state.bank import keys as bank_keys
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK, name_of
from metanode.types import Address, Block, CommitCertificate, Denom, Transaction

from . import (
    apps,
    blobs,
    court,
    dev,
    governance,
    hosting,
    identity,
    notary,
    operations,
    peers,
    policy,
    privacy,
    problems,
    proofs,
    registry,
    schemas,
    search,
    security,
    shadow,
    submission,
)
from .dashboard import Dashboard

HashHex = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
CBOR = "application/cbor"
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: problems.SCHEMA for status in (400, 404, 413, 422, 429, 503)
}
faucet_window_s = 60
# The longest a transaction read waits for its commit (`GET /api/v1/txs/{hash}?wait_ms=`).
tx_wait_ms_max = 30_000


class BodyLimit:
    """Refuse request bodies over the limit with 413 before they are read whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > self.limit
        ):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise problems.Problem(
                        413, "too-large", "Request too large", f"bodies are at most {self.limit}"
                    )
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = problems.response(
            413, "too-large", "Request too large", f"bodies are at most {self.limit} bytes"
        )
        await answer(scope, receive, send)


class Disconnects:
    """A client that closes its connection in the middle of a body ends its request: the
    protocol counts it (`connections.py`); here it must not become a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(ClientDisconnect):
            await self.app(scope, receive, send)


class RawRoute(APIRoute):
    """A route whose endpoint takes the request and makes its whole response: FastAPI describes
    it in the OpenAPI document but does not handle its requests (no dependencies solved, no
    sub-response merged, no response model). For the batch endpoint, the gateway's busiest:
    FastAPI's handling was part of the ≈ 12% of a validator's loop around the mempool at
    `--rate max` (py-spy, docs/performance.md)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


def create_app(node: Node, executor: ExecutorService | None = None) -> FastAPI:
    """The gateway of `node`; `executor`: the node's executor service, if it
    runs one (it serves `/api/v1/apps/…`)."""
    app = FastAPI(
        title="Metanode gateway",
        version="1",
        description="Submit transactions, read blocks, accounts with state proofs, and events.",
        responses=PROBLEMS,
    )
    app.add_exception_handler(problems.Problem, problems.on_problem)
    app.add_exception_handler(StarletteHTTPException, problems.on_http)
    app.add_exception_handler(RequestValidationError, problems.on_validation)
    app.add_middleware(BodyLimit, limit=node.config.api.request_bytes_max)
    app.add_middleware(security.Gate, node=node)
    app.add_middleware(Disconnects)
    app.add_middleware(operations.GatewayRole, enabled="gateway" in node.config.server.roles)
    app.include_router(operations.router(node))
    app.include_router(identity.router(node))
    app.include_router(registry.router(node))
    app.include_router(governance.router(node))
    app.include_router(notary.router(node))
    app.include_router(court.router(node))
    app.include_router(privacy.router(node))
    app.include_router(peers.router(node))
    app.include_router(apps.router(node))
    app.include_router(policy.router(node))
    app.include_router(hosting.router(executor))
    app.include_router(blobs.router(node.me, lambda: node.store.state().reader, node.chunks))
    app.include_router(proofs.router(node))
    app.include_router(dev.router(node))
    app.include_router(search.router(node))
    app.include_router(shadow.router(node))
    app.include_router(security.router(node))
    faucet_calls: dict[str, collections.deque[float]] = {}

    async def body_of(request: Request, model: type[schemas.BaseModel]) -> Any:
        """A CBOR body as bytes (transactions as they are signed), or a JSON body checked
        against `model`."""
        data = await request.body()
        if request.headers.get("content-type", "").startswith(CBOR):
            return data
        try:
            return model.model_validate_json(data)
        except ValidationError as error:
            raise problems.Problem(
                422, "invalid-request", "The request is not valid", _errors(error)
            ) from None

    @app.post(
        "/api/v1/txs",
        status_code=202,
        response_model=schemas.Admitted,
        openapi_extra=_body_doc(schemas.TxSubmit, "one encoded transaction"),
    )
    async def submit_tx(request: Request, response: Response) -> schemas.Admitted:
        """Submit one signed transaction (CBOR bytes, or JSON `{"tx": hex}`); 429 with
        `Retry-After` while this node's clients hold what the commit rate allows."""
        body = await body_of(request, schemas.TxSubmit)
        raw = body if isinstance(body, bytes) else bytes.fromhex(body.tx)
        return await submission.admit_one(node, raw, request, response)

    async def submit_batch(request: Request) -> Response:
        """Submit up to 10,000 transactions; each gets its own verdict, in order. Past what the
        commit rate allows (`[mempool] admission_*`) the rest are refused `rate_limited` and the
        response carries `Retry-After`; if none was let in, it is a 429."""
        body = await body_of(request, schemas.TxBatchSubmit)
        raws = _batch_of(body) if isinstance(body, bytes) else [bytes.fromhex(t) for t in body.txs]
        if len(raws) > batch_txs_max:
            raise problems.Problem(
                413, "too-many", "Batch too large", f"at most {batch_txs_max} per batch"
            )
        headers: dict[str, str] = {}
        results = await submission.admit(node, raws, request, headers)
        return submission.batch_answer(results, headers)

    app.router.add_api_route(
        "/api/v1/txs/batch",
        submit_batch,
        methods=["POST"],
        response_model=schemas.BatchResult,
        openapi_extra=_body_doc(schemas.TxBatchSubmit, "a CBOR array of encoded transactions"),
        route_class_override=RawRoute,
    )

    @app.get("/api/v1/txs/{tx_hash}", response_model=schemas.TxView)
    async def get_tx(
        tx_hash: HashHex, wait_ms: Annotated[int, Query(ge=0, le=tx_wait_ms_max)] = 0
    ) -> schemas.TxView:
        """A transaction: pending in the mempool, or committed with its receipt and its
        inclusion proof in the block's transactions root. With `wait_ms`, a pending one is
        answered when it is committed or `wait_ms` has passed, whichever is first: a client
        learns of its commit at once, without polling."""
        digest = bytes.fromhex(tx_hash)
        if wait_ms and digest in node.chain.pool:
            await _committed(node, digest, wait_ms)
        if digest in node.chain.pool:
            missing = node.chain.pool.waiting_for(digest)
            status = "pending" if missing is None else "queued"
            return schemas.TxView(hash=tx_hash, status=status, committed=False, next_nonce=missing)
        found = node.store.find_tx(digest)
        if found is None:
            raise problems.Problem(404, "tx-not-found", "Unknown transaction", tx_hash)
        height, index = found
        block = node.store.block(height)
        receipts = node.store.receipts(height)
        if block is None or index >= len(receipts):
            raise problems.Problem(404, "tx-not-found", "Unknown transaction", tx_hash)
        hashes = [tx.hash() for tx in block.txs]
        receipt = receipts[index]
        ok = receipt.code == OK
        return schemas.TxView(
            hash=tx_hash,
            status="committed" if ok else "failed",
            committed=True,
            ok=ok,
            height=height,
            index=index,
            receipt=schemas.ReceiptView(
                code=receipt.code,
                code_name=name_of(receipt.code),
                ok=ok,
                fee_charged=receipt.fee_charged,
                events=[
                    schemas.ReceiptEvent(
                        kind=event.kind,
                        attributes={key: value.hex() for key, value in event.attributes},
                    )
                    for event in receipt.events
                ],
            ),
            inclusion=schemas.TxInclusion(
                index=index,
                size=len(hashes),
                txs_root=block.header.txs_root.hex(),
                path=[item.hex() for item in merkle.inclusion_proof(hashes, index)],
            ),
            raw=block.txs[index].encode().hex(),
        )

    @app.get("/api/v1/blocks/latest", response_model=schemas.BlockView)
    async def latest_block() -> schemas.BlockView:
        """The newest committed block, with its commit certificate."""
        height = node.chain.height
        if height == 0:
            raise problems.Problem(404, "block-not-found", "No block yet", "the chain is at 0")
        return _block_view(node, height)

    @app.get("/api/v1/blocks/{height}", response_model=schemas.BlockView)
    async def block_at(height: Annotated[int, Path(ge=1, le=2**63)]) -> schemas.BlockView:
        """The committed block at `height`, with its commit certificate."""
        return _block_view(node, height)

    @app.get("/api/v1/accounts/{address}", response_model=schemas.AccountView)
    async def account(address: registry.AddressPath) -> schemas.AccountView:
        """Balances and nonce, with a proof against the state root of the latest block."""
        parsed = registry.parse_address(address)
        state = node.store.state()
        record = bank_queries.account(state.reader, parsed)
        key = bank_keys.account(parsed)
        value = state.reader.get(key)
        return schemas.AccountView(
            address=str(parsed),
            nonce=auth_queries.nonce(state.reader, parsed),
            balances={denom.name: record.balances[denom - 1] for denom in Denom},
            proof=schemas.StateProof(
                height=state.height,
                state_root=state.state_root.hex(),
                key=key.hex(),
                value=None if value is None else bytes(value).hex(),
                proof=tree.prove(state.nodes, state.state_root, key).hex(),
            ),
        )

    @app.get("/api/v1/accounts/{address}/txs", response_model=schemas.AccountTxs)
    async def account_txs(
        address: registry.AddressPath,
        blocks: Annotated[int, Query(ge=1, le=account_blocks_max)] = 200,
        limit: Annotated[int, Query(ge=1, le=100)] = 25,
    ) -> schemas.AccountTxs:
        """The account's newest transactions, as sender or recipient, in the last `blocks`
        blocks (for the dashboard's account page)."""
        parsed = registry.parse_address(address)
        top = node.chain.height
        found: list[schemas.AccountTx] = []
        for height in range(top, max(0, top - blocks), -1):
            block = node.store.block(height)
            if block is None:
                continue
            receipts = node.store.receipts(height)
            for index in range(len(block.txs) - 1, -1, -1):
                tx = block.txs[index]
                role = _role(tx, parsed)
                if role is not None:
                    code = receipts[index].code if index < len(receipts) else OK
                    found.append(
                        schemas.AccountTx(
                            hash=tx.hash().hex(), height=height, index=index, code=code, role=role
                        )
                    )
            if len(found) >= limit:
                break
        return schemas.AccountTxs(
            address=str(parsed), height=top, blocks=min(blocks, top), txs=found[:limit]
        )

    @app.get("/api/v1/status", response_model=schemas.StatusView)
    async def status() -> schemas.StatusView:
        """This node: height, round, peers, mempool, tip."""
        return schemas.StatusView(**node.status())

    @app.post("/api/v1/faucet", response_model=schemas.FaucetResult, status_code=202)
    async def faucet(request: Request, body: schemas.FaucetRequest) -> schemas.FaucetResult:
        """Dev and testnet chains: send coins to an address from the node's faucet account,
        at most `faucet_requests_per_minute` per client."""
        if node.faucet_key is None:
            raise problems.Problem(
                503, "faucet-off", "No faucet", "this node has no faucet account configured"
            )
        try:
            target = Address.parse(body.address)
        except DecodeError as error:
            raise problems.Problem(400, "bad-address", "Not an address", str(error)) from None
        client = request.client.host if request.client else "unknown"
        calls = faucet_calls.setdefault(client, collections.deque())
        now = time.monotonic()
        while calls and now - calls[0] > faucet_window_s:
            calls.popleft()
        if len(calls) >= node.config.api.faucet_requests_per_minute:
            raise problems.Problem(
                429, "rate-limited", "Too many faucet requests", "try again in a minute"
            )
        calls.append(now)
        tx = node.faucet_transfer(target, Denom[body.denom], body.amount)
        (result,) = await node.submit([tx.encode()])
        if not result.admitted:
            raise problems.Problem(
                503,
                "faucet-busy",
                "Faucet transfer refused",
                f"the mempool refused the faucet's transfer: {result.reason}",
            )
        return schemas.FaucetResult(
            hash=tx.hash().hex(), address=str(target), denom=body.denom, amount=body.amount
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        node.readiness()  # the ready gauges as of this scrape
        return Response(generate_latest(node.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/dashboard", Dashboard(), name="dashboard")

    @app.websocket("/api/v1/events")
    async def events(socket: WebSocket) -> None:
        """New blocks (`{"type": "block", …}`), committed transactions (`"txs"`), and on a dev
        chain its reverts (`"reverted"`, with the height the chain went back to)."""
        await socket.accept()
        queue = node.subscribe()
        try:
            while True:
                event = await queue.get()
                await socket.send_text(event.text)
                if event.type == "closed":
                    await socket.close()
                    return
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            node.unsubscribe(queue)

    return app


batch_txs_max = 10_000
account_blocks_max = 1_000


def _role(tx: Transaction, account: Address) -> Literal["sender", "recipient"] | None:
    if tx.sender_address == account:
        return "sender"
    if getattr(tx.message, "to", None) == account:
        return "recipient"
    return None


async def _committed(node: Node, digest: bytes, wait_ms: int) -> None:
    """Return once `digest` has left the mempool (committed, or dropped) or `wait_ms` passed."""
    queue = node.subscribe()
    try:
        async with asyncio.timeout(wait_ms / 1000):
            # Subscribed first, then checked: a commit between the two is not missed.
            while digest in node.chain.pool:
                event = await queue.get()
                if event.type == "closed":
                    return
    except TimeoutError:
        return
    finally:
        node.unsubscribe(queue)


def _batch_of(body: bytes) -> list[bytes]:
    """A CBOR batch body's transactions, parsed on the loop as before: in a thread the strict
    parse (Python: it encodes the value again to compare) competes with the loop for the GIL,
    and alternated runs showed it no better (docs/performance.md, w15)."""
    try:
        items = decode(body)
    except DecodeError as error:
        raise problems.Problem(400, "bad-cbor", "Body is not CBOR", str(error)) from None
    if not isinstance(items, (list, tuple)) or not all(type(item) is bytes for item in items):
        raise problems.Problem(400, "bad-cbor", "Wrong shape", "send a CBOR array of byte strings")
    return list(items)


def _errors(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors()
    )


def _body_doc(model: type[schemas.BaseModel], cbor_note: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                CBOR: {"schema": {"type": "string", "format": "binary", "description": cbor_note}},
            },
        }
    }


def _block_view(node: Node, height: int) -> schemas.BlockView:
    block: Block | None = node.store.block(height)
    if block is None:
        raise problems.Problem(
            404, "block-not-found", "No such block", f"height {height} is not committed"
        )
    return block_view(block, node.store.certificate(height))


def block_view(block: Block, certificate: CommitCertificate | None) -> schemas.BlockView:
    """A block as the gateway shows it; the dashboard re-hashes these fields in the browser
    (dashboard/src/verify.ts), so both sides must name the same header fields."""
    header = block.header
    return schemas.BlockView(
        height=header.height,
        hash=block.hash().hex(),
        chain_id=header.chain_id,
        round=header.round,
        timestamp_ms=header.timestamp_ms,
        previous_hash=header.previous_hash.hex(),
        txs_root=header.txs_root.hex(),
        state_root=header.state_root.hex(),
        receipts_root=header.receipts_root.hex(),
        validator_set_hash=header.validator_set_hash.hex(),
        next_validator_set_hash=header.next_validator_set_hash.hex(),
        proposer=str(header.proposer),
        vrf_proof=header.vrf_proof.hex(),
        last_certificate_hash=header.last_certificate_hash.hex(),
        txs=[tx.hash().hex() for tx in block.txs],
        evidence=[item.hex() for item in block.evidence],
        certificate=_certificate_view(certificate),
        last_certificate=_certificate_view(block.last_certificate),
    )


def _certificate_view(certificate: CommitCertificate | None) -> schemas.Certificate | None:
    if certificate is None:
        return None
    return schemas.Certificate(
        height=certificate.height,
        round=certificate.round,
        block_hash=certificate.block_hash.hex(),
        signer_bitmap=certificate.signer_bitmap.hex(),
        aggregate_signature=certificate.aggregate_signature.hex(),
    )
