"""A small Web2 service that calls apps for its users through its shadow identity: a real
FastAPI app served by uvicorn on a local port, talking to a real node's gateway.

`POST /act` with `{"user", "function", "input", "user_key"}` (address, function name, input
hex, the user's X25519 public key hex): the service signs a CallApp transaction from its own
account and a shadow request with its service key, hands both to the gateway's door
(`/api/v1/shadows/{domain}/calls`), and once the call ran answers the signed shadow receipt,
the executor's receipt and the request and response sealed to the user; it keeps copies
sealed to its own encryption key. A refusal of the gateway is answered 403 with its reason.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from metanode.codec import decode
from metanode.crypto import ed25519, symmetric
from metanode.crypto.hashing import blake3_hash
from metanode.docklock.receipt import Receipt as ExecutionReceipt
from metanode.net.ports import free_port_block
from metanode.state.shadow.receipts import ShadowReceipt, ShadowRequest, seal
from metanode.types import Address, CallApp, Transaction

TIMEOUT_S = 40.0


class Act(BaseModel):
    user: str
    function: str
    input: str
    user_key: str


class Service:
    def __init__(
        self,
        gateway: str,
        domain: str,
        app_id: bytes,
        account: ed25519.PrivateKey,
        service_key: ed25519.PrivateKey,
        encryption_key: symmetric.X25519PrivateKey,
    ) -> None:
        self.gateway = gateway
        self.domain = domain
        self.app_id = app_id
        self.account = account
        self.service_key = service_key
        self.encryption_key = encryption_key
        self.vault: dict[bytes, tuple[bytes, bytes]] = {}  # request hash → sealed to itself
        self.http = httpx.Client(base_url=gateway, timeout=TIMEOUT_S)
        self.app = FastAPI()
        self.app.post("/act")(self.act)
        self.port = free_port_block(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Service:
        self._thread.start()
        deadline = time.monotonic() + TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Web2 service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(TIMEOUT_S)
        self.http.close()

    def act(self, body: Act) -> Any:
        payload = bytes.fromhex(body.input)
        tx = self.call_tx(body.function, payload)
        request = ShadowRequest(
            self.domain,
            Address.parse(body.user),
            self.app_id,
            body.function,
            blake3_hash(payload),
            tx.hash(),
        ).signed(self.service_key)
        door = self.http.post(
            f"/api/v1/shadows/{self.domain}/calls",
            json={"request": request.encode().hex(), "tx": tx.encode().hex()},
        )
        if door.status_code != 202:
            return JSONResponse(door.json(), status_code=door.status_code)
        record = self.http.get(f"/api/v1/txs/{tx.hash().hex()}", params={"wait_ms": 30_000})
        committed = record.json()
        seq = next(
            int(event["attributes"]["seq"], 16)
            for event in committed["receipt"]["events"]
            if event["kind"] == "app_called"
        )
        execution, output = self._receipt(seq)
        receipt = ShadowReceipt(
            request, committed["height"], execution.hash(), blake3_hash(output)
        ).signed(self.service_key)
        own = self.encryption_key.public_key
        self.vault[request.hash()] = (
            seal(payload, own, request, "request"),
            seal(output, own, request, "response"),
        )
        user_key = bytes.fromhex(body.user_key)
        return {
            "shadow_receipt": receipt.encode().hex(),
            "execution_receipt": execution.encode().hex(),
            "request": seal(payload, user_key, request, "request").hex(),
            "response": seal(output, user_key, request, "response").hex(),
        }

    def call_tx(self, function: str, payload: bytes) -> Transaction:
        sender = Address.from_public_key(self.account.public_key)
        nonce = self.http.get(f"/api/v1/accounts/{sender}").json()["nonce"]
        status = self.http.get("/api/v1/status").json()
        app = self.http.get(f"/api/v1/apps/{self.app_id.hex()}").json()
        unsigned = Transaction(
            status["chain_id"],
            self.account.public_key,
            nonce,
            1_000,
            status["height"] + 1_000,
            CallApp(self.app_id, 0, function, payload, app["fuel_limit"]),
        )
        return unsigned.with_signature(self.account.sign(unsigned.signing_message()))

    def _receipt(self, seq: int) -> tuple[ExecutionReceipt, bytes]:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            page = self.http.get(
                f"/api/v1/apps/{self.app_id.hex()}/receipts", params={"from": seq, "limit": 1}
            ).json()
            for item in page["receipts"]:
                if item["seq"] == seq:
                    wire = decode(bytes.fromhex(item["receipt"]))
                    return ExecutionReceipt.from_wire(wire), bytes.fromhex(item["output"])
            time.sleep(0.01)
        raise RuntimeError(f"no receipt of call {seq}")
