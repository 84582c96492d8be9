"""App state hand-over and catching up, on real processes (issue 17).

With the test clusters' 1-block epochs (tests/node/cluster.py) the executor draw changes between
batches of calls. An executor drawn anew asks the replicas for the app's state (every node runs
with `replay_calls_max = 0`, so every gap is asked for), checks it against the replica's receipt
and answers the calls: every call is answered by both of its replicas, they agree, and every
receipt is notarised. An executor killed
while its calls are committed runs them when it comes back and rejoins the LogBlocks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.test_apps_e2e import REPLICAS, calls, deploy_counter, logblocks, network, served
from tests.node.cluster import Cluster

pytestmark = pytest.mark.slow
BATCHES = 6
PER_BATCH = 5


def submit(cluster: Cluster, app_id: bytes, count: int, start: int) -> None:
    results = cluster.submit("v0", calls(cluster, app_id, count, start))
    assert all(result["accepted"] for result in results), results
    app = app_id.hex()
    cluster.wait(
        lambda: cluster.get("v0", f"/api/v1/apps/{app}")["calls"] == start + count,
        30,
        "the calls on chain",
    )


def notarised(cluster: Cluster, app: str, count: int) -> bool:
    found = logblocks(cluster, app)
    return bool(found) and found[-1]["last_seq"] >= count - 1


def test_executors_drawn_anew_take_the_state_over_and_answer_every_call(tmp_path: Path) -> None:
    with network(tmp_path / "net", settings={"replay_calls_max": 0}) as cluster:
        cluster.wait_height(1)
        app_id = deploy_counter(cluster, tmp_path)
        app = app_id.hex()
        for batch in range(BATCHES):
            submit(cluster, app_id, PER_BATCH, batch * PER_BATCH)
            # The next batch is included in a later block: another epoch, another draw.
            cluster.wait_height(cluster.height("v0") + 1)
        total = BATCHES * PER_BATCH
        cluster.wait(lambda: notarised(cluster, app, total), 120, "LogBlocks covering every call")

        receipts = served(cluster, app)
        assert sorted(receipts) == list(range(total))
        for seq, pair in receipts.items():
            assert len(pair) == REPLICAS, (seq, pair)
            assert len({receipt["state_root_after"] for receipt in pair}) == 1, seq
            assert int.from_bytes(bytes.fromhex(pair[0]["output"]), "little") == seq + 1
        draws = {frozenset(receipt["node"] for receipt in pair) for pair in receipts.values()}
        assert len(draws) > 1, "the draw never changed"
        assert sum(block["leaves"] for block in logblocks(cluster, app)) == REPLICAS * total

        handed = [name for name in cluster.names if "app state handed over" in cluster.log(name)]
        assert handed, "no executor took a state over"
        metrics = cluster.client.get(cluster.url(handed[0]) + "/metrics").text
        installed = re.search(
            r'metanode_executor_handovers_total\{outcome="installed"\} (\S+)', metrics
        )
        assert installed is not None and float(installed.group(1)) >= 1


def test_an_executor_runs_the_calls_committed_while_it_was_down(tmp_path: Path) -> None:
    with network(tmp_path / "net", epoch_blocks=100_000) as cluster:
        cluster.wait_height(1)
        app_id = deploy_counter(cluster, tmp_path)
        app = app_id.hex()
        submit(cluster, app_id, 1, 0)
        cluster.wait(lambda: notarised(cluster, app, 1), 60, "the first call notarised")
        drawn = set(cluster.get("v0", f"/api/v1/apps/{app}")["executors"])
        ids = {cluster.get(name, "/api/v1/status")["node_id"]: name for name in cluster.names}
        victim = sorted(ids[address] for address in drawn if ids[address] != "v0")[0]

        cluster.kill(victim)
        submit(cluster, app_id, 5, 1)
        # The other replica's receipts alone are notarised once the silent one's wait is over.
        cluster.wait(lambda: notarised(cluster, app, 6), 60, "calls 1..5 notarised")

        cluster.start(victim)
        cluster.wait(
            lambda: (
                [receipt["seq"] for receipt in served_by(cluster, victim, app)] == list(range(6))
            ),
            60,
            f"{victim} to run the calls committed while it was down",
        )
        # Its receipts of 1..5 were left out of the LogBlocks: its next one chains to its last
        # notarised receipt, and the chain takes it.
        submit(cluster, app_id, 1, 6)
        cluster.wait(lambda: notarised(cluster, app, 7), 60, "call 6 notarised")
        assert logblocks(cluster, app)[-1]["leaves"] == REPLICAS


def served_by(cluster: Cluster, name: str, app: str) -> list[dict]:
    try:
        return cluster.get(name, f"/api/v1/apps/{app}/receipts?limit=500")["receipts"]
    except Exception:
        return []  # not up yet
