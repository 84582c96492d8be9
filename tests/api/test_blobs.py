"""The gateway's blob endpoints over real HTTP handling (the ASGI app in process), on a chain
whose placement a real PlaceBlob made and a real LMDB chunk store: a share is taken only by
its node and only whole and verified; shares and proven chunks are served back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from metanode.api import blobs, problems
from metanode.codec import decode, encode
from metanode.crypto.hashing import blake3_hash
from metanode.node.blobs import parse_share, share_body
from metanode.node.chunks import ChunkStore
from metanode.state.codes import OK
from metanode.state.storage import queries
from metanode.storage import coding
from metanode.types import Address
from tests.state.support import Wallet
from tests.state.test_storage import CHUNK, Sender, place_message, storage_chain

DATA = blake3_hash(b"gateway", length=5_000)


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Address]]:
    chain = storage_chain()
    message = place_message(DATA)
    assert Sender(chain, Wallet.of(0)).send(message) == OK
    record = queries.placement(chain.state.reader, message.root)
    assert record is not None
    store = ChunkStore.open(Path(tmp_path_factory.mktemp("blobs")))
    app = FastAPI()
    app.add_exception_handler(problems.Problem, problems.on_problem)
    app.include_router(blobs.router(record.holders[2], lambda: chain.state.reader, store))
    yield TestClient(app), record.holders[2]
    store.close()


def url(tail: str = "") -> str:
    return f"/api/v1/blobs/{coding.content_root(DATA, CHUNK).hex()}{tail}"


def test_a_share_goes_in_only_whole_verified_and_to_its_node(
    placed: tuple[TestClient, Address],
) -> None:
    client, me = placed
    encoded = coding.encode(DATA, 4, 6, CHUNK)
    assert client.get("/api/v1/blobs/node").json() == {"address": str(me)}
    forged = list(encoded.share(2))
    forged[1] = bytes([forged[1][0] ^ 1]) + forged[1][1:]
    refused = client.put(url("/shares/2"), content=share_body(encoded.leaves, forged))
    assert refused.status_code == 400 and refused.json()["reason"] == "chunk_not_in_blob"
    garbage = client.put(url("/shares/2"), content=b"\xff\x00")
    assert garbage.status_code == 400 and garbage.json()["reason"] == "share_malformed"
    assert client.get(url()).json()["held_here"] == []
    assert client.get(url("/shares/2")).status_code == 404
    other = client.put(url("/shares/3"), content=share_body(encoded.leaves, encoded.share(3)))
    assert other.status_code == 403 and other.json()["type"].endswith("not-the-holder")
    stored = client.put(url("/shares/2"), content=share_body(encoded.leaves, encoded.share(2)))
    assert stored.status_code == 204
    view = client.get(url()).json()
    assert view["held_here"] == [2] and view["holders"][2] == str(me)
    assert (view["size"], view["k"], view["n"]) == (5_000, 4, 6)
    assert parse_share(client.get(url("/shares/2")).content).chunks == tuple(encoded.share(2))
    for stripe in range(encoded.layout.stripes):
        chunk, proof = decode(client.get(url(f"/chunks/{stripe}/2")).content)
        coding.verify_chunk(encoded.layout, encoded.coded_root, stripe, 2, chunk, list(proof))
    assert client.get(url(f"/chunks/{encoded.layout.stripes}/2")).status_code == 404


def test_an_unknown_blob_is_a_404(placed: tuple[TestClient, Address]) -> None:
    client, _ = placed
    answer = client.get(f"/api/v1/blobs/{bytes(32).hex()}")
    assert answer.status_code == 404 and answer.json()["type"].endswith("blob-not-found")
    body = encode([b"", []])
    assert client.put(f"/api/v1/blobs/{bytes(32).hex()}/shares/0", content=body).status_code == 404
