"""`metanode light` usage errors exit 2 with a line that says what to do, before any network
is asked (the verifying paths run against a real node in tests/light/test_network.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def light(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "metanode"), "light", *argv, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    done = light(tmp_path, "init", "--trust", "7:abc", "--primary", "http://127.0.0.1:9")
    assert done.returncode == 2 and "64 hex characters" in done.stderr
    done = light(tmp_path, "sync")
    assert done.returncode == 2 and "metanode light init" in done.stderr
    assert not (tmp_path / "light.json").exists()
