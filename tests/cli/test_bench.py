"""`metanode bench` end to end on a small run: a fresh network of real validator processes,
pre-signed load through the gateways, and a report whose figures hang together."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metanode.cli.bench import _cpu_seconds
from tests.cli.test_metanode_cli import run

FIGURES = re.compile(
    r"^validators=1 tps=(\d+) p50_ms=(\d+) p99_ms=(\d+) limit_tps=(\d+) ratio=([\d.]+) "
    r"rss_mb=(\d+)$"
)


def test_a_short_bench_commits_what_it_offers_and_reports_the_figures_line(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = run(
        "bench",
        "--validators", "1",
        "--duration", "6",
        "--rate", "150",
        "--accounts", "12",
        "--txs", "1200",
        "--out", str(out),
        timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    figures = FIGURES.match(last)
    assert figures, last
    report = json.loads((out / "report.json").read_text())
    summary = {key: value for key, value in report.items() if not isinstance(value, list)}
    assert report["validators_alive"] == 1, summary
    assert report["presigned_before_window"] is True, summary
    # Below capacity everything accepted in the window is committed, and the TPS is near the
    # rate offered (pacing, a 6 s window and a loaded CI machine allow some slack).
    assert report["accepted_in_window"] > 0, summary
    assert report["committed_of_accepted_in_window"] == report["accepted_in_window"], summary
    assert 40 <= report["tps"] <= 200, summary
    assert 0 < report["p50_ms"] <= report["p99_ms"], summary
    assert report["limit_tps"] > 0 and report["ratio"] == report["tps"] / report["limit_tps"]
    assert int(figures.group(1)) == round(report["tps"])
    assert 0 < report["cores_used_by_validators"] <= report["cores"] * 1.05, summary
    assert report["cores_used_by_load"] > 0, summary
    assert report["validators_cpu_us_per_tx"] == pytest.approx(
        report["cores_used_by_validators"] / report["tps"] * 1e6
    )
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_bad_rate_is_refused_with_a_message_that_names_it(tmp_path: Path) -> None:
    result = run("bench", "--rate", "fast", "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "--rate 'fast'" in result.stdout + result.stderr


def test_cpu_seconds_count_a_process_and_its_live_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        counted = _cpu_seconds(os.getpid())
        own = time.process_time()
    finally:
        child.kill()
        child.wait()
    assert own <= counted + 0.05  # /proc counts in clock ticks of 10 ms
    assert counted - own >= 0.3  # the busy child had at least a third of a core for 1 s
    assert _cpu_seconds(child.pid) == 0.0  # gone
