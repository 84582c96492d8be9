"""`metanode store check` on a running node: a real validator process commits blocks while the
check, in its own process, re-executes the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.node.cluster import running

METANODE = str(Path(sys.executable).parent / "metanode")


def test_store_check_beside_a_node_that_commits(tmp_path: Path) -> None:
    # Empty blocks every 20 ms: several commits land during every check.
    settings = {"empty_block_delay_ms": 20, "block_gather_ms": 0}
    with running(tmp_path / "net", validators=1, settings=settings) as cluster:
        cluster.wait_height(50, timeout_s=120)
        node_dir = cluster.home / "nodes" / "v0"
        overlapped = 0
        for _ in range(4):
            before = cluster.height("v0")
            result = subprocess.run(
                [
                    METANODE,
                    "store",
                    "check",
                    "--home",
                    str(node_dir),
                    "--full",
                    "--skip-signatures",
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            after = cluster.height("v0")
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("replay ok: height=")
            overlapped += after > before
        assert overlapped == 4, "the node did not commit during every check"
