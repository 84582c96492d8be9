"""A node whose stop hangs exits by itself and logs where it hung (`api.server`'s watchdog), in a
real process: the watchdog ends it with `os._exit`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HANGS = """
import sys, threading, time
from pathlib import Path
from metanode.api import server
from metanode.node import logs

logs.setup(Path(sys.argv[1]), "info", file_bytes_max=1 << 20, files_max=1, console=True)

def joined_at_exit_but_never_ends() -> None:
    threading.Event().wait()

threading.Thread(target=joined_at_exit_but_never_ends, name="stuck-worker").start()
server._exit_if_still_running_after(0.2, "v1")
time.sleep(60)
"""


def test_a_stop_that_hangs_is_forced_and_its_log_names_the_waiting_thread(tmp_path: Path) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", HANGS, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ended.returncode == 1, ended.stderr
    [forced] = [
        json.loads(line)
        for line in (tmp_path / "node.log").read_text().splitlines()
        if "forced exit" in line
    ]
    assert forced["level"] == "error" and forced["node"] == "v1"
    stacks = forced["traceback"]
    assert "thread stuck-worker:" in stacks and "joined_at_exit_but_never_ends" in stacks
    assert "thread MainThread:" in stacks
    # The console form prints the stacks as a block under the line, as it does a traceback.
    assert "forced exit: still stopping 0 s" in ended.stderr
    assert "joined_at_exit_but_never_ends" in ended.stderr
