"""`metanode start | up | logs` on real processes: taken ports refused before anything starts
(exit 2), `up` exiting when its nodes cannot start (exit 1), Ctrl-C with open connections, a
forced kill that is logged, and reading the logs (issue 15, items 3, 5 and 8)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from websockets.sync.client import connect

from metanode.net.ports import free_port_block
from metanode.node import home as dev_home

METANODE = [sys.executable, "-m", "metanode.cli.main"]
# A command run with SIGINT ignored, which it inherits through exec.
SIGINT_IGNORED = ["sh", "-c", 'trap "" INT; exec "$0" "$@"']
# Generous: a loaded 2-core machine starts four nodes in 5-20 s.
START_S = 90


@contextlib.contextmanager
def occupied(port: int) -> Iterator[None]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        yield


def dev_network(tmp_path: Path, validators: int = 2) -> tuple[Path, int]:
    base = free_port_block(2 * validators)
    home = tmp_path / "net"
    dev_home.init_dev(
        home, validators=validators, accounts=1, port_base=base, api_port_base=base + validators
    )
    return home, base


def test_start_with_its_p2p_port_taken_names_the_port_and_exits_2(tmp_path: Path) -> None:
    home, base = dev_network(tmp_path)
    with occupied(base):
        done = subprocess.run(
            [*METANODE, "start", "--home", str(home / "nodes" / "v0")],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"v0: P2P port {base} on 127.0.0.1 is in use" in line
    assert "[p2p.listen] port" in line and "config.toml" in line


def test_up_beside_taken_ports_names_each_and_exits_2_without_starting(tmp_path: Path) -> None:
    home, base = dev_network(tmp_path)
    with occupied(base + 1), occupied(base + 2):  # v1's P2P port, v0's gateway port
        done = subprocess.run(
            [*METANODE, "up", "--home", str(home)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in done.stderr
    assert f"v0: gateway API and /metrics port {base + 2}" in lines[0]
    assert "--api-port-base" in lines[0]
    assert f"v1: P2P port {base + 1}" in lines[1] and "--port-base" in lines[1]
    assert not (home / "nodes" / "v0" / "ledger").exists()  # nothing started


def test_up_exits_1_with_the_reason_when_a_node_exits_while_starting(tmp_path: Path) -> None:
    home, _ = dev_network(tmp_path)
    config = home / "nodes" / "v1" / "config.toml"
    config.write_text(config.read_text().replace('genesis = "', 'genesis = "missing/'))
    started = time.monotonic()
    done = subprocess.run(
        [*METANODE, "up", "--home", str(home)],
        check=False,
        capture_output=True,
        text=True,
        timeout=START_S,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "v1 exited (2) while starting" in done.stdout  # its config names no genesis: usage
    assert "cannot read the genesis file" in done.stdout
    assert time.monotonic() - started < START_S
    assert "Traceback" not in done.stdout + done.stderr


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, IndexError):
            if entry.isdigit() and int(Path(f"/proc/{entry}/stat").read_text().split()[3]) == pid:
                found.append(int(entry))
    return found


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def kill_all(pids: list[int]) -> None:
    """What a failed test leaves running (the processes it started, by their ids)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def start_up(home: Path, api_port: int) -> subprocess.Popen[str]:
    up = subprocess.Popen(
        [*METANODE, "up", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            if httpx.get(f"http://127.0.0.1:{api_port}/api/v1/status").json()["height"] >= 2:
                return up
        assert up.poll() is None, up.stdout.read() if up.stdout else ""
        time.sleep(0.3)
    up.kill()
    raise AssertionError("the network did not reach height 2")


def test_ctrl_c_with_open_connections_stops_every_process(tmp_path: Path) -> None:
    home, base = dev_network(tmp_path)
    up = start_up(home, base + 2)
    nodes = children(up.pid)
    everything = [up.pid, *nodes, *(pid for node in nodes for pid in children(node))]
    try:
        with (
            connect(f"ws://127.0.0.1:{base + 2}/api/v1/events") as events,
            connect(f"ws://127.0.0.1:{base + 3}/api/v1/events"),
            httpx.Client() as keep_alive,
        ):
            keep_alive.get(f"http://127.0.0.1:{base + 3}/api/v1/status")
            assert json.loads(events.recv(timeout=30))["type"] == "block"
            up.send_signal(signal.SIGINT)
            output, _ = up.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while not all(gone(pid) for pid in everything) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(gone(pid) for pid in everything)
        assert up.returncode == 0, output
        assert "stopped; `metanode up` again resumes this chain" in output
        log = "\n".join((home / "nodes" / name / "node.log").read_text() for name in ("v0", "v1"))
        assert '"message":"node stopped"' in log
        if "killed" in output:  # the forced path may be taken on a loaded machine: logged
            assert '"message":"killed: still running' in log
    finally:
        kill_all(everything)


def test_a_node_that_does_not_stop_is_killed_and_the_kill_is_logged(tmp_path: Path) -> None:
    home, base = dev_network(tmp_path)
    up = start_up(home, base + 2)
    nodes = children(up.pid)
    try:
        stuck = next(pid for pid in nodes if "nodes/v1" in Path(f"/proc/{pid}/cmdline").read_text())
        os.kill(stuck, signal.SIGSTOP)  # it cannot act on SIGTERM
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=60)
        assert up.returncode == 0
        assert "v1 killed: still running" in output
        [killed] = [
            json.loads(line)
            for line in (home / "nodes" / "v1" / "node.log").read_text().splitlines()
            if "killed" in line
        ]
        assert killed["level"] == "warning" and killed["node"] == "v1"
        assert all(gone(pid) for pid in nodes)
    finally:
        kill_all(nodes)


def test_logs_shows_readable_lines_json_lines_and_follows_until_ctrl_c(tmp_path: Path) -> None:
    home, _ = dev_network(tmp_path)
    node_dir = home / "nodes" / "v1"
    (node_dir / "node.log").write_text(
        '{"time":"2026-01-01T10:00:00.000Z","level":"info","logger":"metanode.node",'
        '"message":"committed","height":5,"txs":2}\n'
    )
    readable = subprocess.run(
        [*METANODE, "logs", "--home", str(home), "--node", "v1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert readable.returncode == 0, readable.stderr
    assert readable.stdout == "10:00:00.000 INFO     metanode.node: committed  height=5 txs=2\n"
    raw = subprocess.run(
        [*METANODE, "logs", "--home", str(home), "--json"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert json.loads(raw.stdout)["height"] == 5
    # Started with SIGINT ignored, as a shell without job control starts a background command
    # (a CI step's `make test &`): Ctrl-C must end following all the same.
    following = [*METANODE, "logs", "--home", str(home), "--node", "v1", "--follow", "--json"]
    follow = subprocess.Popen(
        [*SIGINT_IGNORED, *following],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stdout is not None
        assert json.loads(follow.stdout.readline())["height"] == 5
        with (node_dir / "node.log").open("a") as log:
            log.write('{"time":"2026-01-01T10:00:01.000Z","level":"info","message":"next"}\n')
        assert json.loads(follow.stdout.readline())["message"] == "next"
        follow.send_signal(signal.SIGINT)
        assert follow.wait(30) == 0
    finally:
        follow.kill()
    unknown = subprocess.run(
        [*METANODE, "logs", "--home", str(home), "--node", "v9"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert unknown.returncode != 0 and "no node 'v9'" in unknown.stderr
