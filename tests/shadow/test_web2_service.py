"""A Web2 service acts for a user only within the user's grant: a real dev chain, a real
FastAPI service on a local port, the user's grant given, narrowed, expired and revoked on
chain. Every refusal leaves the chain as it was (the service's nonce, the app's calls)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from metanode.codec import decode
from metanode.crypto import ed25519, symmetric
from metanode.devkit.chain import DevChain
from metanode.docklock.receipt import Receipt as ExecutionReceipt
from metanode.state.codes import OK
from metanode.state.shadow.receipts import (
    ShadowReceipt,
    ShadowRequest,
    check_receipt,
    open_sealed,
)
from metanode.types import Address, GrantShadow, RegisterShadow, ShadowScope

from .web2 import Service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOMAIN = "shop.example.com"


@dataclass
class World:
    chain: DevChain
    service: Service
    app_id: bytes
    user: ed25519.PrivateKey
    user_box: symmetric.X25519PrivateKey

    def grant(self, functions: tuple[str, ...], blocks: int = 1_000) -> None:
        expiry = self.chain.height() + 1 + blocks
        scopes = (ShadowScope(self.app_id, functions),) if functions else ()
        record = self.chain.send(self.user, GrantShadow(DOMAIN, scopes, expiry))
        assert record["ok"], record

    def act(self, function: str, data: bytes) -> httpx.Response:
        return httpx.post(
            f"{self.service.url}/act",
            json={
                "user": str(Address.from_public_key(self.user.public_key)),
                "function": function,
                "input": data.hex(),
                "user_key": self.user_box.public_key.hex(),
            },
            timeout=60,
        )

    def unchanged(self) -> tuple[int, int]:
        """The service account's nonce and the app's call count."""
        account = Address.from_public_key(self.service.account.public_key)
        nonce = self.chain.request("GET", f"/api/v1/accounts/{account}")["nonce"]
        return nonce, self.chain.request("GET", f"/api/v1/apps/{self.app_id.hex()}")["calls"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("shadow") / "chain"
    with DevChain(home, accounts=2) as chain:
        user, account = chain.key("dev0"), chain.key("dev1")
        app_id = bytes.fromhex(chain.deploy(account, EXAMPLES / "kv.wat"))
        service_key = ed25519.PrivateKey.from_seed(b"\x07" * 32)
        box = symmetric.X25519PrivateKey.generate()
        registered = chain.send(
            account, RegisterShadow(DOMAIN, service_key.public_key, box.public_key)
        )
        assert registered["ok"], registered
        service = Service(chain.url, DOMAIN, app_id, account, service_key, box)
        with service:
            yield World(chain, service, app_id, user, symmetric.X25519PrivateKey.generate())


def test_the_service_acts_within_the_grant_and_both_can_check_the_record(world: World) -> None:
    world.grant(("put", "get"))
    answer = world.act("put", b"colour=blue")
    assert answer.status_code == 200, answer.text
    answer = world.act("get", b"colour")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    receipt = ShadowReceipt.decode(bytes.fromhex(body["shadow_receipt"]))
    execution = ExecutionReceipt.from_wire(decode(bytes.fromhex(body["execution_receipt"])))
    request = receipt.request
    # The user opens what was sealed to them; nothing of it is on chain.
    response = open_sealed(bytes.fromhex(body["response"]), world.user_box, request, "response")
    sent = open_sealed(bytes.fromhex(body["request"]), world.user_box, request, "request")
    assert (sent, response) == (b"colour", b"blue")
    shadow = world.chain.request("GET", f"/api/v1/shadows/{DOMAIN}")
    assert check_receipt(receipt, execution, bytes.fromhex(shadow["service_key"]), response) == OK
    # Split origin: the executor's receipt names the service's signed transaction.
    assert execution.request is not None
    assert execution.request.client == world.service.account.public_key
    # The service's own copies are sealed to its key, not the user's.
    mine = world.service.vault[request.hash()][1]
    assert open_sealed(mine, world.service.encryption_key, request, "response") == b"blue"
    with pytest.raises(Exception, match="not for this key"):
        open_sealed(mine, world.user_box, request, "response")
    # Another output than the one committed to is caught.
    assert check_receipt(receipt, execution, bytes.fromhex(shadow["service_key"]), b"red") != OK


def test_a_function_outside_the_grant_is_refused_and_changes_nothing(world: World) -> None:
    world.grant(("get",))
    before = world.unchanged()
    answer = world.act("put", b"colour=red")
    assert answer.status_code == 403
    assert answer.json()["reason"] == "out_of_scope"
    assert world.unchanged() == before


def test_an_expired_grant_is_refused(world: World) -> None:
    world.grant(("get",), blocks=1)
    world.chain.transfer(world.user, Address.from_public_key(world.user.public_key), 1)
    before = world.unchanged()
    answer = world.act("get", b"colour")
    assert (answer.status_code, answer.json()["reason"]) == (403, "grant_expired")
    assert world.unchanged() == before


def test_a_revoked_grant_is_refused(world: World) -> None:
    world.grant(("get",))
    world.grant(())
    before = world.unchanged()
    answer = world.act("get", b"colour")
    assert (answer.status_code, answer.json()["reason"]) == (403, "grant_unknown")
    assert world.unchanged() == before
    grant = httpx.get(
        f"{world.chain.url}/api/v1/shadows/{DOMAIN}/grants/"
        f"{Address.from_public_key(world.user.public_key)}"
    )
    assert grant.status_code == 404


def test_a_request_not_signed_by_the_service_key_is_refused_at_the_door(world: World) -> None:
    world.grant(("get",))
    tx = world.service.call_tx("get", b"colour")
    forged = ShadowRequest(
        DOMAIN,
        Address.from_public_key(world.user.public_key),
        world.app_id,
        "get",
        b"\x00" * 32,
        tx.hash(),
    ).signed(ed25519.PrivateKey.from_seed(b"\x09" * 32))
    answer = httpx.post(
        f"{world.chain.url}/api/v1/shadows/{DOMAIN}/calls",
        json={"request": forged.encode().hex(), "tx": tx.encode().hex()},
    )
    assert (answer.status_code, answer.json()["reason"]) == (403, "service_signature_invalid")
    malformed = httpx.post(
        f"{world.chain.url}/api/v1/shadows/{DOMAIN}/calls", json={"request": "00", "tx": "zz"}
    )
    assert malformed.status_code == 400
