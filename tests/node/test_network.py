"""A 4-validator network of real processes: transfers through the gateways, agreement on every
block (proposed compact: transactions by hash), crashes (kill -9) of one and of two validators,
and restarts that catch up."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from metanode.crypto import ed25519
from metanode.types import Address, Transaction

from .cluster import Cluster, running

RECIPIENT = Address.from_public_key(bytes(32))


@pytest.fixture(scope="module")
def one_validator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One validator's chain with the default pacing, shared by the tests that send at the
    nonces the chain gives (`sent_from_each`, `next_nonce`) and wait for their own
    transactions to commit."""
    with running(tmp_path_factory.mktemp("lone") / "net", validators=1) as cluster:
        yield cluster


def next_nonce(cluster: Cluster, key: ed25519.PrivateKey) -> int:
    """The nonce the chain expects next of `key`'s account (the chain is shared)."""
    address = Address.from_public_key(key.public_key)
    return cluster.get("v0", f"/api/v1/accounts/{address}")["nonce"]


def sent_from_each(cluster: Cluster, per_account: int) -> list[Transaction]:
    """`per_account` transfers to RECIPIENT from every dev account, from its next nonce."""
    return [
        cluster.transfer(key, nonce + n, RECIPIENT, 1 + n)
        for key in cluster.dev_keys()
        for nonce in [next_nonce(cluster, key)]
        for n in range(per_account)
    ]


def committed_hashes(cluster: Cluster, name: str, up_to: int) -> dict[int, list[str]]:
    return {h: cluster.block(name, h)["txs"] for h in range(1, up_to + 1)}


def assert_same_chain(cluster: Cluster, names: list[str], up_to: int) -> None:
    """Every node holds the same block (hash, state root) at every height up to `up_to`."""
    for height in range(1, up_to + 1):
        blocks = {name: cluster.block(name, height) for name in names}
        hashes = {block["hash"] for block in blocks.values()}
        roots = {block["state_root"] for block in blocks.values()}
        assert len(hashes) == 1, f"fork at height {height}: {blocks}"
        assert len(roots) == 1
        assert blocks[names[0]]["certificate"]["height"] == height


def compact_outcomes(cluster: Cluster, name: str) -> dict[str, float]:
    """`metanode_consensus_proposals_compact_total` by outcome, and the transactions fetched."""
    text = cluster.client.get(cluster.url(name) + "/metrics").text
    found = {
        outcome: float(value)
        for outcome, value in re.findall(
            r'^metanode_consensus_proposals_compact_total\{outcome="(\w+)"\} (\S+)$', text, re.M
        )
    }
    fetched = re.search(r"^metanode_consensus_proposal_txs_fetched_total (\S+)$", text, re.M)
    found["txs_fetched"] = float(fetched.group(1)) if fetched else 0.0
    return found


def _late_inclusion_lists(document: dict[str, Any]) -> None:
    """Transactions are listed only after the longest wait governance allows: v0's withheld
    ones, which no other proposer can include, would otherwise make v0 refuse their blocks."""
    parameters = document.setdefault("parameters", {})
    parameters.setdefault("registry", {})["inclusion_wait_blocks"] = 1_000


def test_a_thousand_transfers_through_the_gateways_are_all_committed_and_agreed(
    tmp_path: Path,
) -> None:
    """v0 withholds its clients' transactions from gossip (`[testing] withhold_gossip`): the
    other validators meet them first, by hash, in v0's compact proposals and fetch them."""
    cluster = Cluster(tmp_path / "net")
    cluster.edit_genesis(_late_inclusion_lists)
    withholder = cluster.home / "nodes" / "v0" / "config.toml"
    withholder.write_text(withholder.read_text() + "\n[testing]\nwithhold_gossip = true\n")
    cluster.start_all()
    try:
        cluster.wait_started()
        cluster.wait_height(2)
        txs = cluster.transfers(per_account=50)  # 20 accounts x 50 = 1,000
        assert len(txs) == 1_000
        results = []
        for index, name in enumerate(cluster.names):  # spread over every gateway
            results += cluster.submit(name, txs[index * 250 : (index + 1) * 250])
        assert all(result["accepted"] for result in results), results[:3]
        wanted = {tx.hash().hex() for tx in txs}

        def all_in() -> bool:
            return all(cluster.committed("v0", tx_hash) for tx_hash in sorted(wanted)[-20:])

        cluster.wait(all_in, 120, "the last transfers to commit")
        top = cluster.height("v0")
        cluster.wait_height(top)
        seen = [h for hashes in committed_hashes(cluster, "v0", top).values() for h in hashes]
        assert wanted <= set(seen)
        assert len(seen) == len(set(seen))  # none twice
        assert_same_chain(cluster, cluster.names, top)
        receipt = cluster.get("v1", f"/api/v1/txs/{txs[0].hash().hex()}")
        assert receipt["status"] == "committed"
        assert receipt["receipt"]["code_name"] == "ok"
        # Every proposal went compact; the others rebuilt v0's by fetching its 250 withheld
        # transactions, and the rest from what gossip had brought them; none was refused.
        outcomes = {name: compact_outcomes(cluster, name) for name in cluster.names}
        assert sum(found.get("sent", 0) for found in outcomes.values()) >= top
        assert outcomes["v0"]["txs_fetched"] == 0, outcomes
        for name in ("v1", "v2", "v3"):
            found = outcomes[name]
            assert found.get("fetched", 0) >= 1 and found["txs_fetched"] >= 250, (name, found)
        # Some node rebuilt a proposal wholly from what it held. Not each: which validators
        # propose is a draw, and a slow one's gossip may come after every proposal it meets.
        assert sum(outcomes[name].get("held", 0) for name in ("v1", "v2", "v3")) >= 1, outcomes
        for name, found in outcomes.items():
            assert set(found) <= {"sent", "held", "fetched", "txs_fetched"}, (name, found)
    finally:
        cluster.stop_all()


def test_one_validator_killed_during_load_catches_up_and_nothing_is_lost(tmp_path: Path) -> None:
    with running(tmp_path / "net") as cluster:
        cluster.wait_height(2)
        first = cluster.transfers(per_account=20)
        assert all(r["accepted"] for r in cluster.submit("v0", first))
        cluster.kill("v3")
        second = cluster.transfers(per_account=20, start_nonce=20)
        assert all(r["accepted"] for r in cluster.submit("v1", second))
        before = cluster.height("v0")
        cluster.wait_height(before + 3, ["v0", "v1", "v2"], timeout_s=30)  # still live
        cluster.start("v3")
        target = cluster.height("v0")
        cluster.wait_height(target, ["v3"], timeout_s=120)  # generous: tests assert no timings
        top = min(cluster.height(name) for name in cluster.names)
        assert_same_chain(cluster, cluster.names, top)
        wanted = {tx.hash().hex() for tx in first + second}
        cluster.wait(
            lambda: all(cluster.committed("v3", h) for h in sorted(wanted)[:10]),
            30,
            "v3 to know the committed transfers",
        )
        seen = {h for hashes in committed_hashes(cluster, "v3", top).values() for h in hashes}
        missing = wanted - seen
        if missing:  # the tail may still be in flight: it must commit, not vanish
            cluster.wait(lambda: all(cluster.committed("v3", h) for h in missing), 30, "the tail")


def test_two_of_four_killed_stops_commits_without_a_fork_and_the_chain_resumes(
    tmp_path: Path,
) -> None:
    with running(tmp_path / "net") as cluster:
        cluster.wait_height(3)
        cluster.kill("v2")
        cluster.kill("v3")
        time.sleep(1.5)  # let the block in flight (if any) finish
        stalled = cluster.height("v0")
        time.sleep(4)
        assert cluster.height("v0") <= stalled + 1  # no quorum: at most the in-flight block
        assert cluster.height("v1") <= stalled + 1
        cluster.start("v2")
        cluster.start("v3")
        cluster.wait_height(stalled + 3, timeout_s=60)
        top = min(cluster.height(name) for name in cluster.names)
        assert_same_chain(cluster, cluster.names, top)


def test_a_single_validator_chain_commits_alone(one_validator: Cluster) -> None:
    cluster = one_validator
    cluster.wait_height(3)
    txs = sent_from_each(cluster, per_account=5)
    assert all(r["accepted"] for r in cluster.submit("v0", txs))
    cluster.wait(lambda: all(cluster.committed("v0", tx.hash().hex()) for tx in txs), 30, "commits")


def test_the_events_stream_reports_blocks_and_committed_transactions(
    one_validator: Cluster,
) -> None:
    cluster = one_validator
    cluster.wait_height(1)
    url = cluster.url("v0").replace("http", "ws") + "/api/v1/events"
    with connect(url, open_timeout=10) as stream:
        # Offered by the client, declined: deflating hex hashes cost the loop more than the
        # bytes it saved.
        assert "Sec-WebSocket-Extensions" not in stream.response.headers
        txs = sent_from_each(cluster, per_account=1)
        assert all(r["accepted"] for r in cluster.submit("v0", txs))
        wanted = {tx.hash().hex() for tx in txs}
        heights = []
        while wanted:
            event = json.loads(stream.recv(timeout=20))
            if event["type"] == "block":
                heights.append(event["height"])
            elif event["type"] == "txs":
                wanted -= {item["hash"] for item in event["txs"]}
                assert all(item["code"] == 0 for item in event["txs"])
        assert heights == sorted(heights) and heights


def test_clients_past_their_bound_are_refused_pool_full_and_the_rest_commits(
    tmp_path: Path,
) -> None:
    with running(tmp_path / "net", 1, {"clients_txs_max": 3}) as cluster:
        cluster.wait(lambda: cluster.status("v0") is not None, 30, "the gateway")
        txs = cluster.transfers(per_account=1)[:5]
        results = cluster.submit("v0", txs)  # one slice: it settles in one pass
        assert [r["accepted"] for r in results] == [True] * 3 + [False] * 2
        assert {r["reason"] for r in results[3:]} == {"pool_full"}
        cluster.wait(lambda: cluster.committed("v0", txs[2].hash().hex()), 30, "commit")
        assert not cluster.committed("v0", txs[4].hash().hex())


def test_a_transaction_reaching_an_idle_proposer_is_proposed_without_the_empty_block_delay(
    tmp_path: Path,
) -> None:
    """With an empty pool the proposer waits up to `empty_block_delay_ms` (here the most the
    config allows, 60 s) for transactions; the first to arrive after the gathering time
    (here none) is proposed at once, so the commit comes long before the delay."""
    settings = {"block_gather_ms": 0, "empty_block_delay_ms": 60_000}
    with running(tmp_path / "net", 1, settings) as cluster:
        cluster.wait(lambda: cluster.status("v0") is not None, 30, "the gateway")
        assert cluster.height("v0") == 0  # genesis only: height 1 waits for a transaction
        txs = cluster.transfers(per_account=1)[:1]
        assert cluster.submit("v0", txs)[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v0", txs[0].hash().hex()), 30, "commit")


def test_a_proposer_gathers_transactions_until_a_full_block_is_pending(tmp_path: Path) -> None:
    """Within `block_gather_ms` (here 60 s) a pending transaction waits for more; once a full
    block (`block_txs_max`, here 2) is pending the proposer proposes without waiting further."""
    settings = {"block_gather_ms": 60_000, "empty_block_delay_ms": 60_000, "block_txs_max": 2}
    with running(tmp_path / "net", 1, settings) as cluster:
        cluster.wait(lambda: cluster.status("v0") is not None, 30, "the gateway")
        first, second = cluster.transfers(per_account=1)[:2]
        assert cluster.submit("v0", [first])[0]["accepted"]
        time.sleep(2)
        assert cluster.height("v0") == 0 and not cluster.committed("v0", first.hash().hex())
        assert cluster.submit("v0", [second])[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v0", second.hash().hex()), 30, "commit")
        assert cluster.committed("v0", first.hash().hex())


def test_a_transaction_behind_a_nonce_gap_keeps_the_idle_cadence_until_the_gap_is_filled(
    one_validator: Cluster,
) -> None:
    # Before, one transfer three nonces ahead counted as pending work: every proposal ended at
    # its gathering time (150 ms) instead of the empty-block delay (1 s), about five times the
    # idle cadence, until the transfer expired 1,000 blocks later.
    cluster = one_validator
    cluster.wait_height(2)

    def blocks_in(seconds: float) -> int:
        start = cluster.height("v0")
        time.sleep(seconds)
        return cluster.height("v0") - start

    idle = blocks_in(3)
    key = cluster.dev_keys()[0]
    nonce = next_nonce(cluster, key)
    txs = [cluster.transfer(key, nonce + n, RECIPIENT, 1) for n in range(4)]
    answer = cluster.client.post(
        cluster.url("v0") + "/api/v1/txs", json={"tx": txs[3].encode().hex()}
    )
    assert answer.status_code == 202, answer.text
    admitted = answer.json()
    assert admitted["accepted"] and admitted["queued"], admitted
    assert admitted["queued_reason"] == "nonce_gap" and admitted["next_nonce"] == nonce
    waiting = cluster.get("v0", f"/api/v1/txs/{txs[3].hash().hex()}")
    assert waiting["status"] == "queued" and waiting["next_nonce"] == nonce
    queued = blocks_in(3)
    assert queued < 2 * max(idle, 3), f"{queued} blocks with a queued transfer, {idle} idle"
    results = cluster.submit("v0", txs[:3])
    assert all(r["accepted"] and not r["queued"] for r in results), results
    cluster.wait(
        lambda: all(cluster.committed("v0", tx.hash().hex()) for tx in txs),
        30,
        "the four transfers to commit",
    )
    receipt = cluster.get("v0", f"/api/v1/txs/{txs[3].hash().hex()}")
    assert receipt["status"] == "committed" and receipt["ok"] is True


def test_the_gateway_says_why_garbage_and_failed_transactions_fail(
    one_validator: Cluster,
) -> None:
    cluster = one_validator
    cluster.wait_height(1)
    garbage = cluster.client.post(
        cluster.url("v0") + "/api/v1/txs",
        content=b"garbage bytes!",
        headers={"content-type": "application/cbor"},
    )
    assert garbage.status_code == 400
    problem = garbage.json()
    assert problem["reason"] == "malformed"
    assert "not a transaction: trailing_bytes at byte 8" in problem["detail"], problem
    # A zero amount passes admission and fails when it runs: committed, but failed.
    key = cluster.dev_keys()[0]
    zero = cluster.transfer(key, next_nonce(cluster, key), RECIPIENT, 0)
    assert cluster.submit("v0", [zero])[0]["accepted"]
    cluster.wait(lambda: cluster.committed("v0", zero.hash().hex()), 30, "the zero transfer")
    record = cluster.get("v0", f"/api/v1/txs/{zero.hash().hex()}")
    assert record["status"] == "failed" and record["committed"] is True
    assert record["ok"] is False and record["receipt"]["ok"] is False
    assert record["receipt"]["code_name"] == "bank.amount_must_not_be_zero"
    assert record["receipt"]["fee_charged"] > 0
