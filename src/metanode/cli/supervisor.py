"""`bpci server`'s supervisor: one node as one supervised service (docs/server.md).

Theory of operation. The supervisor owns a node's home while it runs (an exclusive lock on
`server.lock`), logs to `server.log` beside the node's `node.log`, and keeps what it is doing
in `server.json` (written whole and renamed, so a reader never sees half of it), which
`bpci server status` reads. It loops:

1. check the store (`recovery.check_store`) unless `[server] check_store_on_start` is off; a
   store that fails is recovered (`recovery.recover`) before the node may start, so a node
   never signs from a state it has not verified;
2. start the node (`metanode start`) and wait for it to end;
3. a node that ends while the supervisor is not stopping crashed: it is started again after
   `restart_backoff_ms`, doubled for each earlier crash still within `crash_loop_window_s`
   and capped at `restart_backoff_max_ms`; the `crash_loop_restarts_max`th crash within the
   window stops the supervisor (exit 1, state `crash_loop`) with the crashes named. A node
   that refuses its configuration (exit 2) is not restarted: it would refuse again.

Signals: SIGTERM or SIGINT stops the node (SIGTERM, then SIGKILL after `node_stop_grace_s`)
and then the supervisor; SIGHUP re-reads the configuration, takes the new restart settings,
and passes the SIGHUP on to the node, which applies what it can (`Node.reload`). A
configuration that no longer loads is logged and changes nothing.

Nothing here is a pure core: it is the edge that turns a node process into a service, so the
decisions a test wants to pin (the backoff, the crash-loop limit) are small functions.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from metanode.errors import ConfigError
from metanode.node import logs

from . import forked, network

# pydantic's config models load only once a supervisor runs: `bpci` imports this module (via
# cli/server.py) at every start.
if TYPE_CHECKING:
    from metanode.node import config as node_config

log = logging.getLogger("metanode.server")
STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
LOG_FILE = "server.log"
# How long a stopping node may take before it is killed (it stops within its own deadline,
# api/server.py, well inside this).
node_stop_grace_s = 20.0
poll_interval_s = 0.1
# Exit codes of the supervisor: 0 stopped when asked, 1 crash loop or no recovery, 2 the node
# refused its configuration (output.py's rule).
NODE_USAGE_EXIT = 2


def backoff_ms(settings: node_config.Server, recent_crashes: int) -> int:
    """The wait before restarting after the `recent_crashes`th crash within the window."""
    doubled = settings.restart_backoff_ms << min(max(recent_crashes - 1, 0), 32)
    return min(doubled, settings.restart_backoff_max_ms)


def recent(crashes: collections.deque[float], now: float, window_s: int) -> int:
    """Forget the crashes older than the window; the count of those left."""
    while crashes and now - crashes[0] > window_s:
        crashes.popleft()
    return len(crashes)


def cause_of(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


@dataclass
class ServerState:
    """What `server.json` holds."""

    home: str
    supervisor_pid: int
    state: str = "starting"  # checking, recovering, running, backoff, stopped, crash_loop, failed
    detail: str = ""
    roles: list[str] = field(default_factory=list)
    node_pid: int | None = None
    started_at: str = field(default_factory=now_iso)
    node_started_at: str | None = None
    restarts: int = 0
    last_restart: dict[str, Any] | None = None
    recoveries: list[dict[str, Any]] = field(default_factory=list)


def read_state(home: Path) -> dict[str, Any] | None:
    try:
        return json.loads((home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def running_pid(home: Path) -> int | None:
    """The supervisor's pid if one holds the home's lock, else None."""
    try:
        with (home / LOCK_FILE).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        state = read_state(home)
        return None if state is None else int(state["supervisor_pid"])
    except OSError:
        return None
    return None


class Supervisor:
    def __init__(self, home: Path) -> None:
        from metanode.node import config as node_config  # noqa: PLC0415 - see TYPE_CHECKING

        self.home = home
        self.config_path = home / "config.toml"
        self.config = node_config.load(self.config_path)  # refused before anything starts
        self.state = ServerState(str(home), os.getpid(), roles=list(self.config.server.roles))
        self.node: forked.Child | None = None
        self._crashes: collections.deque[float] = collections.deque()
        self._stopping = False
        self._reload = False

    @contextlib.contextmanager
    def owning_home(self) -> Iterator[None]:
        with (self.home / LOCK_FILE).open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held = read_state(self.home) or {}
                raise ConfigError(
                    f"a server already runs for {self.home} (supervisor pid "
                    f"{held.get('supervisor_pid', '?')}); `bpci server stop --home {self.home}`"
                ) from None
            yield

    def run(self, *, console: bool) -> int:
        with self.owning_home():
            log_settings = self.config.log
            logs.setup(
                self.home,
                log_settings.level,
                file_bytes_max=log_settings.file_bytes_max,
                files_max=log_settings.files_max,
                console=console,
                file_name=LOG_FILE,
            )
            signal.signal(signal.SIGTERM, self._on_stop)
            signal.signal(signal.SIGINT, self._on_stop)
            signal.signal(signal.SIGHUP, self._on_reload)
            forked.preload()  # once here, not in every restart's new process (cli/forked.py)
            log.info(
                "server started",
                extra={"home": str(self.home), "roles": ", ".join(self.config.server.roles)},
            )
            try:
                code = self._supervise()
            finally:
                self._end_node()
            log.info("server stopped", extra={"state": self.state.state})
            return code

    def _on_stop(self, sig: int, _frame: object) -> None:
        log.info("stopping on %s", signal.Signals(sig).name)
        self._stopping = True

    def _on_reload(self, _sig: int, _frame: object) -> None:
        self._reload = True

    def _set(self, state: str, detail: str = "") -> None:
        self.state.state, self.state.detail = state, detail
        path = self.home / STATE_FILE
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(asdict(self.state), indent=2) + "\n")
        partial.replace(path)

    def _supervise(self) -> int:
        while not self._stopping:
            if not self._start_from_a_verified_store():
                return 1
            if self._stopping:
                break
            returncode = self._run_node()
            if returncode is None:  # stopped when asked
                break
            cause = cause_of(returncode)
            said = _last_printed(self.home)  # the next start truncates stderr.log
            if returncode == NODE_USAGE_EXIT:
                log.error("the node refused its configuration; not restarting it: %s", said)
                self._set("failed", f"the node {cause}: it refused its configuration: {said}")
                return NODE_USAGE_EXIT
            settings = self.config.server
            self._crashes.append(time.monotonic())
            crashes = recent(self._crashes, time.monotonic(), settings.crash_loop_window_s)
            if crashes >= settings.crash_loop_restarts_max:
                detail = (
                    f"crash loop: the node crashed {crashes} times within "
                    f"{settings.crash_loop_window_s} s (crash_loop_restarts_max "
                    f"{settings.crash_loop_restarts_max}), the last {cause}; not restarting it. "
                    f"See node.log and stderr.log in {self.home}, fix, then start the server again"
                )
                log.critical(detail)
                self._set("crash_loop", detail)
                return 1
            wait_ms = backoff_ms(settings, crashes)
            self.state.restarts += 1
            self.state.last_restart = {
                "at": now_iso(),
                "cause": cause,
                "last_printed": said,
                "backoff_ms": wait_ms,
            }
            log.warning(
                "the node crashed; restarting it",
                extra={
                    "cause": cause,
                    "last_printed": said,
                    "backoff_ms": wait_ms,
                    "crashes_in_window": crashes,
                },
            )
            self._set("backoff", f"the node {cause}; restarting in {wait_ms} ms")
            self._sleep(wait_ms / 1000)
        self._set("stopped", "stopped when asked")
        return 0

    def _start_from_a_verified_store(self) -> bool:
        if not self.config.server.check_store_on_start:
            return True
        # The store (LMDB, the state table) loads in the supervisor only, not in every command
        # that imports server's (`bpci server status`: cli/ start-up)
        from . import recovery  # noqa: PLC0415

        self._set("checking", "checking the store against its certified chain")
        began = time.monotonic()
        problem = recovery.check_store(self.home, cancelled=lambda: self._stopping)
        log.info(
            "store checked",
            extra={"s": round(time.monotonic() - began, 3), "ok": problem is None},
        )
        if problem is None:
            return True
        log.critical(
            "the store failed its check; the node will not start or sign from it",
            extra={"problem": problem},
        )
        self._set("recovering", f"the store failed its check: {problem}")
        try:
            done = recovery.recover(self.home, problem)
        except recovery.RecoveryFailed as error:
            log.critical("recovery failed: %s", error)
            self._set("failed", f"the store failed its check ({problem}) and {error}")
            return False
        log.warning("store recovered", extra={"how": done})
        self.state.recoveries.append({"at": now_iso(), "problem": problem, "done": done})
        return True

    def _run_node(self) -> int | None:
        """Run the node until it ends (its exit code) or the supervisor stops (None)."""
        with (self.home / logs.STDERR_FILE).open("wb") as stderr:
            self.node = forked.metanode(network.node_args(self.home), stderr)
        self.state.node_pid = self.node.pid
        self.state.node_started_at = now_iso()
        log.info("node started", extra={"pid": self.node.pid})
        self._set("running")
        while (returncode := self.node.poll()) is None:
            if self._stopping:
                self._end_node()
                return None
            if self._reload:
                self._reload = False
                self._reload_config()
            time.sleep(poll_interval_s)
        self.node = None
        self.state.node_pid = None
        log.warning("the node ended", extra={"cause": cause_of(returncode)})
        return returncode

    def _reload_config(self) -> None:
        from metanode.node import config as node_config  # noqa: PLC0415 - as in __init__

        try:
            new = node_config.load(self.config_path)
        except ConfigError as error:
            log.error("reload refused, the running settings stay: %s", error)
            return
        pending = node_config.changed_needing_restart(self.config, new)
        server = new.server.model_copy(update={"roles": self.config.server.roles})
        self.config = self.config.model_copy(update={"server": server, "log": new.log})
        logging.getLogger().setLevel(new.log.level.upper())
        if self.node is not None:
            self.node.send_signal(signal.SIGHUP)
        log.info(
            "configuration reloaded",
            extra={"pending_restart": ", ".join(pending) or "none"},
        )

    def _end_node(self) -> None:
        node, self.node = self.node, None
        if node is None or node.poll() is not None:
            return
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(node_stop_grace_s)
        except subprocess.TimeoutExpired:
            log.error("the node did not stop within %.0f s; killing it", node_stop_grace_s)
            node.kill()
            node.wait()
        self.state.node_pid = None

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(poll_interval_s, max(0.0, deadline - time.monotonic())))


def detach(home: Path, out: TextIO) -> subprocess.Popen[bytes]:
    """Start `bpci server start` for `home` in the background, in a session of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "metanode.cli.bpci", "server", "start", "--home", str(home)],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _last_printed(home: Path) -> str:
    """The node's last line on stderr: the CLI's one-line reason when it refuses to start."""
    try:
        lines = (home / logs.STDERR_FILE).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
