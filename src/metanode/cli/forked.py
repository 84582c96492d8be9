"""A command of the `metanode` CLI run in a child forked from `bpci server`'s supervisor, in
place of a new interpreter (docs/server.md "Restart time").

Why: a node process spent about 2.3 s of CPU importing its modules before it did anything (85%
of its CPU up to "node started", py-spy), and the store check about 1 s; on a loaded host
(load average 20 on two cores) that was 10-20 s of a restart after kill -9. The supervisor
imports those modules once, when it starts (`preload`), and forks each node and each store
check from itself: the child has every module in memory already, and it is still a process of
its own, so a crash in it (a torn page of the store) is the child's alone.

The child runs in a session of its own with stdin on /dev/null and stdout and stderr on the
file it is given, the supervisor's signal handlers and log handlers undone, and ends with the
command's exit code (`os._exit`: it must never return into the supervisor's stack). `Child`
answers the part of `subprocess.Popen` the supervisor uses.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
import time
import traceback
from typing import IO

# What `metanode start` and `metanode store check` load, most only once they run.
PRELOADED = (
    "metanode.cli.main",
    "metanode.cli.store",
    "metanode.node.storecheck",
    "metanode.state.store",
    "metanode.api.server",
)
poll_interval_s = 0.05


def preload() -> None:
    for module in PRELOADED:
        importlib.import_module(module)


class Child:
    """A forked child, as `subprocess.Popen` shows one (a negative return code: the signal)."""

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(poll_interval_s)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def metanode(args: list[str], out: IO[bytes] | IO[str]) -> Child:
    """`metanode ARGS` in a forked child writing to `out`."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return Child(pid, ["metanode", *args])
    code = 1
    try:
        os.setsid()
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        # Nothing else of the supervisor's: above all not its lock on the home, which a node
        # left running by a killed supervisor would hold on to (a new process inherits none).
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        # The supervisor's sys.stdout and sys.stderr need not be descriptors 1 and 2 (a test
        # harness captures them elsewhere): the command's output goes to `out` whatever they were.
        sys.stdout = open(1, "w", closefd=False, buffering=1)  # noqa: SIM115 - the process's own
        sys.stderr = open(2, "w", closefd=False, buffering=1)  # noqa: SIM115
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        root = logging.getLogger()
        for handler in list(root.handlers):  # the supervisor's server.log
            root.removeHandler(handler)
        from metanode.cli import main  # noqa: PLC0415 - preloaded; the child's own entry point

        sys.argv = ["metanode", *args]
        main.main()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # a crash of the command: its traceback, as a new process prints
        traceback.print_exc()
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
