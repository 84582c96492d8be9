"""`bpci server` on real processes: a 4-validator dev network (tests/node/cluster.py) with one
node under the supervisor, real kills, a real store file corrupted on disk, real probes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metanode.cli import recovery, supervisor
from metanode.state.store import LEDGER_DIR
from tests.node.cluster import Cluster
from tests.node.test_network import assert_same_chain

SUPERVISED = "v0"
PAGE_BYTES = 4096


def bpci(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metanode.cli.bpci", "server", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def set_server(cluster: Cluster, name: str, setting: str, value: str) -> None:
    """Set one line of a node's [server] section (config.toml writes every setting out)."""
    path = cluster.home / "nodes" / name / "config.toml"
    lines = path.read_text().splitlines()
    start = lines.index("[server]")
    at = [i for i, line in enumerate(lines) if i > start and line.startswith(f"{setting} = ")]
    if at:
        lines[at[0]] = f"{setting} = {value}"
    else:  # a setting written out only when set
        lines.insert(start + 1, f"{setting} = {value}")
    path.write_text("\n".join(lines) + "\n")


def ready(cluster: Cluster, name: str) -> tuple[int, dict[str, Any]] | None:
    try:
        answer = cluster.client.get(cluster.url(name) + "/ready")
        return answer.status_code, answer.json()
    except (httpx.HTTPError, ValueError):
        return None


def is_ready(cluster: Cluster, name: str) -> bool:
    answered = ready(cluster, name)
    return answered is not None and answered[0] == 200


def state(cluster: Cluster) -> dict[str, Any]:
    return supervisor.read_state(cluster.home / "nodes" / SUPERVISED) or {}


def status(cluster: Cluster) -> dict[str, Any]:
    done = bpci("status", "--home", str(cluster.home / "nodes" / SUPERVISED), "--json")
    return json.loads(done.stdout)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Cluster]:
    """v1..v3 as bare node processes; v0 left for the test to start under a supervisor."""
    cluster = Cluster(tmp_path / "net", 4)
    for name in cluster.names[1:]:
        cluster.start(name)
    try:
        yield cluster
    finally:
        home = cluster.home / "nodes" / SUPERVISED
        pid = supervisor.running_pid(home)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            cluster.wait(lambda: supervisor.running_pid(home) is None, 60, "the supervisor")
        cluster.stop_all()


def test_a_lone_node_is_alive_but_not_ready_naming_peers_and_roles_left_out_are_off(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path / "net", 4)
    set_server(cluster, "v1", "roles", '["executor"]')
    config = cluster.home / "nodes" / "v1" / "config.toml"
    lines = config.read_text().splitlines(keepends=True)  # its faucet needs the gateway
    config.write_text("".join(line for line in lines if not line.startswith("faucet_key_file")))
    try:
        cluster.start("v0")
        cluster.wait(lambda: ready(cluster, "v0") is not None, 60, "v0's gateway")
        assert cluster.client.get(cluster.url("v0") + "/health").json()["status"] == "alive"
        code, body = ready(cluster, "v0")  # type: ignore[misc]
        assert code == 503 and body["type"].endswith("/not-ready")
        assert body["failing"] == ["peers: 0 peers connected; ready_peers_min is 1"]
        assert "peers: 0 peers connected" in body["detail"]
        metrics = cluster.client.get(cluster.url("v0") + "/metrics").text
        assert "metanode_node_ready 0.0" in metrics
        assert 'metanode_node_ready_check{check="peers"} 0.0' in metrics
        assert 'metanode_node_ready_check{check="store"} 1.0' in metrics

        cluster.start("v1")
        cluster.wait(lambda: is_ready(cluster, "v0"), 60, "v0 to be ready with a peer")
        cluster.wait(lambda: is_ready(cluster, "v1"), 60, "v1 to be ready")
        refused = cluster.client.get(cluster.url("v1") + "/api/v1/blocks/latest")
        assert refused.status_code == 403 and refused.json()["type"].endswith("/role-off")
        # The operator's reads stay; v1 is in the validator set, but signs nothing.
        assert cluster.status("v1")["validator"] is False  # type: ignore[index]
        assert cluster.status("v0")["validator"] is True  # type: ignore[index]
        assert cluster.client.get(cluster.url("v0") + "/api/v1/blocks/latest").status_code in (
            200,
            404,
        )
    finally:
        cluster.stop_all()


@pytest.mark.slow
def test_a_node_killed_under_the_supervisor_is_back_and_ready_with_nothing_lost_and_a_crash_loop_stops(  # noqa: E501
    network: Cluster,
) -> None:
    cluster = network
    home = cluster.home / "nodes" / SUPERVISED
    started = bpci("start", "--home", str(home), "--detach", "--json")
    assert started.returncode == 0, started.stderr
    cluster.wait(lambda: is_ready(cluster, SUPERVISED), 120, "the supervised node to be ready")
    cluster.wait_height(3, cluster.names, timeout_s=120)
    sent = cluster.transfers(per_account=10)
    assert all(result["accepted"] for result in cluster.submit(SUPERVISED, sent))
    cluster.wait(
        lambda: all(cluster.committed("v1", tx.hash().hex()) for tx in sent[-3:]),
        120,
        "the transfers to commit",
    )
    before = cluster.height(SUPERVISED)

    killed_at = time.monotonic()
    os.kill(state(cluster)["node_pid"], signal.SIGKILL)
    cluster.wait(lambda: state(cluster).get("restarts") == 1, 60, "a restart")
    cluster.wait(lambda: is_ready(cluster, SUPERVISED), 120, "the restarted node to be ready")
    back_s = time.monotonic() - killed_at
    assert cluster.height(SUPERVISED) >= before
    # Ready allows a lag of a few blocks: the last transfers may land a moment later.
    cluster.wait(
        lambda: all(cluster.committed(SUPERVISED, tx.hash().hex()) for tx in sent),
        60,
        "every transfer sent before the kill to be committed on the restarted node",
    )
    top = min(cluster.height(name) for name in cluster.names)
    assert_same_chain(cluster, cluster.names, top)
    report = status(cluster)
    assert report["running"] and report["state"] == "running" and report["ready"]
    assert report["last_restart"]["cause"] == "killed by SIGKILL"
    assert report["restarts"] == 1 and report["node_pid"] != report["supervisor_pid"]
    assert report["roles"]["validator"] == "signing" and report["lag"] is not None
    print(f"back and ready {back_s:.1f} s after kill -9 (the issue asks for 10 s alone)")

    # A reload takes new readiness bounds and crash-loop limit without a restart.
    node_pid = state(cluster)["node_pid"]
    set_server(cluster, SUPERVISED, "crash_loop_restarts_max", "2")
    set_server(cluster, SUPERVISED, "ready_peers_min", "4")  # 3 peers is now too few
    assert bpci("reload", "--home", str(home)).returncode == 0
    cluster.wait(lambda: not is_ready(cluster, SUPERVISED), 30, "the reloaded bound")
    _, body = ready(cluster, SUPERVISED)  # type: ignore[misc]
    assert body["failing"] == ["peers: 3 peers connected; ready_peers_min is 4"]
    assert state(cluster)["node_pid"] == node_pid  # not restarted
    # The next crash is the second within the window: the supervisor stops and says so.
    os.kill(state(cluster)["node_pid"], signal.SIGKILL)
    cluster.wait(lambda: supervisor.running_pid(home) is None, 60, "the supervisor to give up")
    assert state(cluster)["state"] == "crash_loop"
    assert "crashed 2 times within 300 s" in state(cluster)["detail"]
    assert "crash loop" in (home / supervisor.LOG_FILE).read_text()


@pytest.mark.slow
def test_a_corrupt_store_is_never_started_from_and_the_node_recovers_and_rejoins(
    network: Cluster,
) -> None:
    cluster = network
    home = cluster.home / "nodes" / SUPERVISED
    assert bpci("start", "--home", str(home), "--detach").returncode == 0
    cluster.wait_height(4, cluster.names, timeout_s=120)
    assert bpci("stop", "--home", str(home)).returncode == 0

    data = home / LEDGER_DIR / "data.mdb"
    with data.open("r+b") as file:  # a pattern in the middle of every page past LMDB's metas
        for page in range(2, data.stat().st_size // PAGE_BYTES):
            file.seek(page * PAGE_BYTES + PAGE_BYTES // 2)
            file.write(b"\xa5" * 64)
    assert recovery.check_store(home) is not None

    assert bpci("start", "--home", str(home), "--detach").returncode == 0
    log = (home / supervisor.LOG_FILE).read_text()
    assert "the store failed its check; the node will not start or sign from it" in log
    (aside,) = (home / recovery.QUARANTINE_DIR).iterdir()
    assert (aside / "WHY").read_text().strip()
    target = max(cluster.height(name) for name in cluster.names[1:]) + 2
    cluster.wait_height(target, [SUPERVISED], timeout_s=180)
    cluster.wait(lambda: is_ready(cluster, SUPERVISED), 120, "the recovered node to be ready")
    report = status(cluster)
    assert report["recoveries"][0]["done"].startswith("resync: set the failed store aside")
    top = min(cluster.height(name) for name in cluster.names)
    assert_same_chain(cluster, cluster.names, top)

    # It kept its consensus record, which is above its new empty store: it signed nothing
    # below the record's height (tests/node/test_signing_after_recovery.py shows the rule).
    text = (home / "node.log").read_text()
    since_restart = text[text.rindex('"node started"') :]
    assert "the consensus record is ahead of the store; signing nothing below it" in since_restart

    # Rejoined: it signs again (a proposal is signed; each validator proposes in turn).
    def proposes() -> bool:
        text = (home / "node.log").read_text()
        return "proposal made" in text[text.rindex('"node started"') :]

    cluster.wait(proposes, 180, "the recovered validator to propose")
