"""Ed25519 verification beside the caller, started while a batch is still being read.

With the compiled core (the default, `metanode.core`) every chunk goes to one of two threads,
which cross into Rust once per chunk and verify it on the core's own threads with the GIL
released: the caller's Python work and the signature checks run on both cores at once, without
processes or pipes. A thread needs the GIL back once a chunk, and while the caller runs Python
it gets it only at the interpreter's switch interval (5 ms): chunks are therefore large (the
mempool's are 256), and a batch's future is completed by the thread that finishes its last
chunk. With the reference (`METANODE_CORE=python`) chunks go to worker processes, for the
reason below.

Why processes and not threads: libsodium's verification releases the GIL, but a thread needs
the GIL back after every signature, and while the caller's thread runs Python (decoding the
next transactions, a node's event loop) it gets it only at the interpreter's switch interval.
Measured on this machine (2026-12-01, PyNaCl's verification, one signature a call): two
verification threads take 40 µs a signature beside an idle caller and 1,965 µs beside a busy
one; two worker processes take 35 and 37 µs. A worker has its own interpreter, so the
caller's Python work and the signature checks run on both cores at once.

A `BatchVerifier` collects (public key, message, signature) triples; every `chunk` of them is
sent straight from the caller's thread down a pipe to the next worker (round robin), so the
workers verify while the caller goes on. `finish()` returns a future of the verdicts, in the
order added, completed by one collector thread that waits on the workers' pipes (it holds the
GIL only for a moment per chunk; an error there reaches whoever waits on the future). A worker
that cannot be reached (it died, the pipe broke) is replaced by verification on the collector
thread for what it had not answered, and by a fresh worker for what comes next: a verdict is
never lost or guessed, and the rule is the same function (`ed25519.verify_many`) on both paths.

Workers are `python -m metanode.crypto.verify_worker` child processes started on first use
(not `multiprocessing`: its spawn mode re-imports the caller's main module, which a library
cannot ask of every script that admits a transaction, and fork would copy a threaded process).
They end with the process: a worker exits when its stdin closes.
"""

from __future__ import annotations

import atexit
import itertools
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from metanode import core
from metanode.crypto import ed25519, verify_worker

Triple = tuple[bytes, bytes, bytes]

# Fewer signatures than this are verified on the calling thread: handing them over would cost
# more than the few hundred microseconds they take.
inline_max = 8
workers_default = 2


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    # Tickets sent and not yet answered, oldest first (a worker answers in order).
    waiting: deque[int] = field(default_factory=deque)
    answers: dict[int, list[bool]] = field(default_factory=dict)
    alive: bool = True
    # Held from queuing a ticket to the end of its write: requests reach the pipe in ticket
    # order even if two threads send, and the bookkeeping lock is not held across a write.
    sending: threading.Lock = field(default_factory=threading.Lock)


def _spawn() -> _Worker:
    command = [sys.executable, "-m", "metanode.crypto.verify_worker"]
    pipe = subprocess.PIPE
    return _Worker(subprocess.Popen(command, stdin=pipe, stdout=pipe, bufsize=0))


class _Workers:
    """The process-wide worker processes and their bookkeeping (one lock guards it all)."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._tickets = itertools.count()
        self._next = itertools.cycle(range(count))
        self._items: dict[int, list[Triple]] = {}  # ticket → items, for the fallback
        self._workers = [_spawn() for _ in range(count)]
        self.collector = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ed25519-collect")

    def send(self, items: list[Triple]) -> tuple[int, int]:
        """Hand `items` to the next worker; the (worker, ticket) to collect them by."""
        with self._lock:
            ticket = next(self._tickets)
            index = next(self._next)
            worker = self._workers[index]
            if not worker.alive:
                # Its unanswered tickets were verified on the collector thread; a fresh worker
                # takes its place from here on.
                worker = self._workers[index] = _spawn()
            self._items[ticket] = items
        with worker.sending:
            with self._lock:
                if not worker.alive:
                    return index, ticket  # collected on the collector thread
                worker.waiting.append(ticket)
            try:
                verify_worker.write_request(worker.process.stdin, items)  # type: ignore[arg-type]
            except (OSError, ValueError):
                self._lose(worker)
        return index, ticket

    def collect(self, index: int, ticket: int) -> list[bool]:
        """The verdicts of one ticket (on the collector thread)."""
        with self._lock:
            worker = self._workers[index]
        while True:
            with self._lock:
                if ticket in worker.answers:
                    self._items.pop(ticket)
                    return worker.answers.pop(ticket)
                if not worker.alive or ticket not in worker.waiting:
                    items = self._items.pop(ticket)
                    break
                expected = len(self._items[worker.waiting[0]])
            try:
                data = verify_worker.read_exactly(worker.process.stdout, expected)  # type: ignore[arg-type]
            except (EOFError, OSError, ValueError):
                self._lose(worker)
                continue
            with self._lock:
                answered = worker.waiting.popleft()
                worker.answers[answered] = [verdict == 1 for verdict in data]
        return ed25519.verify_many(items)

    def _lose(self, worker: _Worker) -> None:
        with self._lock:
            worker.alive = False
            worker.waiting.clear()
        worker.process.kill()

    def close(self) -> None:
        for worker in self._workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in self._workers:
            try:
                worker.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                worker.process.kill()
        self.collector.shutdown(wait=False)


_workers: _Workers | None = None
_workers_lock = threading.Lock()


def _shared(count: int) -> _Workers:
    global _workers  # noqa: PLW0603 — one set of workers per process, started on first use
    with _workers_lock:
        if _workers is None:
            _workers = _Workers(count)
            atexit.register(_workers.close)
        return _workers


_threads: ThreadPoolExecutor | None = None


def _shared_threads(count: int) -> ThreadPoolExecutor:
    """The threads that hand chunks to the compiled core."""
    global _threads  # noqa: PLW0603 — one pool per process, started on first use
    with _workers_lock:
        if _threads is None:
            _threads = ThreadPoolExecutor(max_workers=count, thread_name_prefix="ed25519")
        return _threads


def _joined(parts: list[Future[list[bool]]]) -> Future[list[bool]]:
    """The parts' verdicts in order, once the last is in. A single part is its own future;
    otherwise the last part's callback completes the join on the thread that finished it,
    which holds the GIL already: a thread that waited on the parts in turn needed the GIL
    back for each, up to the interpreter's switch interval (5 ms) while the caller ran."""
    if len(parts) == 1:
        return parts[0]
    joined: Future[list[bool]] = Future()
    left = [len(parts)]
    lock = threading.Lock()

    def done(_: Future[list[bool]]) -> None:
        with lock:
            left[0] -= 1
            if left[0]:
                return
        failed = next((part.exception() for part in parts if part.exception()), None)
        if failed is not None:
            joined.set_exception(failed)
        else:
            joined.set_result([verdict for part in parts for verdict in part.result()])

    for part in parts:
        part.add_done_callback(done)
    return joined


class BatchVerifier:
    """Triples added one at a time, verified beside the caller as they come (see the module)."""

    def __init__(self, *, chunk: int = 64, workers: int = workers_default) -> None:
        self._chunk = max(1, chunk)
        self._workers_count = max(1, workers)
        self._items: list[Triple] = []
        self._sent: list[tuple[int, int]] = []
        self._compiled = core.native() is not None
        self._parts: list[Future[list[bool]]] = []
        self._count = 0
        self._finished = False

    def __len__(self) -> int:
        return self._count

    def add(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        if self._finished:
            raise RuntimeError("BatchVerifier.add after finish()")
        self._items.append((public_key, message, signature))
        self._count += 1
        if len(self._items) >= self._chunk:
            self._send()

    def _send(self) -> None:
        if self._compiled:
            # The chunk is split over the core's own threads as well: a pool thread needs the
            # GIL back once a chunk, so fewer, larger crossings keep both cores verifying.
            self._parts.append(
                _shared_threads(self._workers_count).submit(
                    ed25519.verify_many, self._items, threads=self._workers_count
                )
            )
        else:
            self._sent.append(_shared(self._workers_count).send(self._items))
        self._items = []

    def finish(self) -> Future[list[bool]]:
        """The verdicts of everything added, in order; nothing may be added after."""
        self._finished = True
        done: Future[list[bool]] = Future()
        if not self._sent and not self._parts and len(self._items) < inline_max:
            done.set_result(ed25519.verify_many(self._items))
            return done
        if self._items:
            self._send()
        if self._compiled:
            return _joined(self._parts)
        workers = _shared(self._workers_count)
        sent = self._sent
        return workers.collector.submit(
            lambda: [verdict for where in sent for verdict in workers.collect(*where)]
        )
