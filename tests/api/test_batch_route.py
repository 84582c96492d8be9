"""The batch endpoint (`POST /api/v1/txs/batch`) is a raw route (`app.RawRoute`): FastAPI
describes it in the OpenAPI document but does not handle its requests, and a CBOR body is
parsed in a thread with its transactions decoded there. Its contract is unchanged: each
transaction's verdict in order, and the same problems for a body that is not CBOR, a body of
the wrong shape, too many transactions and an invalid JSON body (a real node's pool, in
process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metanode.api import app as gateway
from metanode.codec import encode
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.node.node import Node
from metanode.types import Address, Transaction
from tests.node.cluster import Cluster

CBOR = {"content-type": "application/cbor"}
PATH = "/api/v1/txs/batch"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    home = Path(tmp_path_factory.mktemp("batch")) / "net"
    (entry,) = dev_home.init_dev(home, validators=1, accounts=3)
    node = Node(entry.config_path, dev_home.DEV_PASSWORD)
    try:
        yield node
    finally:
        node.consensus_log.close()
        node.store.close()


def transfers(home: Path, nonce: int) -> list[Transaction]:
    paths = [path for path in dev_home.account_key_files(home) if path.stem.startswith("dev")]
    signed = []
    for path in paths:
        key = keys.read_account(path, dev_home.DEV_PASSWORD)
        signed.append(Cluster.transfer(key, nonce, Address.from_public_key(bytes(32)), 1))
    return signed


def test_the_batch_route_is_raw_and_still_described(node: Node) -> None:
    app = gateway.create_app(node)
    (route,) = [route for route in app.routes if getattr(route, "path", None) == PATH]
    assert isinstance(route, gateway.RawRoute)
    operation = TestClient(app).get("/openapi.json").json()["paths"][PATH]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "application/cbor"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchResult"
    }


def test_cbor_and_json_batches_get_their_verdicts_in_order(node: Node) -> None:
    client = TestClient(gateway.create_app(node))
    home = node.paths.home.parent.parent
    txs = transfers(home, 0)
    answer = client.post(PATH, content=encode([tx.encode() for tx in txs]), headers=CBOR)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.headers["content-length"] == str(len(answer.content))
    results = answer.json()["results"]
    assert [(r["hash"], r["accepted"]) for r in results] == [(tx.hash().hex(), True) for tx in txs]
    again = client.post(
        PATH, json={"txs": [tx.encode().hex() for tx in [*transfers(home, 1), *txs]]}
    )
    assert [r["reason"] for r in again.json()["results"]] == [None] * 3 + ["duplicate"] * 3


@pytest.mark.parametrize(
    ("body", "status", "kind", "words"),
    [
        (b"\xff", 400, "bad-cbor", "Body is not CBOR"),
        (encode([1]), 400, "bad-cbor", "Wrong shape"),
        (encode({b"a": b"b"}), 400, "bad-cbor", "Wrong shape"),
        (encode([b""] * 10_001), 413, "too-many", "Batch too large"),
    ],
)
def test_a_cbor_body_that_is_no_batch_is_the_same_problem(
    node: Node, body: bytes, status: int, kind: str, words: str
) -> None:
    answer = TestClient(gateway.create_app(node)).post(PATH, content=body, headers=CBOR)
    problem = answer.json()
    assert answer.status_code == status and problem["status"] == status
    assert problem["type"].endswith("/" + kind) and problem["title"] == words


@pytest.mark.parametrize("body", [b'{"txs": "nope"}', b"{", b'{"tx": []}'])
def test_a_json_body_that_is_no_batch_is_the_same_problem(node: Node, body: bytes) -> None:
    answer = TestClient(gateway.create_app(node)).post(
        PATH, content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422 and answer.json()["type"].endswith("/invalid-request")
