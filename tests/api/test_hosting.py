"""The gateway's executor reads over real HTTP handling (the ASGI app in process) on a real
service: receipts in seq order with their seqs, paging, state with a proof that verifies and
is the one the whole state's tree gives after random calls."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.api import hosting, problems
from metanode.codec import decode
from metanode.docklock.appstate import EMPTY_ROOT, prove_read, state_root, verify_read
from metanode.docklock.receipt import Receipt
from metanode.executor.service import ExecutorService
from tests.executor.helpers import COUNTER_ID, KV_ID, call, running


def client_for(service: ExecutorService | None) -> TestClient:
    app = FastAPI()
    app.add_exception_handler(problems.Problem, problems.on_problem)
    app.include_router(hosting.router(service))
    return TestClient(app)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir: Path = tmp_path_factory.mktemp("executor")
    with running(data_dir) as service:
        service.on_committed([call(seq) for seq in range(12)])
        service.on_committed([call(0, KV_ID, "put", b"b=2"), call(1, KV_ID, "put", b"d=4")])
        service.wait_idle()
        yield client_for(service)


def test_receipts_come_in_seq_order_with_their_seq_and_page(client: TestClient) -> None:
    url = f"/api/v1/apps/{COUNTER_ID.hex()}/receipts"
    first = client.get(url, params={"from": 3, "limit": 5}).json()
    assert [item["seq"] for item in first["receipts"]] == [3, 4, 5, 6, 7]
    assert first["next"] == 8
    rest = client.get(url, params={"from": first["next"]}).json()
    assert [item["seq"] for item in rest["receipts"]] == [8, 9, 10, 11]
    assert rest["next"] is None
    item = rest["receipts"][-1]
    receipt = Receipt.from_wire(decode(bytes.fromhex(item["receipt"])))
    receipt.verify_signature()
    assert receipt.hash().hex() == item["hash"]
    assert int.from_bytes(bytes.fromhex(item["output"]), "little") == 12


@pytest.mark.parametrize(("key", "value"), [(b"b", b"2"), (b"d", b"4"), (b"c", None), (b"z", None)])
def test_state_reads_carry_a_proof_against_the_last_root(
    client: TestClient, key: bytes, value: bytes | None
) -> None:
    body = client.get(f"/api/v1/apps/{KV_ID.hex()}/state/{key.hex()}").json()
    receipts = client.get(f"/api/v1/apps/{KV_ID.hex()}/receipts").json()["receipts"]
    assert body["root"] == receipts[-1]["state_root_after"] and body["seq"] == 1
    verify_read(bytes.fromhex(body["root"]), key, value, bytes.fromhex(body["proof"]))
    assert body["value"] == (None if value is None else value.hex())


def test_bad_input_and_a_node_without_executor_get_problems(client: TestClient) -> None:
    assert client.get("/api/v1/apps/xyz/receipts").status_code == 422
    assert client.get(f"/api/v1/apps/{KV_ID.hex()}/state/abc").status_code == 422
    missing = client_for(None).get(f"/api/v1/apps/{KV_ID.hex()}/receipts")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("not-an-executor")


KEYS = st.binary(min_size=1, max_size=3).filter(lambda key: b"=" not in key)
PUT = st.tuples(st.just("put"), KEYS, st.binary(max_size=8))
DELETE = st.tuples(st.just("delete"), KEYS, st.just(b""))


@settings(max_examples=20, deadline=None)
@given(
    calls=st.lists(st.one_of(PUT, DELETE), min_size=1, max_size=30),
    asked=st.lists(KEYS, min_size=1, max_size=4),
)
def test_state_reads_are_the_whole_states_proofs_after_random_calls(
    calls: list[tuple[str, bytes, bytes]], asked: list[bytes]
) -> None:
    with tempfile.TemporaryDirectory() as directory, running(Path(directory)) as service:
        client = client_for(service)
        for seq, (function, name, value) in enumerate(calls):
            input_ = name + b"=" + value if function == "put" else name
            service.on_committed([call(seq, KV_ID, function, input_)])
            service.wait_idle()
            whole = service.store.snapshot(KV_ID).state
            last = client.get(f"/api/v1/apps/{KV_ID.hex()}/receipts", params={"from": seq})
            for key in [name, *asked]:
                body = client.get(f"/api/v1/apps/{KV_ID.hex()}/state/{key.hex()}").json()
                assert body["seq"] == seq
                assert body["root"] == state_root(whole).hex()
                assert body["root"] == last.json()["receipts"][0]["state_root_after"]
                assert body["proof"] == prove_read(whole, key).hex()
                assert body["value"] == (None if key not in whole else whole[key].hex())


def test_an_app_not_run_here_reads_empty_and_a_stopped_executor_answers_503(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as service:
        client = client_for(service)
        body = client.get(f"/api/v1/apps/{COUNTER_ID.hex()}/state/00").json()
        assert (body["seq"], body["value"], body["root"]) == (None, None, EMPTY_ROOT.hex())
        verify_read(EMPTY_ROOT, b"\x00", None, bytes.fromhex(body["proof"]))
    stopped = client.get(f"/api/v1/apps/{COUNTER_ID.hex()}/state/00")
    assert stopped.status_code == 503
    assert stopped.json()["type"].endswith("executor-stopped")
