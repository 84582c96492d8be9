"""State sync on real processes (node/snapshots.py): a validator whose ledger holds only genesis
joins a running chain from a peer's verified snapshot, block-syncs the rest and agrees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from .cluster import running

SNAPSHOTS = {"snapshot_interval_blocks": 3}


def _logged(cluster_log: str, message: str) -> list[dict[str, object]]:
    lines = []
    for line in cluster_log.splitlines():
        if line.startswith("{") and f'"{message}"' in line:
            lines.append(json.loads(line))
    return lines


@pytest.mark.slow
def test_a_validator_joins_by_state_sync_and_agrees(tmp_path: Path) -> None:
    with running(tmp_path / "net", settings=SNAPSHOTS) as cluster:
        cluster.kill("v3")
        for store in ("ledger", "consensus", "executor"):  # whatever it had begun to write
            shutil.rmtree(cluster.home / "nodes" / "v3" / store, ignore_errors=True)
        cluster.wait_height(1, ["v0", "v1", "v2"], timeout_s=120)
        cluster.submit("v0", cluster.transfers(10))
        cluster.wait_height(8, ["v0", "v1", "v2"], timeout_s=180)
        cluster.start("v3", "--state-sync")
        cluster.wait(lambda: cluster.height("v3") > 0, 180, "v3 to install a snapshot")
        target = cluster.height("v0") + 2
        cluster.wait_height(target, ["v0", "v3"], timeout_s=180)
        assert cluster.block("v3", target)["hash"] == cluster.block("v0", target)["hash"]
        synced = _logged(cluster.log("v3"), "state synced")
        assert len(synced) == 1 and int(synced[0]["height"]) >= 6  # type: ignore[call-overload]
        # It holds no block below its snapshot: it never replayed them.
        answer = httpx.get(cluster.url("v3") + "/api/v1/blocks/1", timeout=10)
        assert answer.status_code == 404
