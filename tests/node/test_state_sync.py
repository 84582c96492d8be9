"""State sync on real processes (node/snapshots.py): a validator whose ledger holds only genesis
joins a running chain from a peer's verified snapshot, block-syncs the rest and agrees; or from
the snapshot of the block its operator trusts (`--trust-height`, `--trust-hash`), whose options
are checked before anything starts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from tests.cli.test_apps_cli import run

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


@pytest.mark.slow
def test_a_validator_joins_from_the_block_its_operator_trusts(tmp_path: Path) -> None:
    """`--trust-height H --trust-hash HASH`: the snapshot of that block is installed, whatever
    newer ones the peers hold."""
    settings = {**SNAPSHOTS, "snapshots_keep": 50}
    with running(tmp_path / "net", settings=settings) as cluster:
        cluster.kill("v3")
        for store in ("ledger", "consensus", "executor"):
            shutil.rmtree(cluster.home / "nodes" / "v3" / store, ignore_errors=True)
        cluster.wait_height(10, ["v0", "v1", "v2"], timeout_s=180)
        trusted = cluster.block("v0", 6)
        cluster.start("v3", "--state-sync", "--trust-height", "6", "--trust-hash", trusted["hash"])
        cluster.wait(lambda: cluster.height("v3") > 0, 180, "v3 to install the trusted snapshot")
        synced = _logged(cluster.log("v3"), "state synced")
        assert len(synced) == 1 and int(synced[0]["height"]) == 6  # type: ignore[call-overload]
        target = cluster.height("v0") + 2
        cluster.wait_height(target, ["v0", "v3"], timeout_s=180)
        assert cluster.block("v3", target)["hash"] == cluster.block("v0", target)["hash"]


@pytest.mark.parametrize(
    "options",
    [
        ("--state-sync", "--trust-height", "6"),
        ("--trust-height", "6", "--trust-hash", "ab" * 32),
        ("--state-sync", "--trust-height", "6", "--trust-hash", "not hex"),
        ("--state-sync", "--trust-height", "0", "--trust-hash", "ab" * 32),
    ],
)
def test_trust_options_are_checked_before_anything_starts(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    done = run("metanode", "start", "--home", str(tmp_path / "none"), *options, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--trust" in done.stderr
    assert not (tmp_path / "none").exists()
