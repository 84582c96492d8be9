from __future__ import annotations

import subprocess
import sys
from pathlib import Path

METANODE = Path(sys.executable).parent / "metanode"


def test_up_says_in_one_line_that_the_network_is_not_built_yet(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(METANODE), "up", "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "not built yet" in lines[0]
    assert not (tmp_path / "home").exists()
