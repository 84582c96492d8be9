"""The executor service: committed calls in, signed receipts out, off the event loop.

Theory of operation. The block-commit path calls `on_committed(calls)` with the CallApp
transactions of each committed block, in block order; that only queues them (bounded) and
returns. One worker thread takes the batches in order, lets the `Sequencer` put each app's calls
in seq order (a gap holds that app back, a duplicate is dropped), runs each call in the cage
with its app's state and the call's seed (`calls.call_seed`), signs the receipt with the node
key chained by `previous` to the app's last one (its roots from the app's state tree, kept in
memory and updated at the keys each call changed: `docklock.live`), commits the keys the call
changed, its receipt and head of up to
`calls_per_commit_max` calls, or the calls run in `commit_interval_ms`, in one LMDB write
transaction (one fsync), and only then hands their receipts to `publish` (gossip; the gateway
serves them from the store from then on). A restart
reads the heads back, so it resumes after the last committed call and, since a call below the
head is a duplicate, never signs a second receipt for one seq; each app's state and tree are
built from the store at its first call after the start.

Why a thread, not a process: bench/executor.py hands counter.wat calls from an event loop to
one worker thread and to one worker process; on the shared 2-core test machine the two were
equal within noise (846 and 864 calls/s). The thread is kept because it shares the LMDB handle
and the per-app states and trees with nothing to copy; a process would need the state shipped per
call or a store of its own. The event loop pays for the GIL only while a call runs Python host
functions; a process is the change to make if that ever shows in consensus latency.

Wiring (node/hosting.py): the node builds one service with its data dir, its node key and a
lookup of app modules by (app id, version) from state/apps, calls `start()`, passes the calls
of each committed block (and those it must catch up on) to `on_committed`, a state handed over
by another replica to `install`, and `stop()`s it before closing its stores. `publish` runs
on the worker thread: hand the receipt to the loop with `call_soon_threadsafe`. The gateway
(api/hosting.py, given the service) answers state reads through `read` and a hand-over's pages
through `pages`: the worker does them between write transactions, from the state and tree it
keeps, so they see committed calls only, the states are never read while the worker changes
them, and the O(entries) work of a hand-over is not the event loop's.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.docklock.appstate import entry_key
from metanode.docklock.executor import ZERO, Executed, execute_encoded
from metanode.docklock.live import LiveState
from metanode.docklock.receipt import Bundle, Receipt, encoded_of
from metanode.docklock.witness import Record
from metanode.errors import MetanodeError
from metanode.state import tree

from . import constants
from .calls import CommittedCall
from .handover import Page, paginate
from .sequencer import Sequencer
from .store import ExecutorStore, Head, StateRead, StoredReceipt, Writer

ModuleLookup = Callable[[bytes, int], bytes]
T = TypeVar("T")
log = logging.getLogger(__name__)
idle_poll_s = 0.05


class ExecutorStopped(MetanodeError):
    """The service is not running (never started, stopped, or its worker failed: see cause)."""


class ExecutorBusy(MetanodeError):
    """More committed calls are queued than `queued_calls_max`; the caller is too far ahead."""


@dataclass(frozen=True, slots=True)
class Install:
    """Take the app's state after call `seq` from another replica (the hand-over)."""

    app_id: bytes
    seq: int
    live: LiveState


@dataclass(frozen=True, slots=True)
class _Asked:
    """Work for the worker between write transactions (`ExecutorService._ask`)."""

    work: Callable[[], object]
    answer: Future[Any]


class _Wake:
    """Queued to wake an idle worker for the work asked (`ExecutorService._ask`)."""


@dataclass(frozen=True, slots=True)
class Published:
    """A committed call's receipt, its output and witness, the app state's size after the
    call (Σ key and value bytes: a LogBlock leaf's `state_bytes`, what storage is paid by), and
    the receipt's encoding. The state before the call, which a replay also needs, is not
    copied for each call: the store serves it (`ExecutorStore.state_at`)."""

    app_id: bytes
    seq: int
    receipt: Receipt
    output: bytes
    witness: list[Record]
    state_bytes: int
    encoded: bytes  # the receipt's encoding (`Receipt.encode()`), as stored and gossiped


class ExecutorService:
    def __init__(
        self,
        data_dir: Path,
        key: ed25519.PrivateKey,
        modules: ModuleLookup,
        publish: Callable[[Published], None] = lambda published: None,
        falsify: Callable[[Bundle], Bundle] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = ExecutorStore.open(data_dir / "executor")
        self._falsify = falsify  # a dev chain's test harness only (node/misbehaviour.py)
        self._key = key
        self._modules = modules
        self._publish = publish
        self._clock = clock  # seconds; when a write transaction has run long enough
        self._sequencer = Sequencer(self._stored_next)
        # Each app's state with its tree, built from the store at the app's first call.
        self._states: dict[bytes, LiveState] = {}
        self._heads: dict[bytes, Head | None] = {}
        self._queue: queue.Queue[list[CommittedCall] | Install | _Wake | None] = queue.Queue()
        self._queued = 0
        self._asked: deque[_Asked] = deque()  # taken by the worker between write transactions
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="executor", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        """Finish the calls already queued, then close the store."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            with self._lock:
                self._worker = None
                self._refuse_asked(ExecutorStopped("the executor service stopped"))
        self.store.close()

    def on_committed(self, calls: Sequence[CommittedCall]) -> None:
        """Queue committed calls, in block order. Never blocks; raises ExecutorBusy when the
        queue is full and ExecutorStopped when the worker is not running."""
        self._check_running()
        with self._lock:
            if self._queued + len(calls) > constants.queued_calls_max:
                raise ExecutorBusy(
                    f"{self._queued} calls are queued for execution, at most "
                    f"{constants.queued_calls_max}: wait for the executor to catch up"
                )
            self._queued += len(calls)
        self._queue.put(list(calls))

    def install(self, app_id: bytes, seq: int, live: LiveState) -> None:
        """Queue the hand-over of the app's state after call `seq` (checked by the caller
        against a receipt for that call), after the calls queued before it; `live` is taken
        (its tree already built: `handover.Assembly`). Calls at or below `seq` are duplicates
        from then on; calls above it run on the installed state."""
        self._check_running()
        self._queue.put(Install(app_id, seq, live))

    def read(self, app_id: bytes, key: bytes) -> Future[StateRead]:
        """`key` of the app's state, answered by the worker from the state and tree it keeps
        (O(log n)) once its current write transaction is committed, so the answer is always
        that of a committed call: the root the last stored receipt names. Never blocks; the
        future raises ExecutorStopped if the worker stops first."""
        return self._ask(lambda: self._read(app_id, key))

    def pages(
        self, app_id: bytes, first_seq: int, last_seq: int, page_bytes_max: int
    ) -> Future[tuple[StoredReceipt, list[Page]] | None]:
        """The hand-over's answer, made by the worker as `read` is: the app's state after the
        latest call in first_seq..last_seq this executor signed and can undo back to
        (`ExecutorStore.state_at`), with that receipt, cut into pages (`handover.paginate`);
        None if it holds none. O(entries): off the event loop."""
        return self._ask(lambda: self._pages(app_id, first_seq, last_seq, page_bytes_max))

    def _ask(self, work: Callable[[], T]) -> Future[T]:
        answer: Future[T] = Future()
        with self._lock:
            self._check_running()
            self._asked.append(_Asked(work, answer))
        self._queue.put(_Wake())
        return answer

    def wait_idle(self) -> None:
        """Block until every call queued so far is executed (or held behind a gap)."""
        done = self._queue.all_tasks_done
        while True:
            self._check_running()
            with done:
                # A worker that failed stops taking batches, so poll for its failure too.
                if self._queue.unfinished_tasks == 0:
                    return
                done.wait(idle_poll_s)

    def reset(self) -> None:
        """Forget what was read from the store, which a dev chain's revert rewrote: app states,
        heads and the sequencer's expectations are read again. Call it idle (`wait_idle`)."""
        self._states.clear()
        self._heads.clear()
        self._sequencer = Sequencer(self._stored_next)

    def waiting(self, app_id: bytes) -> list[int]:
        """The seqs held behind a gap for `app_id` (read it after `wait_idle`)."""
        return self._sequencer.waiting(app_id)

    def _check_running(self) -> None:
        if self._failure is not None:
            raise ExecutorStopped("the executor's worker failed") from self._failure
        if self._worker is None:
            raise ExecutorStopped("the executor service is not started")

    def _stored_next(self, app_id: bytes) -> int:
        head = self._head(app_id)
        return constants.first_seq if head is None else head.seq + 1

    def _head(self, app_id: bytes) -> Head | None:
        if app_id not in self._heads:
            self._heads[app_id] = self.store.head(app_id)
        return self._heads[app_id]

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                self._answer_asked()
                if batch is None:
                    return
                if isinstance(batch, _Wake):
                    continue
                if isinstance(batch, Install):
                    self._install(batch)
                    continue
                self._execute_all(self._sequencer.accept(batch))
                with self._lock:
                    self._queued -= len(batch)
            except Exception as failure:
                # A store or lookup failure is a bug or a broken disk: stop executing rather
                # than sign receipts over state this node may no longer hold. The next
                # `on_committed` or `wait_idle` raises ExecutorStopped with this as its cause.
                log.exception("executor stopped")
                with self._lock:
                    self._failure = failure
                    self._refuse_asked(ExecutorStopped("the executor's worker failed"))
                return
            finally:
                self._queue.task_done()

    def _install(self, install: Install) -> None:
        app = install.app_id
        head = self._head(app)
        if head is not None and head.seq >= install.seq:
            log.info("state hand-over not needed", extra={"app": app.hex()[:16], "seq": head.seq})
            return
        self.store.install(app, install.seq, install.live.state)
        self._states[app] = install.live
        self._heads[app] = Head(install.seq, ZERO if head is None else head.receipt_hash)
        self._execute_all(self._sequencer.restart(app))
        log.info("app state installed", extra={"app": app.hex()[:16], "seq": install.seq})

    def _execute_all(self, calls: Sequence[CommittedCall]) -> None:
        """Run the calls a write transaction at a time, each closed after
        `calls_per_commit_max` calls or `commit_interval_ms`, whichever comes first."""
        done = 0
        while done < len(calls):
            published: list[Published] = []
            due = self._clock() + constants.commit_interval_ms / 1000
            with self.store.writing() as writer:
                for call in calls[done : done + constants.calls_per_commit_max]:
                    done += 1
                    made = self._execute(writer, call)
                    if made is not None:
                        published.append(made)
                    if self._clock() >= due:
                        break
            for item in published:
                self._publish(item)
            self._answer_asked()

    def _answer_asked(self) -> None:
        """Do the work asked (`read`, `pages`), between write transactions: the states and
        trees are changed by this thread alone, so they are read here as the last commit left
        them (the event loop never touches them, and no lock is held while a call runs)."""
        while self._asked:
            asked = self._asked.popleft()
            if not asked.answer.set_running_or_notify_cancel():
                continue
            try:
                answer = asked.work()
            except Exception as failure:
                asked.answer.set_exception(failure)
                raise
            asked.answer.set_result(answer)

    def _read(self, app: bytes, key: bytes) -> StateRead:
        # An app id nobody ran here is any client's to ask: neither its head nor its (empty)
        # state is kept for it.
        head = self._heads[app] if app in self._heads else self.store.head(app)
        live = LiveState({}) if head is None else self._live(app)
        proof = tree.prove(live.nodes, live.root, entry_key(key))
        seq = None if head is None else head.seq
        return StateRead(seq, live.state.get(key), live.root, proof)

    def _pages(
        self, app: bytes, first_seq: int, last_seq: int, page_bytes_max: int
    ) -> tuple[StoredReceipt, list[Page]] | None:
        served = self.store.state_at(app, first_seq, last_seq)
        if served is None:
            return None
        live = self._states.get(app)
        head = self._heads.get(app)
        # The tree kept is the head's: it serves only a state asked at the head.
        kept = live if head is not None and head.seq == served.receipt.seq else None
        return served.receipt, paginate(served.state, page_bytes_max, kept)

    def _refuse_asked(self, error: ExecutorStopped) -> None:
        """Fail the work asked that no worker will do (call it holding `_lock`)."""
        while self._asked:
            self._asked.popleft().answer.set_exception(error)

    def _live(self, app: bytes) -> LiveState:
        """The app's state and tree, built from the store the first time after a start."""
        live = self._states.get(app)
        if live is None:
            live = self._states[app] = LiveState(self.store.snapshot(app).state)
        return live

    def _execute(self, writer: Writer, call: CommittedCall) -> Published | None:
        """Run the call into `writer`; its receipt, to publish once `writer` is committed."""
        app = call.app_id
        live = self._live(app)
        head = self._head(app)
        own = ZERO if head is None else head.receipt_hash
        previous = own if call.previous is None else call.previous
        module = self._modules(app, call.version)
        if not call.drawn:
            run = cage.run(
                module,
                call.function,
                call.input,
                live.state,
                block_time=call.block_time,
                seed=call.seed,
                fuel=call.fuel_limit,
            )
            made = live.transition(run.changes)
            writer.commit(app, call.seq, live.state, made.changes, made.size, None)
            live.apply(made)
            self._heads[app] = Head(call.seq, own)
            return None
        executed = execute_encoded(
            module,
            call.function,
            call.input,
            live,
            self._key,
            block_time=call.block_time,
            seed=call.seed,
            previous=previous,
            fuel=call.fuel_limit,
            request=call.request,
        )
        made = executed.transition
        if self._falsify is not None:
            executed = _falsified(executed, module, call.input, live.state, self._falsify)
        receipt, run = executed.receipt, executed.run
        signed = (receipt, run.output, executed.records)
        head_hash = writer.commit(
            app,
            call.seq,
            live.state,
            made.changes,
            made.size,
            signed,
            call.previous,
            executed.encoded,
        )
        live.apply(made)
        self._heads[app] = Head(call.seq, head_hash)
        if call.watched:
            return None
        return Published(
            app, call.seq, receipt, run.output, run.witness, made.size, executed.encoded
        )


def _falsified(
    executed: Executed,
    module: bytes,
    input_: bytes,
    state: dict[bytes, bytes],
    falsify: Callable[[Bundle], Bundle],
) -> Executed:
    """A test harness's lie (node/misbehaviour.py) about the call run on `state`, its
    encodings made again; the state's changes stay the true run's."""
    run = executed.run
    bundle = falsify(Bundle(executed.receipt, module, input_, dict(state), run.witness, run.output))
    receipt = bundle.receipt
    told = replace(run, output=bundle.output, witness=bundle.witness)
    return executed._replace(
        receipt=receipt,
        run=told,
        encoded=encoded_of(receipt.signing_message(), receipt.signature),
        records=[record.encode() for record in bundle.witness],
    )
