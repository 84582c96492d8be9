"""`metanode` commands in children forked from the supervisor (cli/forked.py): real forks, a
real store; the child's output, exit code and signals as a new process's would be."""

from __future__ import annotations

import fcntl
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from metanode.cli import forked
from metanode.state.store import LEDGER_DIR, Store
from tests.state.support import make_genesis
from tests.state.test_store import commit_block, transfers


def run(args: list[str]) -> tuple[int, str]:
    with tempfile.TemporaryFile("w+") as out:
        code = forked.metanode(args, out).wait(120)
        out.seek(0)
        return code, out.read()


def test_a_forked_check_says_what_a_new_process_says_with_its_exit_code(tmp_path: Path) -> None:
    assert run(["store", "check", "--home", str(tmp_path)]) == (
        2,
        f"metanode store check: no ledger store in {tmp_path / LEDGER_DIR}\n",
    )
    with Store.open(tmp_path / LEDGER_DIR, make_genesis()) as store:
        commit_block(store, transfers(store, 2), certificate=True)
    code, said = run(["store", "check", "--home", str(tmp_path)])
    assert code == 0 and said.startswith("store ok: height=1 "), said
    code, said = run(["store", "check", "--home", str(tmp_path), "--invariants"])
    assert code == 2 and "--full" in said


def test_a_forked_child_is_signalled_waited_for_and_killed_as_popen_is(tmp_path: Path) -> None:
    # `metanode logs --follow` waits for lines that never come: a child that runs until told.
    (tmp_path / "config.toml").write_text("")  # a node's dir: only its node.log is read
    (tmp_path / "node.log").write_text("")
    with tempfile.TemporaryFile("w+") as out:
        child = forked.metanode(["logs", "--home", str(tmp_path), "--follow"], out)
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(0.5)
        assert child.poll() is None
        child.send_signal(signal.SIGTERM)
        assert child.wait(60) == -signal.SIGTERM
        child.kill()  # ended already: nothing to signal
        assert child.returncode == -signal.SIGTERM


def lockable(path: Path, within_s: float) -> bool:
    """Whether `path` can be locked within `within_s` (a child that just forked holds what
    its parent held until it closes it)."""
    deadline = time.monotonic() + within_s
    with path.open("a") as again:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(again, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            return True
    return False


def test_a_forked_child_holds_none_of_the_supervisors_files(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    (tmp_path / "node.log").write_text("")
    lock = (tmp_path / "server.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with tempfile.TemporaryFile("w+") as out:
        child = forked.metanode(["logs", "--home", str(tmp_path), "--follow"], out)
        try:
            lock.close()  # the supervisor's end; its child must not keep the lock
            assert lockable(tmp_path / "server.lock", within_s=20)
            assert child.poll() is None
        finally:
            child.kill()
            child.wait(60)
