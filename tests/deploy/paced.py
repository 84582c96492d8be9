"""A paced client that offers one pre-signed transaction a request at a fixed rate over TLS,
lean enough to reach 200 a second on a shared 2-core machine (issue 27's HAProxy run: the slow
test in tests/deploy/test_haproxy.py and `python -m bench.server --front-s S` both use it).

Theory of operation. Everything a request needs is built before the clock starts: each
transaction's HTTP/1.1 request (head and body) is one `bytes`, and every connection has done its
TLS handshake. The calling process is the pacer: it hands request `i` to a worker at `start +
i / rate` (at once when behind), running the event of index `i`, if any, just before. The
workers are forked processes (one interpreter lock each), each with CONNECTIONS_PER_WORKER
threads that own one kept-alive TLS connection apiece: a thread writes the request's bytes and
reads the answer with the standard library's `http.client.HTTPResponse`. An account's requests
all go to one worker.

httpx's AsyncClient cost 5-10 ms of CPU a request here (cProfile: httpcore's pool checks every
connection for each request, and asks `import sniffio`, not installed, which searches sys.path
anew each time), which capped it at 15 a second; this client spends a few hundred µs.

What a request's answer means to the client:
- 202: admitted; while `quiet` (before the first event) the answering node, `X-Served-By`, is
  noted for the account, to check sticky routing;
- 400 naming a reason in `HELD` (a node holds or committed it: a retry, or a resend of what a
  node admitted before its answer was lost): admitted;
- anything else, or a failed connection: counted by cause and retried after `retry_wait_s`
  (on a new connection if the old one failed), or after the answer's `Retry-After` when it is
  longer (a 429), up to `retries_max` times, then counted as given up.

A node that admits a transaction and is killed before it passes it on loses it, and the
account's next nonces wait behind the gap wherever they go: queued (202 `queued`) up to
`[mempool] nonce_gap_max` ahead, then refused `nonce_gap_too_large`. Both answers name the
nonce the node lacks (`next_nonce`); as a wallet does, the client then sends that transaction
again if it had it admitted before (counted), and retries a refused one at once.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import http.client
import json
import multiprocessing
import multiprocessing.connection
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

# A node answers `duplicate` for a transaction in its pool, `nonce_too_low` for one committed.
HELD = ("duplicate", "nonce_too_low")
WORKERS = 4
# Each thread waits for its answer, so the client offers its rate only while WORKERS *
# CONNECTIONS_PER_WORKER covers the rate times the answers' time (Little's law): at 200 a
# second, up to about a second, as a loaded 2-core machine answers at the kill.
CONNECTIONS_PER_WORKER = 48
# HAProxy closes a client connection idle for 5 s (`timeout http-keep-alive`); one idle for
# this long is opened anew rather than raced against that close.
IDLE_S_MAX = 4.0
PATH = "/api/v1/txs"


@dataclasses.dataclass(frozen=True)
class Request:
    account: str  # what X-Metanode-Account names: the front routes on it
    nonce: int
    raw: bytes  # the whole HTTP/1.1 request


@dataclasses.dataclass(frozen=True)
class Target:
    host: str
    port: int
    ca: Path  # the certificate the front presents, trusted alone
    retries_max: int
    retry_wait_s: float


def requests(host: str, port: int, bodies: list[tuple[str, int, bytes]]) -> list[Request]:
    """Each (account, nonce, encoded transaction) as a ready request to POST /api/v1/txs."""
    return [
        Request(
            account,
            nonce,
            (
                f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: application/cbor\r\nX-Metanode-Account: {account}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body,
        )
        for account, nonce, body in bodies
    ]


@dataclasses.dataclass
class Report:
    """What one worker saw."""

    counts: collections.Counter[str]
    served: dict[str, set[str]]  # account -> the nodes that admitted it while quiet
    first_sent_last: float  # monotonic time its last request was first written
    cpu_s: float
    admission_ms: list[int]  # from each request's first write to its outcome
    done_last: float  # monotonic time it had every outcome


class Connection:
    """One kept-alive TLS connection to the front, opened again after a failure, a
    `Connection: close` answer or a long idle."""

    def __init__(self, target: Target, context: ssl.SSLContext) -> None:
        self.target = target
        self.context = context
        self.sock: ssl.SSLSocket | None = None
        self.used = 0.0

    def open(self) -> ssl.SSLSocket:
        raw = socket.create_connection((self.target.host, self.target.port), timeout=30)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.context.wrap_socket(raw, server_hostname=self.target.host)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def exchange(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Write one request and read its answer: (status, headers in lower case, body)."""
        now = time.monotonic()
        if self.sock is not None and now - self.used > IDLE_S_MAX:
            self.close()
        if self.sock is None:
            self.sock = self.open()
        self.used = now
        try:
            self.sock.sendall(raw)
            answer = http.client.HTTPResponse(self.sock, method="POST")  # type: ignore[arg-type]
            answer.begin()
            body = answer.read()
        except BaseException:
            self.close()
            raise
        if answer.will_close:
            self.close()
        return answer.status, {key.lower(): value for key, value in answer.getheaders()}, body


def document_of(body: bytes) -> dict[str, object]:
    """An answer's JSON object; empty if it has none."""
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def reason_of(status: int, document: dict[str, object]) -> str:
    """The mempool's reason a problem names, else the problem's type, else nothing."""
    if status < 400:
        return ""
    return str(document.get("reason") or str(document.get("type", "")).rsplit("/", 1)[-1])


class Worker:
    """A forked process sending the requests it is handed, from CONNECTIONS_PER_WORKER
    threads."""

    def __init__(self, target: Target, table: list[Request], quiet: ctypes.c_byte) -> None:
        self.target = target
        self.table = table
        self.position = {(r.account, r.nonce): index for index, r in enumerate(table)}
        self.quiet = quiet
        self.admitted: set[int] = set()  # indices of `table` a node answered it holds
        self.filling: set[int] = set()  # those being sent again, by some thread
        self.counts: collections.Counter[str] = collections.Counter()
        self.served: dict[str, set[str]] = collections.defaultdict(set)
        self.first_sent_last = 0.0
        self.admission_ms: list[int] = []
        self.lock = threading.Lock()
        self.work: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def run(self, orders: multiprocessing.connection.Connection) -> None:
        context = ssl.create_default_context(cafile=str(self.target.ca))
        connections = [Connection(self.target, context) for _ in range(CONNECTIONS_PER_WORKER)]
        for connection in connections:  # handshakes before the clock starts
            connection.sock = connection.open()
            connection.used = time.monotonic()
        threads = [threading.Thread(target=self.serve, args=(c,)) for c in connections]
        for thread in threads:
            thread.start()
        orders.send(None)  # ready
        while (index := orders.recv()) is not None:
            self.work.put(index)
        for _ in threads:
            self.work.put(None)
        for thread in threads:
            thread.join()
        for connection in connections:
            connection.close()
        orders.send(
            Report(
                self.counts,
                dict(self.served),
                self.first_sent_last,
                time.process_time(),
                self.admission_ms,
                time.monotonic(),
            )
        )

    def serve(self, connection: Connection) -> None:
        while (index := self.work.get()) is not None:
            first_sent = time.monotonic()
            with self.lock:
                self.first_sent_last = max(self.first_sent_last, first_sent)
            outcome = self.send(connection, index)
            with self.lock:
                self.counts[outcome] += 1
                self.admission_ms.append(round((time.monotonic() - first_sent) * 1000))

    def send(self, connection: Connection, index: int) -> str:
        """Send request `index` until a node holds it: how it ended."""
        request = self.table[index]
        for _ in range(self.target.retries_max):
            wait_s = self.target.retry_wait_s
            try:
                status, headers, body = connection.exchange(request.raw)
            except (OSError, http.client.HTTPException) as error:
                cause = type(error).__name__
            else:
                document = document_of(body)
                reason = reason_of(status, document)
                if status == 202 or (status == 400 and reason in HELD):
                    with self.lock:
                        self.admitted.add(index)
                        if status == 202 and self.quiet.value:
                            self.served[request.account].add(headers["x-served-by"])
                    if document.get("queued"):
                        self.fill(connection, request.account, document.get("next_nonce"))
                    return "admitted" if status == 202 else f"admitted ({reason} on a retry)"
                cause = f"{status} {reason}".strip()
                after = headers.get("retry-after", "")
                if after.isdigit():
                    wait_s = max(wait_s, int(after))
                if reason == "nonce_gap_too_large" and self.fill(
                    connection, request.account, document.get("next_nonce")
                ):
                    wait_s = 0
            with self.lock:
                self.counts[f"retried after {cause}"] += 1
            time.sleep(wait_s)
        return "gave up"

    def fill(self, connection: Connection, account: str, nonce: object) -> bool:
        """Send again `account`'s transaction of `nonce`, which a node lacks, if a node had
        admitted it before (and lost it: killed before passing it on). Whether it did."""
        index = self.position.get((account, nonce))  # type: ignore[arg-type]
        with self.lock:
            if index not in self.admitted or index in self.filling:
                return False
            self.filling.add(index)
        assert index is not None
        outcome = self.send(connection, index)
        with self.lock:
            self.filling.discard(index)
            self.counts[f"sent again after its node lost it: {outcome}"] += 1
        return True


def start_worker(
    context: multiprocessing.context.ForkContext,
    target: Target,
    table: list[Request],
    quiet: ctypes.c_byte,
) -> tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]:
    ours, theirs = context.Pipe()
    worker = Worker(target, table, quiet)
    process = context.Process(target=worker.run, args=(theirs,), daemon=True)
    process.start()
    theirs.close()
    return process, ours


def send_paced(
    target: Target,
    table: list[Request],
    rate_per_s: int,
    events: dict[int, Callable[[], None]],
) -> collections.Counter[str]:
    """Send each request of `table` until it is admitted, request `i` due `i / rate_per_s` s after
    the start, running each of `events` before the request of its index (so that they fall
    in the load whatever rate a busy machine lets the client reach). Returns the outcomes by
    cause, and the figures: the rate requests were first sent at, the client's CPU (all its
    processes) per request, and how sticky the routing was until the first event."""
    # Forked, not spawned: the workers run only this module's code on what they inherit,
    # and a spawned interpreter would import the caller's whole module tree again.
    context = multiprocessing.get_context("fork")
    quiet = context.RawValue(ctypes.c_byte, 1)
    accounts = sorted({request.account for request in table})
    worker_of = {account: index % WORKERS for index, account in enumerate(accounts)}
    workers = [start_worker(context, target, table, quiet) for _ in range(WORKERS)]
    try:
        for _, orders in workers:
            orders.recv()  # connected
        cpu = time.process_time()
        started = time.monotonic()
        for index, request in enumerate(table):
            delay = started + index / rate_per_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if index in events:
                quiet.value = 0
                events[index]()
            workers[worker_of[request.account]][1].send(index)
        offered_in_s = time.monotonic() - started
        for _, orders in workers:
            orders.send(None)
        reports: list[Report] = [orders.recv() for _, orders in workers]
        cpu_s = time.process_time() - cpu + sum(report.cpu_s for report in reports)
    finally:
        for process, orders in workers:
            orders.close()
            process.join(30)
            if process.exitcode is None:
                process.kill()
                process.join()
    counts: collections.Counter[str] = collections.Counter()
    served: dict[str, set[str]] = collections.defaultdict(set)
    for report in reports:
        counts.update(report.counts)
        for account, nodes in report.served.items():
            served[account] |= nodes
    sent_in_s = max(report.first_sent_last for report in reports) - started
    # The client's own CPU per request, all its processes: 1e6 / this is the most one whole
    # core lets it send a second, whatever the front and the nodes do.
    counts["client CPU µs per request"] = round(cpu_s * 1e6 / len(table))
    # Offered: handed to the workers, which only the pacer's own CPU holds back. Sent: first
    # written, below offered once every thread waits for an answer.
    counts["offered per second"] = round(len(table) / offered_in_s)
    counts["sent per second"] = round(len(table) / sent_in_s)
    # Below the rate sent when the nodes answer slower than requests come.
    done_in_s = max(report.done_last for report in reports) - started
    counts["admitted per second"] = round(len(table) / done_in_s)
    admission_ms = sorted(ms for report in reports for ms in report.admission_ms)
    counts["admission ms, median"] = admission_ms[len(admission_ms) // 2]
    counts["admission ms, 99th percentile"] = admission_ms[len(admission_ms) * 99 // 100]
    counts["accounts served by more than one node before the kill"] = sum(
        len(nodes) > 1 for nodes in served.values()
    )
    counts["nodes serving before the kill"] = len(set().union(*served.values()))
    return counts
