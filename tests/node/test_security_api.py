"""The guard on a real node: a flooding client is throttled, then banned; the operator sees it
in `/api/v1/security` and `bpci security status`, and a pardon lets it back in."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from metanode.cli import bpci
from metanode.guard import record
from metanode.guard.score import Kind
from tests.node.cluster import Cluster


def test_a_flooding_client_is_banned_seen_and_pardoned(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "net", validators=1)
    config = cluster.home / "nodes" / "v0" / "config.toml"
    text = config.read_text()
    # Loopback is allowed by default (a local load generator); here it is the attacker. The
    # node records what its guard saw, with the verdicts, to a file in its home.
    text = text.replace('allow = ["127.0.0.1", "::1"]', 'allow = []\nrecord = "guard-trace.jsonl"')
    config.write_text(text)
    cluster.configure("v0", "client_requests_per_second", 5)
    cluster.configure("v0", "client_burst", 5)
    cluster.start_all()
    try:
        cluster.wait_height(1, timeout_s=60)
        # The wait polled from this address too: let its bucket (5 per second) refill.
        time.sleep(1.5)
        url = cluster.url("v0")
        seen: list[int] = []
        with httpx.Client(timeout=30) as client:
            for _ in range(400):
                seen.append(client.get(f"{url}/api/v1/status").status_code)
                if seen[-1] == 403:
                    break
            assert seen[0] == 200
            assert 429 in seen
            assert seen[-1] == 403
            banned = client.get(f"{url}/api/v1/status")
            assert banned.status_code == 403
            assert banned.json()["type"].endswith("/banned")

            result = CliRunner().invoke(bpci.app, ["security", "status", "--node", url, "--json"])
            assert result.exit_code == 0, result.output
            (me,) = json.loads(result.output)["clients"]
            assert me["subject"] == "client:127.0.0.1"
            assert me["verdict"] == "ban"
            assert me["banned_for_ms"] > 0
            metrics = client.get(f"{url}/metrics")
            assert metrics.status_code == 403  # banned from everything but the operator's routes

            pardoned = client.post(
                f"{url}/api/v1/security/override",
                json={"subject": "127.0.0.1", "action": "pardon"},
            )
            assert pardoned.status_code == 200, pardoned.text
            assert pardoned.json()["verdict"] == "pass"
            assert client.get(f"{url}/api/v1/status").status_code == 200
            text = client.get(f"{url}/metrics").text
            assert 'metanode_guard_bans_total{kind="client"} 1.0' in text
            assert 'metanode_guard_refused_total{kind="client",verdict="throttle"}' in text
    finally:
        cluster.stop_all()
    (section,) = record.load(config.parent / "guard-trace.jsonl")  # closed by the stop
    assert section.allowed == ()
    assert section.outcomes["client:127.0.0.1"] >= {"pass", "throttle", "ban"}
    assert {
        kind for _, subject, kind, _ in section.observations if subject.startswith("client:")
    } >= {Kind.REQUEST, Kind.CONNECT}
