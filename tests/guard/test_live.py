"""bench/security.py --live, briefly: a real network of validator processes loaded by honest
clients, first alone and then beside the attackers; the figures line is whole and no honest
client or validator was banned by any guard. Figures are not asserted: they depend on the
machine (docs/security.md "Measured" has them)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from metanode.guard import record

BENCH = Path(__file__).parents[2] / "bench" / "security.py"
LAST = re.compile(
    r"^precision=([\d.]+) recall=([\d.]+) false_bans=(\d+) honest_tps_ratio=([\d.]+) "
    r"tps_clean=([\d.]+) tps_attacked=([\d.]+) honest_committed_ratio=([\d.]+) "
    r"attackers_seen=(\d)/6$"
)


@pytest.mark.slow
def test_a_short_live_run_prints_the_figures_and_bans_no_honest_subject(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, str(BENCH), "--live",
            "--validators", "2",
            "--seconds", "10",
            "--rate", "40",
            "--accounts", "40",
            "--attackers-each", "1",
            "--keep", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    figures = LAST.match(lines[-1])
    assert figures, lines[-1]
    assert int(figures[3]) == 0  # false bans
    assert float(figures[5]) > 0 and float(figures[6]) > 0
    assert any(
        line.startswith("replay: precision=") and "normal=recorded" in line for line in lines
    )
    # The recordings it measured on: every validator's view, the honest load in each.
    for run in ("clean", "attacked"):
        sections = record.load(tmp_path / run / "trace.jsonl")
        assert len(sections) == 2
        for section in sections:
            assert {"client:127.0.0.2", "client:127.0.0.3"} <= set(section.outcomes)
            assert "ban" not in section.outcomes["client:127.0.0.2"]
