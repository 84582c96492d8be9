"""Latency and jitter on a kernel without netem (docs/decisions/testnet-shaping.md): run in a
host's namespace, this process takes the packets its iptables NFQUEUE rule queues (what the
host sends on eth0) and lets each go after `delay_ms` ± `jitter_ms`, drawn from `seed` in the
order the packets come, so packets overtake one another as under netem's jitter.

    ip netns exec NS python -m metanode.testnet.delay --delay-ms D --jitter-ms J --seed S \\
        --log-dir DIR

It binds queue `QUEUE`, prints `bound` on stdout once packets reach it, and on SIGTERM lets
every packet it holds go before it exits (a packet left unjudged would be dropped).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import logging
import random
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import fnfqueue

from metanode.node import logs

log = logging.getLogger("metanode.testnet.delay")
QUEUE = 0
HELD_MAX = 100_000  # packets the kernel holds for us before it drops (netem's limit is 1000)
COPY_BYTES = 128  # the headers: the packet itself is never read
LOG_FILE = "delay.log"
WAKE_S = 0.05


class Delayer:
    """Packets from `connection` released at their due time, earliest first."""

    def __init__(self, delay_ms: int, jitter_ms: int, seed: int) -> None:
        if delay_ms < 0 or not 0 <= jitter_ms <= delay_ms:
            raise ValueError(
                f"delay {delay_ms} ms with jitter {jitter_ms} ms: need 0 ≤ jitter ≤ delay"
            )
        self.delay_s = delay_ms / 1000
        self.jitter_s = jitter_ms / 1000
        self.draw = random.Random(seed)  # a test harness's delays: never consensus
        self.held: list[tuple[float, int, fnfqueue.Packet]] = []
        self.order = itertools.count()
        self.changed = threading.Condition()
        self.stopping = False
        self.released = 0

    def due(self, arrived: float) -> float:
        return arrived + self.delay_s + self.draw.uniform(-self.jitter_s, self.jitter_s)

    def take(self, connection: fnfqueue.Connection) -> None:
        """Hold every packet that comes (the reading thread)."""
        for packet in connection:
            with self.changed:
                heapq.heappush(self.held, (self.due(time.monotonic()), next(self.order), packet))
                self.changed.notify()

    def release(self) -> None:
        """Let each packet go at its time; once stopping, let all go (the main thread)."""
        with self.changed:
            while not self.stopping:
                wait = self.held[0][0] - time.monotonic() if self.held else WAKE_S
                if wait > 0:
                    # Bounded: a SIGTERM only sets `stopping`, seen at the next wake.
                    self.changed.wait(min(wait, WAKE_S))
                    continue
                heapq.heappop(self.held)[2].accept()
                self.released += 1
            while self.held:
                heapq.heappop(self.held)[2].accept()
                self.released += 1

    def stop(self) -> None:
        self.stopping = True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m metanode.testnet.delay")
    parser.add_argument("--delay-ms", type=int, required=True)
    parser.add_argument("--jitter-ms", type=int, default=0)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logs.setup(args.log_dir, "info", file_bytes_max=1 << 20, files_max=1, console=False,
               file_name=LOG_FILE)  # fmt: skip
    delayer = Delayer(args.delay_ms, args.jitter_ms, args.seed)

    def stop(_signal: int, _frame: FrameType | None) -> None:
        delayer.stop()

    signal.signal(signal.SIGTERM, stop)
    connection = fnfqueue.Connection()
    queue = connection.bind(QUEUE)
    queue.set_mode(COPY_BYTES, fnfqueue.COPY_META)
    queue.set_maxlen(HELD_MAX)
    threading.Thread(target=delayer.take, args=(connection,), daemon=True).start()
    log.info("delaying", extra={"delay_ms": args.delay_ms, "jitter_ms": args.jitter_ms,
                                "seed": args.seed})  # fmt: skip
    print("bound", flush=True)
    delayer.release()
    connection.close()
    log.info("stopped", extra={"released": delayer.released})


if __name__ == "__main__":
    main(sys.argv[1:])
