"""Stopping real node processes at random moments under load: nothing may touch the store
after it closes (issue 15, items 3 and 11), so no log holds a traceback or an error."""

from __future__ import annotations

import contextlib
import random
import re
import signal
import threading
import time
from pathlib import Path

import httpx

from .cluster import Cluster, running

# Moments to stop at; on the code before the fix 3 stops of 4 nodes found a timer or a request
# that touched the closed store every time.
STOPS = 3
SEED = 15
ERROR = re.compile(r'Traceback|lmdb\.Error|"level":"(error|critical)"|\bERROR\b|\bCRITICAL\b')


def load(cluster: Cluster, stop: threading.Event) -> None:
    """A light, steady load of transfers on every gateway (answers and failures ignored: the
    nodes are being stopped under it)."""
    nonce = 0
    while not stop.is_set():
        txs = cluster.transfers(per_account=1, start_nonce=nonce)
        for name in cluster.names:
            with contextlib.suppress(httpx.HTTPError):
                cluster.submit(name, txs)
        nonce += 1
        stop.wait(0.05)


def test_nodes_stopped_at_random_moments_under_load_log_no_error(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    # Short waits, so that gathering and empty-block timers are pending at any moment.
    settings = {"block_gather_ms": 50, "empty_block_delay_ms": 200}
    with running(tmp_path / "net", settings=settings) as cluster:
        for stop_number in range(STOPS):
            # Generous: four restarted nodes import and start on a loaded machine (60 s ran out
            # at a load average of 20 on two cores); only the stops are the claim.
            cluster.wait_height(cluster.height("v0") + 2, timeout_s=240)
            stop = threading.Event()
            loader = threading.Thread(target=load, args=(cluster, stop), daemon=True)
            loader.start()
            time.sleep(rng.uniform(0.2, 1.5))
            sig = rng.choice([signal.SIGTERM, signal.SIGINT])
            processes = dict(cluster.processes)
            for process in processes.values():
                process.send_signal(sig)
            codes = {name: process.wait(30) for name, process in processes.items()}
            stop.set()
            loader.join()
            for name in cluster.names:
                found = [line for line in cluster.log(name).splitlines() if ERROR.search(line)]
                assert not found, (stop_number, sig.name, name, found[:5])
            assert set(codes.values()) == {0}, (stop_number, sig.name, codes)
            cluster.processes.clear()
            if stop_number < STOPS - 1:
                cluster.start_all()
