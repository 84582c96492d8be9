"""A real process running the service is killed mid-stream; a new one resumes after the last
committed call and every receipt, old and new, is the one an uninterrupted run signs."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from .helpers import COUNTER_ID, call, running

CALLS = 100
CHILD = f"""
import sys, time
from pathlib import Path
from tests.executor.helpers import call, running

def report(published):
    print(published.seq, flush=True)
    time.sleep(0.002)  # slow enough that the parent's kill lands mid-stream

with running(Path(sys.argv[1]), publish=report) as service:
    for start in range(0, {CALLS}, 10):  # a block's calls commit together: ten a block
        service.on_committed([call(seq) for seq in range(start, start + 10)])
    service.wait_idle()
"""


def test_a_killed_executor_resumes_without_re_signing(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "killed")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if int(line) >= 40:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    with running(tmp_path / "killed") as service:
        resumed_at = service.store.head(COUNTER_ID)
        assert resumed_at is not None and 40 <= resumed_at.seq < CALLS - 1
        service.on_committed([call(seq) for seq in range(CALLS)])
        service.wait_idle()
        resumed = service.store.receipts(COUNTER_ID, 0, CALLS)
    with running(tmp_path / "whole") as service:
        service.on_committed([call(seq) for seq in range(CALLS)])
        service.wait_idle()
        whole = service.store.receipts(COUNTER_ID, 0, CALLS)
    assert resumed == whole
    assert len(whole) == CALLS
