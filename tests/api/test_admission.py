"""Admission that follows the commit rate on a real node's gateway and pool: a burst above the
bound is let in up to it, the rest refused `rate_limited` (or 429 when nothing fits) with
`Retry-After`; a client that honours it gets everything in, and everything let in commits."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metanode.cli import load
from metanode.types import Address
from tests.node.cluster import Cluster, running

BOUND = 30  # `admission_txs_min`; one block's worth of the commit rate never exceeds it here


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    settings = {"admission_blocks": 1, "admission_window_blocks": 4, "admission_txs_min": BOUND}
    home = Path(tmp_path_factory.mktemp("admission")) / "net"
    with running(home, validators=1, settings=settings) as network:
        network.wait_height(1, timeout_s=60)
        yield network


def metric(cluster: Cluster, sample: str) -> float:
    text = cluster.client.get(cluster.url("v0") + "/metrics").text
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_burst_over_the_bound_gets_in_at_the_commit_rate_and_all_of_it_commits(
    cluster: Cluster,
) -> None:
    txs = cluster.transfers(per_account=3)
    assert len(txs) > BOUND
    accounts = {tx.sender_address: index for index, tx in enumerate(txs)}
    items = [(tx.encode(), tx.hash(), accounts[tx.sender_address]) for tx in txs]
    spec = {
        "start_time": time.time(),
        "duration_s": 120,
        "rate": 0,
        "batch": len(items),  # the whole burst in one request
        "gateways": [cluster.url("v0")],
        "in_flight": 1,
    }
    result = asyncio.run(load._send(spec, [items]))
    first_at, first_accepted = result["sent"][0]
    # The pool held nothing of the clients': the first request got exactly the bound in.
    assert len(first_accepted) == BOUND
    assert result["verdicts"]["rate_limited"] >= len(txs) - BOUND
    assert result["verdicts"]["accepted"] == len(txs)
    # The retry waited out the gateway's Retry-After (at least a second).
    assert result["sent"][1][0] - first_at >= 1.0
    for tx in txs:
        cluster.wait(
            lambda tx=tx: cluster.committed("v0", tx.hash().hex()), 60, "the burst to commit"
        )
    assert metric(cluster, 'metanode_mempool_rejected_total{reason="rate_limited"}') >= (
        len(txs) - BOUND
    )
    assert metric(cluster, "metanode_mempool_admitted_total") >= len(txs)


def test_past_the_bound_the_rest_of_a_batch_is_refused_and_then_a_request_is_a_429(
    cluster: Cluster,
) -> None:
    assert metric(cluster, "metanode_mempool_admission_bound") == BOUND
    key = cluster.dev_keys()[0]
    to = Address.from_public_key(cluster.dev_keys()[1].public_key)
    # Nonces far past the account's next one wait in the pool behind the gap, for good: they
    # hold the clients' whole bound.
    gapped = [cluster.transfer(key, 10 + offset, to, 1) for offset in range(BOUND + 5)]
    answer = cluster.client.post(
        cluster.url("v0") + "/api/v1/txs/batch", json={"txs": [tx.encode().hex() for tx in gapped]}
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["accepted"] for r in results] == [True] * BOUND + [False] * 5
    assert all(r["queued"] for r in results[:BOUND])
    assert {r["reason"] for r in results[BOUND:]} == {"rate_limited"}
    assert "at least 30" in results[-1]["detail"]
    assert int(answer.headers["retry-after"]) >= 1

    refused = cluster.transfer(cluster.dev_keys()[2], 0, to, 1)
    answer = cluster.client.post(
        cluster.url("v0") + "/api/v1/txs", json={"tx": refused.encode().hex()}
    )
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) >= 1
    problem = answer.json()
    assert problem["type"].endswith("/rate-limited") and problem["reason"] == "rate_limited"
    assert f"hold {BOUND} pending" in problem["detail"]
    # Refused before the pool: nothing of it is pending.
    assert (
        cluster.client.get(cluster.url("v0") + f"/api/v1/txs/{refused.hash().hex()}").status_code
        == 404
    )
