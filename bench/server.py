"""`bpci server`'s figures on real processes (issue 27): the recovery after kill -9 (back and
ready within 10 s), and the rate a client reaches through HAProxy while a node is killed.

    python -m bench.server [--height H] [--kills K]    (from the repository's root)
    python -m bench.server --front-s S

A 4-validator dev network (tests/node/cluster.py): v1..v3 bare node processes, v0 under
`bpci server start --detach`. Once the chain is past height H with transfers in it, v0's node
is killed with SIGKILL K times (each time once it is ready again); each recovery is timed from
the kill to v0's `GET /ready` answering 200, and split by the supervisor's and the node's logs
into the backoff, the store check, the node's start (process start to its "node started"
line) and the wait to be ready (peers, sync). The figure is of the machine it runs on: on the
shared 2-core VM other work slows every phase.

Last line: recovery_s=… (the slowest of the K) check_s=… start_s=… ready_s=… height=…

With `--front-s S`: tests/deploy/test_haproxy.py's run instead (4 validators behind HAProxy, the
paced client of tests/deploy/paced.py sending one pre-signed transfer a request at 200 a second
for S seconds, the last node killed after a quarter and restarted after half). Last line:
offered_per_s=… (the rate the client's pacer handed requests to its senders) sent_per_s=…
(the rate they were first written at, lower once every sender waits for an answer)
admitted_per_s=… (the rate they were admitted at, lower while the nodes answer slower than
requests come)
client_cpu_us_per_request=… (all the client's processes; 1e6 / it is the most one whole core
lets the client send) admission_ms_p99=… admitted=… lost=… gave_up=….
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.deploy import test_haproxy
from tests.node.cluster import Cluster

from metanode.cli import supervisor

SUPERVISED = "v0"
TIMEOUT_S = 300.0


def log_entries(path: Path, message: str, after: datetime.datetime) -> list[dict[str, Any]]:
    """The lines of the JSON log at `path` with `message` written after `after`."""
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == message:
            entry["at"] = datetime.datetime.fromisoformat(entry["time"])
            if entry["at"] > after:
                entries.append(entry)
    return entries


def ready(cluster: Cluster) -> bool:
    try:
        return cluster.client.get(cluster.url(SUPERVISED) + "/ready").status_code == 200
    except httpx.HTTPError:  # a node starting refuses connections: keep polling
        return False


def recover_once(cluster: Cluster, home: Path) -> dict[str, float]:
    pid = (supervisor.read_state(home) or {})["node_pid"]
    killed = datetime.datetime.now(datetime.UTC)
    started = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    cluster.wait(
        lambda: (supervisor.read_state(home) or {}).get("node_pid") not in (None, pid),
        TIMEOUT_S,
        "the supervisor to restart the node",
    )
    cluster.wait(lambda: ready(cluster), TIMEOUT_S, "the restarted node to be ready")
    total = time.monotonic() - started
    (launched,) = log_entries(home / supervisor.LOG_FILE, "node started", killed)
    (checked,) = log_entries(home / supervisor.LOG_FILE, "store checked", killed)
    (up,) = log_entries(home / "node.log", "node started", killed)
    return {
        "recovery_s": total,
        "check_s": checked["s"],
        "start_s": (up["at"] - launched["at"]).total_seconds(),
        "ready_s": total - (up["at"] - killed).total_seconds(),
    }


def front(load_s: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        outcome = test_haproxy.kill_under_load(Path(directory), load_s)
    counts = outcome.counts
    print(dict(counts))
    print(
        f"offered_per_s={counts['offered per second']} "
        f"sent_per_s={counts['sent per second']} "
        f"admitted_per_s={counts['admitted per second']} "
        f"client_cpu_us_per_request={counts['client CPU µs per request']} "
        f"admission_ms_p99={counts['admission ms, 99th percentile']} "
        f"admitted={counts['admitted']} lost={len(outcome.lost)} gave_up={counts['gave up']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=20)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--front-s", type=int, default=0)
    arguments = parser.parse_args()
    if arguments.front_s:
        front(arguments.front_s)
        return
    with tempfile.TemporaryDirectory() as directory:
        cluster = Cluster(Path(directory) / "net", 4)
        home = cluster.home / "nodes" / SUPERVISED
        for name in cluster.names[1:]:
            cluster.start(name)
        server = [sys.executable, "-m", "metanode.cli.bpci", "server"]
        try:
            subprocess.run(
                [*server, "start", "--home", str(home), "--detach"], check=True, timeout=TIMEOUT_S
            )
            cluster.wait_height(2, cluster.names, timeout_s=TIMEOUT_S)
            cluster.submit(SUPERVISED, cluster.transfers(per_account=5))
            cluster.wait_height(arguments.height, cluster.names, timeout_s=TIMEOUT_S)
            cluster.wait(lambda: ready(cluster), TIMEOUT_S, "v0 to be ready")
            runs = []
            for _ in range(arguments.kills):
                runs.append(recover_once(cluster, home))
                print({key: round(value, 2) for key, value in runs[-1].items()}, flush=True)
            height = cluster.height(SUPERVISED)
        finally:
            subprocess.run([*server, "stop", "--home", str(home)], timeout=TIMEOUT_S, check=False)
            cluster.stop_all()
    worst = max(runs, key=lambda run: run["recovery_s"])
    print(" ".join(f"{key}={value:.2f}" for key, value in worst.items()) + f" height={height}")


if __name__ == "__main__":
    main()
