"""App hosting in the node: the executor role (committed calls in, receipts out) and the
notary role (receipts gathered, LogBlocks cut, signed, aggregated and submitted).

Theory of operation. Everything here runs on the node's event loop, except the executor
service's worker thread, whose receipts come back through `call_soon_threadsafe`.

Executing. After each committed block, `on_committed` reads the block's `app_called` events
(app and seq) and, for each app with a call this node is drawn for (the draw recorded for the
call's epoch), hands the executor service every call from its next one to the block's last,
each with its block's time and VRF seed; those it is not drawn for it runs only to catch up.
A long gap is first asked of the replicas (WANT, APP_STATE frames: the hand-over,
docs/executor.md). A published receipt is gossiped in a RECEIPTS frame and kept for the notary
like a received one.

Checking receipts. A receipt, own or received, is kept only if it decodes, its signature
verifies, it names a call the chain holds, its executor is drawn for that call, its seed is
the one the call's block fixes (`executor.calls.call_seed`) and, if split-origin (version 2),
its request is the call's CallApp transaction (`request_problem`), so a lying executor's
receipt is never signed into a LogBlock. Version 1 receipts are still kept: a state-synced
executor, without the call's block, cannot know the transaction. A receipt for a call this
node has not committed yet waits (bounded) and is checked after the next commits. Gossip goes
once, to the links up at the time: a peer that (re)connects is sent this node's own receipts
held and its shares of its candidates (`regossip`).

Notarising (committee members only). For each app the next range starts at the chain's app tip
(`notary.app_tip`), or after the last candidate this member already signed ahead of it (up to
`logblocks_ahead_max` ranges, each chaining from the leaves of the ones before). The range
holds the calls, from there on, of one version, included less than `logblock_interval_ms` of
block time after the range's first call, at most `logblock_receipts` receipts and
`logblock_leaves_max` leaves. It is cut when a call outside it is on chain, or when a committed
block is `logblock_interval_ms` past the first call (later blocks cannot add to it), and when
every drawn replica's receipt of every call is held, or, a further `logblock_interval_ms`
later, when every call has one (a replica down or still catching up is left out; missing
receipts are asked again before that, and a candidate is cut again when a receipt of its range
arrives late). Each executor's receipts are kept while they chain by `previous` from its tip on
chain, as the chain's check asks. The content is a function of the chain and the receipts held,
so members holding the same receipts build the same candidate; each BLS-signs it and gossips
its share (SHARE frame). A member holding shares of a quorum aggregates them and checks the
aggregate once (`quorum_aggregate`: each share alone only if that fails); the app's
designated member (`designated`: one per app, so the ranges it submits ahead reach the chain
in its nonce order) submits the SubmitLogBlock at once, the others only if the range is
still open `submit_wait_ms` later and `submit_wait_heights` blocks per their rank after the
designated one (`fallback_rank`) since it became the app's next range on chain (`fallback`;
the chain refuses a second one for a range, at a fee).
Candidates ahead whose range before committed with other receipts than this member's no longer
link, and are dropped and cut again.
Replicas that disagree are logged and still signed: the chain records the dispute from the
LogBlock that shows both.

The court. After each commit the node plays its side of every open dispute it is a side of
(node/court.py): it reveals, bisects and asks for the ruling from its executor's store; and,
under `[court] watch`, before the receipts of calls a LogBlock now covers are dropped, it
challenges each that differs from its own executor's receipt of the call.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from metanode.codec import encode
from metanode.consensus.real_suite import RealSuite
from metanode.crypto import ed25519, merkle
from metanode.docklock.receipt import Bundle, Receipt, Request, signing_message_of
from metanode.errors import DecodeError, VerificationError
from metanode.executor.calls import CommittedCall, call_seed
from metanode.executor.handover import Assembly, Page, PageRefused
from metanode.executor.service import ExecutorBusy, ExecutorService, ExecutorStopped, Published
from metanode.net import constants as net_constants
from metanode.net.frames import (
    AppState,
    Evidence,
    Frame,
    ReceiptItem,
    Receipts,
    Share,
    Want,
    Wanted,
)
from metanode.state.apps import assignment
from metanode.state.apps import queries as apps
from metanode.state.apps.messages import check_stored_module
from metanode.state.apps.records import CallRecord, VersionRecord
from metanode.state.codes import OK, name_of
from metanode.state.court import queries as court_queries
from metanode.state.notary import queries as notary
from metanode.state.notary.committee import Member, quorum_reached
from metanode.state.notary.records import read_executor_tip
from metanode.state.storage import queries as storage
from metanode.state.view import StateReader
from metanode.storage.errors import StorageError
from metanode.types import Address, LogBlock, LogLeaf, SubmitLogBlock, Transaction
from metanode.types import Receipt as TxReceipt
from metanode.types import constants as types_constants
from metanode.types.messages import Message

from . import config as node_config
from .blobs import Target, fetch_blob, local_shares
from .chain import Chain, Committed
from .chunks import ChunkStore
from .court import CourtPlayer
from .metrics import Metrics

log = logging.getLogger("metanode.node")

# Receipts held for notarising, over all apps; past it new ones are dropped (and logged).
receipts_held_max = 100_000
# Receipts of calls this node has not committed yet, waiting to be checked.
early_receipts_max = 10_000
# LogBlock shares held, over all ranges and candidates.
shares_held_max = 10_000
# Cached executor draws ((app, epoch) → executors) and block times (height → ms).
block_times_cached_max = 4_096
# Blocks whose clients' requests stay indexed (`Hosting._request`).
request_heights_max = 16
# Threads that check a RECEIPTS frame's signatures in one call, outside the GIL (the executor's
# worker runs meanwhile); more than one measured no better on the 2 shared cores.
verify_threads = 1
# Call records and their seeds read within one height (`Hosting._call`, `Hosting._seed`).
calls_cached_max = 65_536
# A member that is not the app's designated submitter submits a range itself only once this
# many blocks per its rank (`fallback_rank`) have committed since the range became the app's
# next one on chain (and `submit_wait_ms` has passed): under load a height outlasted
# `submit_wait_ms`, and members that went by time alone each submitted every range again
# (blocks of 7 LogBlocks, 4 of them copies, and rounds lost). Counted from the aggregation
# instead, a range cut ahead was due before the ranges in front of it had committed, while the
# designated member's copy waited in the pools behind them (a block holds two or three
# LogBlocks): three copies in a 2,000-call run (docs/performance.md, "Apps, w13").
submit_wait_heights = 2
# LogBlock candidates a notary cuts and signs ahead of the chain's app tip, per app: ranges of
# calls already on chain need not wait for the LogBlock before them to commit. Each is up to
# 512 receipts settled in the block that holds it (about 30 ms of CPU for 256 calls on this
# machine, unloaded), so a block holding all of them stays well inside round 0's timeout.
logblocks_ahead_max = 4
# A notary missing a drawn replica's receipt of a closed range asks the executors for it once
# the range has waited this long, and again at most this often.
receipts_ask_interval_s = 1.0
# A drawn replica whose receipts of the app still arrive (one came within
# `receipts_ask_interval_s`) is not silent: a range waits for it up to this many
# `logblock_interval_ms` of block time past the range's first call. Left out as soon as the
# first wait was over, a replica merely slower than the other (700 calls queued at once on the
# loaded machine) lost the rest of its batch, its later receipts chaining to one left out, and
# each member re-cut and signed the range again at each gossip tick its receipts came in (17
# signatures for 5 LogBlocks on one node; docs/performance.md, "Apps, w17").
slow_replica_intervals = 8
# A module deployed by root that could not be fetched is tried again after this long.
module_retry_ms = 2_000


@dataclass(frozen=True, slots=True)
class Held:
    """A checked receipt, as the LogBlock leaf it becomes."""

    receipt: Receipt
    leaf: LogLeaf


@dataclass(frozen=True, slots=True)
class Handover:
    """An app state asked of the replicas: the state after a call in first_seq..last_seq
    (this executor's next call to the one before its first drawn call)."""

    first_seq: int
    last_seq: int

    def fields(self, app_id: bytes) -> dict[str, object]:
        """For the log."""
        return {"app": app_id.hex()[:16], "first_seq": self.first_seq, "last_seq": self.last_seq}


@dataclass(frozen=True, slots=True)
class Taking:
    """A state being handed over, page by page, from the replica whose page 0 was taken."""

    peer: Address
    seq: int
    receipt: bytes  # encoded, as every page repeats it
    assembly: Assembly


@dataclass(slots=True)
class Candidate:
    logblock: LogBlock  # unsigned
    digest: bytes  # its hash: what shares name
    # Its signing message, encoded once: this member's share signs it and every share that
    # arrives is checked against it (encoding 512 leaves per share was 1.5% of the nodes'
    # CPU in a 2,000-call run, docs/performance.md "Apps, w13").
    message: bytes
    submitted: bool = False


class Hosting:
    def __init__(
        self,
        data_dir: Path,
        key: ed25519.PrivateKey,
        suite: RealSuite,
        chain: Chain,
        settings: node_config.Notary,
        executing: node_config.Executor,
        metrics: Metrics,
        broadcast: Callable[[Frame], None],
        send: Callable[[Address, Frame], None],
        submit: Callable[[Message], None],
        later: Callable[[int, Callable[[], None]], None],
        falsify: Callable[[Bundle], Bundle] | None = None,
        roles: frozenset[str] = frozenset({"executor", "notary"}),
        *,
        court: node_config.Court | None = None,
        silent: bool = False,
        gateways: Sequence[str] = (),
        chunks: ChunkStore | None = None,
        spawn: Callable[[Coroutine[Any, Any, None]], None] | None = None,
    ) -> None:
        """`roles`: of `[server] roles`, "executor" runs the calls this node is drawn for and
        "notary" cuts LogBlocks when it is on the committee; without one it does neither.
        `court`: `[court]` (none: no watching); `silent`: `[testing] silent_executor`
        (misbehaviour.py). Modules deployed by root are fetched, in tasks run by `spawn`, from
        the shares this node holds (`chunks`, its chunk store) and the nodes at `gateways`
        (`[storage] gateways`)."""
        self.key = key
        self.me = Address.from_public_key(key.public_key)
        self.suite = suite
        self.chain = chain
        self.settings = settings
        self.executing = executing
        self.roles = roles
        self.metrics = metrics
        self._broadcast = broadcast
        self._send = send
        self._submit = submit
        self._later = later
        self.gateways = tuple(gateways)
        self.chunks = chunks
        self._spawn = spawn
        self.executor = ExecutorService(data_dir, key, self._module, self._from_worker, falsify)
        self.watching = court or node_config.Court(watch=False)
        self.court = CourtPlayer(
            self.me,
            self.executor.store,
            submit,
            self._ask_evidence,
            self.watching.watch,
            self._app_modules,
        )
        self._silent = silent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        # The executor's receipts on their way to the loop (`_from_worker`), taken a batch at a
        # time; `_handing` while a take is scheduled and not yet run.
        self._handed: list[Published] = []
        self._handing = False
        self._handing_lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every receipt, share, candidate and cached read (at start, and when a dev
        chain's revert rewrote the chain they came from)."""
        self._modules: dict[tuple[bytes, int], bytes] = {}
        # Modules deployed by root being fetched, or refused (those stay: never run).
        self._fetching: set[tuple[bytes, int]] = set()
        self._outgoing: list[ReceiptItem] = []
        self._held: dict[bytes, dict[int, dict[bytes, Held]]] = {}
        self._held_count = 0
        self._early: list[tuple[ReceiptItem, Receipt]] = []
        self._shares: dict[tuple[bytes, int, bytes], dict[Address, bytes]] = {}
        # The signers whose shares verified alone, by the same key (`quorum_aggregate` checks
        # shares alone only after an aggregate failed, and each such share once).
        self._verified: dict[tuple[bytes, int, bytes], set[Address]] = {}
        self._shares_count = 0
        # Per app, the candidates of consecutive ranges from the chain's app tip on.
        self._candidates: dict[bytes, list[Candidate]] = {}
        self._block_times: dict[int, int] = {}
        self._last_block_ms: int | None = None
        self._dirty = False  # receipts arrived since the last look for ranges to cut
        self._fed: dict[bytes, int] = {}  # per app, the next seq to hand the executor
        # Clients' requests of calls by block height, then (app, seq) (`_request`).
        self._requests: dict[int, dict[tuple[bytes, int], Request]] = {}
        self._handovers: dict[bytes, Handover] = {}
        self._assemblies: dict[bytes, Taking] = {}
        self._missing_since: dict[tuple[bytes, int], float] = {}  # (app, first_seq) → asked
        # Per app, when each executor's last receipt was kept (monotonic s): `_live`; those
        # heard too long ago are forgotten at each look for ranges to cut (`forget_silent`).
        self._heard: dict[bytes, dict[bytes, float]] = {}
        # Reads of the chain's state memoised until the next commit (`_memo`): the gossip tick
        # looked for ranges to cut on every receipt that arrived, and re-reading each call and
        # draw of a pending range was most of a loaded node's event loop (docs/performance.md).
        self._memo_height = -1
        self._draws: dict[tuple[bytes, int], tuple[Address, ...]] = {}
        # The notary committee, read from the registry's records at every gossip tick a receipt
        # came in and for every share (1.3% of a loaded network's busy samples).
        self._members: tuple[Member, ...] | None = None
        self._ranges: dict[tuple[bytes, int], list[tuple[int, CallRecord]]] = {}
        # Call records and the seeds their receipts must carry: each call's record was decoded
        # and its seed hashed once per receipt (two replicas', and this node's own) and again
        # by the cut; the records cannot change for these reads within one height.
        self._calls: dict[tuple[bytes, int], CallRecord | None] = {}
        self._seeds: dict[tuple[bytes, int], bytes] = {}

    # Life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the executor and run the calls committed while it was not running."""
        self._loop = asyncio.get_running_loop()
        self.executor.start()
        reader = self.chain.store.state().reader
        for app_id in sorted(self.executor.store.heads()):
            record = apps.app(reader, app_id)
            if record is not None:
                self._feed(reader, app_id, record.calls - 1)

    def stop(self) -> None:
        """Finish the queued calls, then close the executor's store; receipts published after
        this are not gossiped."""
        self._stopped = True
        self.executor.stop()

    # Executing -------------------------------------------------------------------------------

    def on_committed(self, committed: Committed) -> None:
        reader = self.chain.store.state().reader
        header = committed.block.header
        # The block's calls are fed now with its time: reading it back would decode the block.
        self._keep_block_time(header.height, header.timestamp_ms)
        # The requests of the last `request_heights_max` blocks are kept: a block's receipts
        # arrive over the next commits, and reading the block back decoded all of its
        # transactions, once per commit (docs/performance.md).
        self._requests[header.height] = _requests(committed.block.txs, committed.receipts)
        for height in [
            held for held in self._requests if held + request_heights_max <= header.height
        ]:
            del self._requests[height]
        mine: dict[bytes, int] = {}  # app → its last call in this block drawn for this node
        for receipt in committed.receipts:
            for event in receipt.events:
                if event.kind != "app_called":
                    continue
                attributes = dict(event.attributes)
                app_id, seq = attributes["app"], int.from_bytes(attributes["seq"], "big")
                call = self._call(reader, app_id, seq)
                if call is not None and self._runs(reader, app_id, call):
                    mine[app_id] = seq
        for app_id in sorted(mine):
            self._feed(reader, app_id, mine[app_id])
        self._last_block_ms = header.timestamp_ms
        early, self._early = self._early, []
        self._keep_received(early)
        self.court.challenge_false(reader, header.height, self._notarised(reader))
        self._notarise_all(reader, header.timestamp_ms)
        self.court.on_committed(reader, header.height)

    def _feed(self, reader: StateReader, app_id: bytes, last_seq: int, ask: bool = True) -> None:
        """Hand the executor the app's calls from its next one to `last_seq`, if it is drawn
        for any of them: those it is not drawn for it runs only to reach the state the others
        start from. A gap over `replay_calls_max` calls is first asked of the replicas that
        ran them (`ask`)."""
        if "executor" not in self.roles:
            return
        if app_id in self._handovers:
            return  # the calls are handed on once the state arrives or the wait ends
        if app_id not in self._fed:
            head = self.executor.store.head(app_id)
            self._fed[app_id] = 0 if head is None else head.seq + 1
        start = self._fed[app_id]
        records = [(seq, self._call(reader, app_id, seq)) for seq in range(start, last_seq + 1)]
        drawn = [
            seq for seq, call in records if call is not None and self._runs(reader, app_id, call)
        ]
        if not drawn:
            return
        if ask and drawn[0] - start > self.executing.replay_calls_max:
            self._ask_state(app_id, Handover(start, drawn[0] - 1))
            return
        # LogBlocks cover every call before `start`: receipts of this executor's they left out
        # will never be notarised, so its next one chains to its last notarised receipt.
        rebase = (
            read_executor_tip(reader, app_id, self.key.public_key).receipt_hash
            if notary.app_tip(reader, app_id).next_seq >= start
            else None
        )
        known = [(seq, call) for seq, call in records if call is not None]
        if len(known) != len(records):
            raise DecodeError("missing_call", f"app {app_id.hex()} lacks a call to {last_seq}")
        needed = sorted({call.version for _seq, call in known})
        if not all([self._module_ready(reader, app_id, version) for version in needed]):
            return  # fed again once the module deployed by root is fetched and checked
        calls: list[CommittedCall] = []
        drawn_seqs = set(drawn)  # looked up per call: a list made the feed of n calls n² / 2
        for seq, call in known:
            calls.append(
                CommittedCall(
                    app_id,
                    call.version,
                    seq,
                    call.function,
                    call.input,
                    call.fuel_limit,
                    call.height,
                    self._block_time(call.height),
                    self.chain.seed_at(call.height),
                    seq in drawn_seqs,
                    rebase if seq == drawn[0] else None,
                    self._request(call.height, app_id, seq) if seq in drawn_seqs else None,
                    watched=self.me not in self._drawn(reader, app_id, call),
                )
            )
        log.info(
            "executing calls",
            extra={
                "app": app_id.hex()[:16],
                "first_seq": start,
                "last_seq": last_seq,
                "catching_up": len(calls) - len(drawn),
            },
        )
        try:
            self.executor.on_committed(calls)
        except ExecutorBusy as error:
            # Consensus must not wait for execution: these calls stay unanswered by this
            # replica for now, and the other replicas' receipts still reach the notaries.
            log.error("calls not executed", extra={"reason": str(error)})
            return
        self._fed[app_id] = last_seq + 1

    def _request(self, height: int, app_id: bytes, seq: int) -> Request | None:
        """The client's transaction of call `seq`: in its block, the transaction whose receipt
        has the `app_called` event naming (app, seq). None when this node no longer holds the
        block (a state-synced node): the receipt is then a version 1 one. The blocks committed
        lately are indexed from memory; an older one (catching up) is read once per commit."""
        if height not in self._requests:
            block = self.chain.store.block(height)
            receipts = self.chain.store.receipts(height)
            self._requests[height] = _requests(block.txs if block else (), receipts)
        return self._requests[height].get((app_id, seq))

    # Hand-over -------------------------------------------------------------------------------

    def _ask_state(self, app_id: bytes, handover: Handover) -> None:
        log.info("asking replicas for the app's state", extra=handover.fields(app_id))
        self._handovers[app_id] = handover
        self._broadcast(Want(Wanted.STATE, app_id, handover.first_seq, handover.last_seq))
        self._later(
            self.executing.handover_wait_ms, lambda: self._handover_unanswered(app_id, handover)
        )

    def _handover_unanswered(self, app_id: bytes, handover: Handover, pages: int = 0) -> None:
        """`pages`: of the assembly, taken when the wait began."""
        if self._stopped or self._handovers.get(app_id) != handover:
            return
        taking = self._assemblies.get(app_id)
        if taking is not None and taking.assembly.next > pages:
            # Pages are still arriving: wait as long again for the rest.
            taken = taking.assembly.next
            self._later(
                self.executing.handover_wait_ms,
                lambda: self._handover_unanswered(app_id, handover, taken),
            )
            return
        self._assemblies.pop(app_id, None)
        del self._handovers[app_id]
        self.metrics.app_handovers.labels("unanswered").inc()
        log.warning(
            "no replica handed the app's state over; running its calls from the blocks",
            extra=handover.fields(app_id),
        )
        self._feed_to_tip(app_id, ask=False)

    def _feed_to_tip(self, app_id: bytes, ask: bool) -> None:
        reader = self.chain.store.state().reader
        record = apps.app(reader, app_id)
        if record is not None:
            self._feed(reader, app_id, record.calls - 1, ask)

    def _on_app_state(self, peer: Address, frame: AppState) -> str | None:
        """Take a page of an asked-for state (executor/handover.py): page 0 from any drawn
        replica of a call of the range starts the assembly, and the later pages are taken from
        that replica alone."""
        handover = self._handovers.get(frame.app_id)
        if handover is None or not handover.first_seq <= frame.seq <= handover.last_seq:
            return None  # not asked, or a second replica's answer
        page = Page(frame.index, frame.pages, frame.count, frame.pairs, frame.proof)
        taking = self._assemblies.get(frame.app_id)
        if taking is None:
            if frame.index != 0:
                return None  # a replica whose first page was refused, or a second one
            started = self._start_assembly(peer, frame, page)
            if isinstance(started, str):
                return started
            taking = started
        elif taking.peer != peer:
            return None
        elif (frame.seq, frame.receipt) != (taking.seq, taking.receipt):
            return self._page_refused(frame.app_id, frame.index, "page_of_another_receipt")
        try:
            live = taking.assembly.add(page)
        except PageRefused as refused:
            return self._page_refused(frame.app_id, refused.index, refused.reason)
        if live is None:
            return None
        del self._handovers[frame.app_id], self._assemblies[frame.app_id]
        self.metrics.app_handovers.labels("installed").inc()
        log.info(
            "app state handed over",
            extra={
                "app": frame.app_id.hex()[:16],
                "seq": frame.seq,
                "keys": len(live.state),
                "pages": frame.pages,
            },
        )
        self.executor.install(frame.app_id, frame.seq, live)
        self._fed[frame.app_id] = frame.seq + 1
        self._feed_to_tip(frame.app_id, ask=False)
        return None

    async def _serve_state(self, peer: Address, frame: Want) -> None:
        """Send the asked state in pages, read and cut by the executor's worker (O(entries):
        368 ms at 10,000 entries, which held the event loop; docs/performance.md "Apps,
        w24b"), if this node was drawn for the call whose state it is."""
        try:
            paged = await asyncio.wrap_future(
                self.executor.pages(
                    frame.app_id,
                    frame.first_seq,
                    frame.last_seq,
                    net_constants.app_state_page_bytes_max,
                )
            )
        except ExecutorStopped:
            return
        if paged is None or self._stopped:
            return
        stored, pages = paged
        if not self._signed_as_drawn(self.chain.store.state().reader, frame.app_id, stored.seq):
            return
        receipt = _receipt_bytes(stored.receipt)
        for page in pages:
            self._send(
                peer,
                AppState(
                    frame.app_id,
                    stored.seq,
                    receipt,
                    page.index,
                    page.pages,
                    page.count,
                    page.pairs,
                    page.proof,
                ),
            )

    def _start_assembly(self, peer: Address, frame: AppState, page: Page) -> Taking | str:
        receipt = _peers_receipt(peer, frame.receipt)
        if isinstance(receipt, str):
            return receipt
        reader = self.chain.store.state().reader
        call = self._call(reader, frame.app_id, frame.seq)
        if call is None:
            return "app_state_call_unknown"
        problem = self._implausible(reader, frame.app_id, frame.seq, call, receipt)
        if problem is not None:
            return problem
        try:
            assembly = Assembly(receipt.state_root_after, page)
        except PageRefused as refused:
            return self._page_refused(frame.app_id, refused.index, refused.reason)
        taking = Taking(peer, frame.seq, frame.receipt, assembly)
        self._assemblies[frame.app_id] = taking
        return taking

    def _page_refused(self, app_id: bytes, index: int, reason: str) -> str:
        """Drop the assembly (the wait then runs the calls from the blocks) and blame the
        sender for the page."""
        self._assemblies.pop(app_id, None)
        log.warning(
            "app state page refused",
            extra={"app": app_id.hex()[:16], "page": index, "reason": reason},
        )
        return f"app_state_{reason}"

    def _on_want(self, peer: Address, frame: Want) -> None:
        """Answer from this node's executor store what it holds of the range: of the receipts
        it signed as a drawn replica (those of calls it only watched are not for notaries or
        hand-overs, whose checks would blame it for them)."""
        store = self.executor.store
        reader = self.chain.store.state().reader
        if frame.what is Wanted.EVIDENCE:
            evidence = self.court.evidence(frame.app_id, frame.first_seq)
            if evidence is None:
                return
            answer: Frame = evidence
        elif frame.what is Wanted.STATE:
            if self._spawn is not None:
                self._spawn(self._serve_state(peer, frame))
            return
        elif self._silent:
            return
        else:
            count = min(frame.last_seq - frame.first_seq + 1, net_constants.receipts_per_frame_max)
            stored = [
                item
                for item in store.receipts(frame.app_id, frame.first_seq, count)
                if item.seq <= frame.last_seq
                and self._signed_as_drawn(reader, frame.app_id, item.seq)
            ]
            if not stored:
                return
            answer = Receipts(
                tuple(
                    ReceiptItem(
                        frame.app_id,
                        item.seq,
                        item.encoded,
                        len(item.output),
                        item.state_bytes,
                    )
                    for item in stored
                )
            )
        try:
            self._send(peer, answer)
        except DecodeError as error:
            # A frame past frame_bytes_max (evidence of a call with a very large witness) is
            # not sent; the asker's wait ends without it.
            log.warning(
                "cannot answer a want", extra={"app": frame.app_id.hex()[:16], "reason": str(error)}
            )

    def _memo(self) -> None:
        """Forget the memoised reads once a block has committed since they were made."""
        height = self.chain.height
        if height != self._memo_height:
            self._memo_height = height
            self._draws.clear()
            self._members = None
            self._ranges.clear()
            self._calls.clear()
            self._seeds.clear()

    def _call(self, reader: StateReader, app_id: bytes, seq: int) -> CallRecord | None:
        """`apps.call`, memoised until the next commit."""
        self._memo()
        key = (app_id, seq)
        if key not in self._calls:
            if len(self._calls) >= calls_cached_max:
                self._calls.clear()
            self._calls[key] = apps.call(reader, app_id, seq)
        return self._calls[key]

    def _seed(self, app_id: bytes, seq: int, call: CallRecord) -> bytes:
        """The seed a receipt of the call must carry, memoised until the next commit."""
        key = (app_id, seq)
        if key not in self._seeds:
            if len(self._seeds) >= calls_cached_max:
                self._seeds.clear()
            block_seed = self.chain.seed_at(call.height)
            self._seeds[key] = call_seed(block_seed, app_id, call.version, seq)
        return self._seeds[key]

    def _committee(self, reader: StateReader) -> tuple[Member, ...]:
        """`notary.committee`, memoised until the next commit."""
        self._memo()
        if self._members is None:
            self._members = notary.committee(reader)
        return self._members

    def _runs(self, reader: StateReader, app_id: bytes, call: CallRecord) -> bool:
        """Whether this node signs a receipt of the call: drawn for it, or watching its app."""
        return self.watching.watches(app_id) or self.me in self._drawn(reader, app_id, call)

    def _signed_as_drawn(self, reader: StateReader, app_id: bytes, seq: int) -> bool:
        """Whether this node was drawn for call `seq`: its receipts of calls it only watched
        are not for notaries or hand-overs, whose checks would blame it for them."""
        call = self._call(reader, app_id, seq)
        return call is not None and self.me in self._drawn(reader, app_id, call)

    def _drawn(self, reader: StateReader, app_id: bytes, call: CallRecord) -> tuple[Address, ...]:
        """The executors the chain recorded for the call's draw epoch (state/apps.assignment):
        the same list the notary's checks read, so a receipt kept here is one the chain takes."""
        self._memo()
        key = (app_id, call.epoch)
        if key not in self._draws:
            self._draws[key] = assignment.assigned(reader, app_id, call.epoch) or ()
        return self._draws[key]

    def _module_ready(self, reader: StateReader, app_id: bytes, version: int) -> bool:
        """Whether the version's module is at hand for the worker thread (it reads no ledger
        state): read here, on the loop, if the chain holds it; a module deployed by root is
        fetched from relay storage and checked first (`_fetch_module`), and False until then."""
        key = (app_id, version)
        if key in self._modules:
            return True
        record = apps.app(reader, app_id)
        versions = apps.versions(reader, app_id, record) if record is not None else []
        module_hash = versions[version - 1].module_hash
        module = apps.module(reader, module_hash)
        if module is not None:
            self._modules[key] = module
            return True
        stored = storage.stored_module(reader, module_hash)
        if stored is None:
            raise DecodeError("missing_module", f"app {app_id.hex()} v{version} has no module")
        if key not in self._fetching and self._spawn is not None:
            self._fetching.add(key)
            target = Target.of(*stored)
            self._spawn(self._fetch_module(app_id, version, target, versions[version - 1]))
        return False

    async def _fetch_module(
        self, app_id: bytes, version: int, target: Target, record: VersionRecord
    ) -> None:
        """Fetch a module deployed by root from its holders (verified against the root), check
        it against its declared hash and functions and by the cage's rules, and feed the app's
        calls. One that
        fails the check is refused for good, logged with its stable code; one not fetched
        (holders down, shares still uploading) is tried again after `module_retry_ms`."""
        key = (app_id, version)
        fields = {"app": app_id.hex()[:16], "version": version}
        local = {} if self.chunks is None else local_shares(self.chunks, self.me, target)
        try:
            module = await fetch_blob(self.gateways, target, local)
        except (httpx.HTTPError, StorageError) as error:
            log.warning("stored module not fetched", extra={**fields, "error": str(error)})
            self._fetching.discard(key)
            self._later(module_retry_ms, lambda: self._refeed(app_id))
            return
        code = check_stored_module(module, record.module_hash, record.functions)
        if code != OK:
            log.error("stored module refused", extra={**fields, "code": name_of(code)})
            return
        log.info("stored module fetched", extra={**fields, "bytes": len(module)})
        self._fetching.discard(key)
        self._modules[key] = module
        self._refeed(app_id)

    def _refeed(self, app_id: bytes) -> None:
        if not self._stopped:
            self._feed_to_tip(app_id, ask=False)

    def _app_modules(self, app_id: bytes) -> dict[int, bytes]:
        return {version: code for (app, version), code in self._modules.items() if app == app_id}

    def _module(self, app_id: bytes, version: int) -> bytes:
        return self._modules[(app_id, version)]

    def _from_worker(self, published: Published) -> None:
        """On the executor's worker: hand the receipt to the loop. One `call_soon_threadsafe`
        takes every receipt published until it runs (a write transaction's, or more when the
        loop is busy): one wake-up of the loop, and one read of the chain's state to keep
        them, instead of one each per receipt."""
        if self._loop is None or self._stopped:
            return
        with self._handing_lock:
            self._handed.append(published)
            if self._handing:
                return
            self._handing = True
        self._loop.call_soon_threadsafe(self._on_published)

    def _on_published(self) -> None:
        with self._handing_lock:
            batch, self._handed = self._handed, []
            self._handing = False
        if self._stopped or self._silent:
            return
        kept = []
        for published in batch:
            item = ReceiptItem(
                published.app_id,
                published.seq,
                published.encoded,
                len(published.output),
                published.state_bytes,
            )
            self._outgoing.append(item)
            kept.append((item, published.receipt))
        log.debug("receipts published", extra={"receipts": len(batch)})
        self._keep_received(kept)

    def flush(self) -> None:
        """Gossip the receipts published since the last flush and look for ranges they
        complete (the node's gossip tick)."""
        if self._dirty and self._last_block_ms is not None:
            self._dirty = False
            self._notarise_all(self.chain.store.state().reader, self._last_block_ms)
        limit = net_constants.receipts_per_frame_max
        while self._outgoing:
            batch, self._outgoing = self._outgoing[:limit], self._outgoing[limit:]
            self._broadcast(Receipts(tuple(batch)))

    def on_peer_connected(self, peer: Address) -> None:
        """Send a peer that (re)connected what this node gossiped of the ranges still open: a
        frame goes once, to the links up then, so a replica that restarted and was linked to
        some members only left the others without its receipt and they cut without it, while
        the members that had it cut with it, and neither candidate reached a quorum."""
        frames = regossip(self.key.public_key, self.me, self._held, self._candidates, self._shares)
        if frames:
            log.info(
                "open ranges sent to a peer",
                extra={
                    "peer": str(peer)[:16],
                    "receipts": sum(
                        len(frame.items) for frame in frames if isinstance(frame, Receipts)
                    ),
                    "shares": sum(isinstance(frame, Share) for frame in frames),
                },
            )
        for frame in frames:
            self._send(peer, frame)

    # Receipts ----------------------------------------------------------------------------------

    def on_frame(
        self, peer: Address, frame: Receipts | Share | Want | AppState | Evidence
    ) -> str | None:
        """Take a peer's hosting frame; the reason to blame the peer, if any."""
        if isinstance(frame, Evidence):
            return self.court.on_evidence(peer, frame)
        if isinstance(frame, Receipts):
            return self.on_receipts(peer, frame)
        if isinstance(frame, Share):
            return self.on_share(peer, frame)
        if isinstance(frame, AppState):
            return self._on_app_state(peer, frame)
        self._on_want(peer, frame)
        return None

    def on_receipts(self, peer: Address, frame: Receipts) -> str | None:
        """Keep a peer's receipts; the reason to blame the peer, if any. Only the signatures of
        receipts this node would keep are checked: a want is answered by every replica with
        its receipts of the whole range asked (`_on_want`), most of them held already, and
        those of calls notarised since are of no use."""
        decoded = _decoded_receipts(peer, [item.receipt for item in frame.items])
        if isinstance(decoded, str):
            return decoded
        reader = self.chain.store.state().reader
        received = list(zip(frame.items, decoded, strict=True))
        fresh = unheld(received, self._held, functools.cache(lambda app: _tip(reader, app)))
        if len(fresh) < len(decoded):
            log.info(
                "peer receipts held already",
                extra={"peer": str(peer)[:16], "unchecked": len(decoded) - len(fresh)},
            )
        if not _signed([(item.receipt, receipt) for item, receipt in fresh]):
            return "receipt_signature_invalid"
        self._keep_received(fresh)
        return None

    def _keep_received(self, received: Sequence[tuple[ReceiptItem, Receipt]]) -> None:
        """Keep receipts already decoded and checked by their sender's path (gossip or this
        node's own executor)."""
        reader = self.chain.store.state().reader
        tips: dict[bytes, int] = {}
        for item, receipt in received:
            app_id = item.app_id
            if app_id not in tips:
                tips[app_id] = notary.app_tip(reader, app_id).next_seq
            if item.seq < tips[app_id]:
                continue  # notarised already
            call = self._call(reader, app_id, item.seq)
            if call is None:
                if len(self._early) < early_receipts_max:
                    self._early.append((item, receipt))
                continue
            problem = self._implausible(reader, app_id, item.seq, call, receipt)
            if problem is not None:
                log.warning(
                    "receipt refused",
                    extra={"app": app_id.hex()[:16], "seq": item.seq, "reason": problem},
                )
                continue
            by_seq = self._held.setdefault(app_id, {}).setdefault(item.seq, {})
            if receipt.executor in by_seq:
                continue
            if self._held_count >= receipts_held_max:
                log.warning("receipts held at their bound; dropping", extra={"app": app_id.hex()})
                continue
            leaf = receipt.leaf(item.seq, item.output_bytes, item.state_bytes, item.receipt)
            by_seq[receipt.executor] = Held(receipt, leaf)
            self._held_count += 1
            self._heard.setdefault(app_id, {})[receipt.executor] = time.monotonic()
            self._dirty = True
            ahead = self._candidates.get(app_id, [])
            for index, candidate in enumerate(ahead):
                if (
                    not candidate.submitted
                    and candidate.logblock.first_seq <= item.seq <= candidate.logblock.last_seq
                ):
                    # A candidate cut without a silent replica is signed from what this member
                    # held; members that held more signed another, and none may reach a
                    # quorum. Each re-cuts as late receipts reach it, so all converge on every
                    # receipt; the candidates after it chain from its leaves, so they go too.
                    del ahead[index:]
                    break

    def _implausible(
        self, reader: StateReader, app_id: bytes, seq: int, call: CallRecord, receipt: Receipt
    ) -> str | None:
        if Address.from_public_key(receipt.executor) not in self._drawn(reader, app_id, call):
            return "executor_not_drawn"
        if receipt.seed != self._seed(app_id, seq, call):
            return "seed_not_the_calls"
        if receipt.request is None:
            return None
        return request_problem(receipt.request, call, self._request(call.height, app_id, seq))

    # Notarising -------------------------------------------------------------------------------

    def _notarise_all(self, reader: StateReader, now_block_ms: int) -> None:
        committee = self._committee(reader)
        members = {member.address for member in committee}
        self._prune(reader)
        if self.me not in members or "notary" not in self.roles:
            return
        for app_id in sorted(self._held):
            self._notarise(reader, committee, app_id, now_block_ms)

    def _prune(self, reader: StateReader) -> None:
        for app_id in list(self._held):
            tip = notary.app_tip(reader, app_id).next_seq
            by_seq = self._held[app_id]
            for seq in [seq for seq in by_seq if seq < tip]:
                self._held_count -= len(by_seq.pop(seq))
            if not by_seq:
                del self._held[app_id]
        for app_id in list(self._candidates):
            ahead = self._candidates[app_id]
            tip = notary.app_tip(reader, app_id).next_seq
            del ahead[
                : len([candidate for candidate in ahead if candidate.logblock.first_seq < tip])
            ]
            if ahead and (
                ahead[0].logblock.first_seq != tip
                or not _continues_chain(reader, ahead[0].logblock)
            ):
                # Another member's LogBlock of the range before, with other receipts, committed:
                # these were cut on top of this member's and no longer link.
                ahead.clear()
            if not ahead:
                del self._candidates[app_id]
        for key in [key for key in self._shares if key[1] < _tip(reader, key[0])]:
            self._shares_count -= len(self._shares.pop(key))
            self._verified.pop(key, None)
        for asked in [asked for asked in self._missing_since if asked[1] < _tip(reader, asked[0])]:
            del self._missing_since[asked]
        forget_silent(self._heard, time.monotonic())

    def _notarised(self, reader: StateReader) -> list[tuple[bytes, int, Receipt]]:
        """The receipts held of calls a committed LogBlock now covers (pruned next) that
        `[court] watch` compares with this executor's own (`to_compare`)."""
        found = []
        for app_id in sorted(self._held):
            tip = notary.app_tip(reader, app_id).next_seq
            by_seq = self._held[app_id]
            for seq in sorted(seq for seq in by_seq if seq < tip):
                found += [
                    (app_id, seq, receipt)
                    for receipt in to_compare(by_seq[seq], self.key.public_key)
                ]
        return found

    def _notarise(
        self, reader: StateReader, committee: Sequence[Member], app_id: bytes, now_block_ms: int
    ) -> None:
        """Cut, sign and share the app's next ranges, each on top of the candidates before it,
        up to `logblocks_ahead_max` ahead of the chain's app tip."""
        ahead = self._candidates.get(app_id, [])
        while len(ahead) < logblocks_ahead_max:
            candidate = self._candidate(reader, app_id, ahead, now_block_ms)
            if candidate is None:
                return
            ahead.append(candidate)
            self._candidates[app_id] = ahead
            unsigned = candidate.logblock
            share = self.suite.seal(candidate.message)
            log.info(
                "logblock signed",
                extra={
                    "app": app_id.hex()[:16],
                    "first_seq": unsigned.first_seq,
                    "last_seq": unsigned.last_seq,
                },
            )
            self._add_share(app_id, unsigned.first_seq, candidate.digest, self.me, share)
            self._broadcast(Share(app_id, unsigned.first_seq, candidate.digest, share))
            self._aggregate(reader, committee, candidate)

    def _candidate(
        self, reader: StateReader, app_id: bytes, before: Sequence[Candidate], now_block_ms: int
    ) -> Candidate | None:
        """The unsigned LogBlock of the range after the candidates `before` (from the chain's
        app tip if none), once it is cut and its receipts are held, else None."""
        first = before[-1].logblock.last_seq + 1 if before else _tip(reader, app_id)
        calls = self._range(reader, app_id, first, now_block_ms)
        if not calls:
            return None
        held = self._held.get(app_id, {})
        # A replica still silent an interval after the range closed is left out (the chain
        # takes a call with one receipt): it may be down or still catching up.
        first_ms = self._block_time(calls[0][1].height)
        interval_ms = self.settings.logblock_interval_ms
        patient = now_block_ms < first_ms + slow_replica_intervals * interval_ms
        waiting = first_waiting(
            calls,
            held,
            lambda call: self._drawn(reader, app_id, call),
            now_block_ms >= first_ms + 2 * interval_ms,
            self._live(app_id) if patient else frozenset(),
        )
        if waiting is not None:
            # From that call on: every replica answers with all it holds of the range asked,
            # and the calls before it are answered already.
            self._ask_receipts(app_id, waiting, calls[-1][0])
            return None  # a replica has not answered (yet)
        entries: list[Held] = []
        for seq, _call in calls:
            answers = held.get(seq, {})
            ordered = [answers[key] for key in sorted(answers)]
            if len({entry.leaf.result_hash for entry in ordered}) > 1:
                log.warning("replicas disagree", extra={"app": app_id.hex()[:16], "seq": seq})
            entries += ordered
        leaves = _linked(
            reader, app_id, entries, [leaf for c in before for leaf in c.logblock.leaves]
        )
        if {leaf.call_seq for leaf in leaves} != {seq for seq, _ in calls}:
            return None  # a call's only receipts follow a missing one of their executor's
        unsigned = LogBlock(
            app_id,
            calls[0][1].version,
            first,
            calls[-1][0],
            merkle.root_from_leaf_hashes([leaf.receipt_hash for leaf in leaves]),
            tuple(leaves),
        )
        return Candidate(unsigned, *unsigned.hash_and_signing_message())

    def _live(self, app_id: bytes) -> frozenset[Address]:
        """The executors a receipt of the app came from within `receipts_ask_interval_s`."""
        now = time.monotonic()
        heard = self._heard.get(app_id, {})
        return frozenset(
            Address.from_public_key(key)
            for key, at in heard.items()
            if now - at < receipts_ask_interval_s
        )

    def _ask_evidence(self, app_id: bytes, seq: int) -> None:
        """Ask the replicas for their receipt and witness of a disputed call (the court)."""
        self._broadcast(Want(Wanted.EVIDENCE, app_id, seq, seq))

    def _ask_receipts(self, app_id: bytes, first_seq: int, last_seq: int) -> None:
        """Receipts gossiped while a link was down, or published by an executor that was
        catching up, are asked again of the executors, once the range has waited a while at
        the same first unanswered call (a replica still making its way through the range is
        not asked: each ask brought back every receipt from `first_seq` on, from each)."""
        now = time.monotonic()
        key = (app_id, first_seq)
        since = self._missing_since.setdefault(key, now)
        if now - since < receipts_ask_interval_s:
            return
        self._missing_since[key] = now
        log.info(
            "asking executors for receipts",
            extra={"app": app_id.hex()[:16], "first_seq": first_seq, "last_seq": last_seq},
        )
        self._broadcast(Want(Wanted.RECEIPTS, app_id, first_seq, last_seq))

    def _range(
        self, reader: StateReader, app_id: bytes, first: int, now_block_ms: int
    ) -> list[tuple[int, CallRecord]]:
        """The calls of the app's range from call `first`, if it is cut (module docstring),
        else []: a function of the chain's state (`now_block_ms` is its last block's time),
        so memoised."""
        self._memo()
        if (app_id, first) not in self._ranges:
            self._ranges[(app_id, first)] = self._cut(reader, app_id, first, now_block_ms)
        return self._ranges[(app_id, first)]

    def _cut(
        self, reader: StateReader, app_id: bytes, first: int, now_block_ms: int
    ) -> list[tuple[int, CallRecord]]:
        record = apps.app(reader, app_id)
        if record is None or first >= record.calls:
            return []
        start = self._call(reader, app_id, first)
        if start is None:
            return []
        end_ms = self._block_time(start.height) + self.settings.logblock_interval_ms
        receipts_max = min(self.settings.logblock_receipts, types_constants.logblock_leaves_max)
        calls: list[tuple[int, CallRecord]] = []
        receipts = 0
        for seq in range(first, record.calls):
            call = self._call(reader, app_id, seq)
            if call is None or call.version != start.version:
                break
            replicas = len(self._drawn(reader, app_id, call))
            if receipts + replicas > receipts_max or self._block_time(call.height) >= end_ms:
                return calls  # a call outside the range is on chain: the range is complete
            calls.append((seq, call))
            receipts += replicas
        # Every call of the range is on chain once a block reaches its end time, or a
        # different version follows.
        closed = now_block_ms >= end_ms or first + len(calls) < record.calls
        return calls if closed else []

    def _block_time(self, height: int) -> int:
        if height not in self._block_times:
            block = self.chain.store.block(height)
            if block is None:
                raise DecodeError("missing_block", f"the store's block {height} is absent")
            self._keep_block_time(height, block.header.timestamp_ms)
        return self._block_times[height]

    def _keep_block_time(self, height: int, timestamp_ms: int) -> None:
        if len(self._block_times) >= block_times_cached_max:
            self._block_times.clear()
        self._block_times[height] = timestamp_ms

    # Shares ----------------------------------------------------------------------------------

    def on_share(self, peer: Address, frame: Share) -> str | None:
        """Keep a committee member's share; the reason to blame the peer, if any."""
        reader = self.chain.store.state().reader
        committee = self._committee(reader)
        if peer not in {member.address for member in committee}:
            return "share_from_a_non_member"
        if frame.first_seq < _tip(reader, frame.app_id):
            return None  # the range is notarised already
        self._add_share(frame.app_id, frame.first_seq, frame.logblock_hash, peer, frame.signature)
        for candidate in self._candidates.get(frame.app_id, []):
            if candidate.logblock.first_seq == frame.first_seq:
                self._aggregate(reader, committee, candidate)
        return None

    def _add_share(
        self, app_id: bytes, first_seq: int, digest: bytes, signer: Address, signature: bytes
    ) -> None:
        shares = self._shares.setdefault((app_id, first_seq, digest), {})
        if signer in shares:
            return
        if self._shares_count >= shares_held_max:
            log.warning("logblock shares held at their bound; dropping")
            return
        shares[signer] = signature
        self._shares_count += 1

    def _aggregate(
        self, reader: StateReader, committee: Sequence[Member], candidate: Candidate
    ) -> None:
        if candidate.submitted:
            return
        unsigned = candidate.logblock
        key = (unsigned.app_id, unsigned.first_seq, candidate.digest)
        shares = self._shares.get(key, {})
        held = len(shares)
        found = quorum_aggregate(
            self.suite, committee, shares, self._verified.setdefault(key, set()), candidate.message
        )
        self._shares_count -= held - len(shares)
        if found is None:
            return
        signed, aggregate = found
        bitmap = bytearray((len(committee) + 7) // 8)
        for index in signed:
            bitmap[index // 8] |= 1 << (index % 8)
        logblock = LogBlock(
            unsigned.app_id,
            unsigned.app_version,
            unsigned.first_seq,
            unsigned.last_seq,
            unsigned.root,
            unsigned.leaves,
            bytes(bitmap),
            aggregate,
        )
        candidate.submitted = True
        if designated(committee, unsigned.app_id) == self.me:
            self._submit_logblock(logblock)
            return
        rank = fallback_rank(committee, unsigned.app_id, self.me)
        tip = _tip(reader, unsigned.app_id)
        due = fallback(unsigned.first_seq, tip, self.chain.height, None, rank)[1]
        self._submit_later(logblock, due, rank)

    def _submit_later(self, logblock: LogBlock, due: int | None, rank: int) -> None:
        self._later(self.settings.submit_wait_ms, lambda: self._submit_if_open(logblock, due, rank))

    def _submit_if_open(self, logblock: LogBlock, due: int | None, rank: int) -> None:
        """Submit a range the designated member has not brought on chain (`fallback`); a range
        still open before then is looked at again `submit_wait_ms` later, while this member
        still holds its candidate."""
        if self._stopped:
            return
        tip = _tip(self.chain.store.state().reader, logblock.app_id)
        step, due = fallback(logblock.first_seq, tip, self.chain.height, due, rank)
        if step is Fallback.SUBMIT:
            self._submit_logblock(logblock)
        elif step is Fallback.WAIT and any(
            (candidate.logblock.first_seq, candidate.logblock.root)
            == (logblock.first_seq, logblock.root)
            for candidate in self._candidates.get(logblock.app_id, [])
        ):
            self._submit_later(logblock, due, rank)

    def _submit_logblock(self, logblock: LogBlock) -> None:
        log.info(
            "logblock submitted",
            extra={
                "app": logblock.app_id.hex()[:16],
                "first_seq": logblock.first_seq,
                "last_seq": logblock.last_seq,
                "leaves": len(logblock.leaves),
            },
        )
        self._submit(SubmitLogBlock(logblock))


class Fallback(enum.Enum):
    SUBMIT = "submit"
    WAIT = "wait"
    DONE = "done"  # the range is on chain


def fallback(
    first_seq: int, tip: int, height: int, due: int | None, rank: int
) -> tuple[Fallback, int | None]:
    """What a member that is not the app's designated submitter does, at chain `height` with
    the app's tip at `tip`, with the range from `first_seq` it aggregated, and the height it
    is `due` at from then on: none until the range is the app's next one, then `rank` ×
    `submit_wait_heights` blocks after the first look that found it so (`fallback_rank`)."""
    if tip > first_seq:
        return Fallback.DONE, due
    if tip < first_seq:
        return Fallback.WAIT, None
    if due is None:
        due = height + submit_wait_heights * rank
    return (Fallback.SUBMIT if height >= due else Fallback.WAIT), due


def fallback_rank(committee: Sequence[Member], app_id: bytes, member: Address) -> int:
    """1 for the member after the app's designated one in committee order, 2 for the next…:
    when the designated member lagged, every other member fell due for the range at the same
    height and each submitted a copy (3 of a range in a 1,000-call run)."""
    addresses = [entry.address for entry in committee]
    return (addresses.index(member) - _designated_index(committee, app_id)) % len(committee)


def quorum_aggregate(
    suite: RealSuite,
    committee: Sequence[Member],
    shares: dict[Address, bytes],
    verified: set[Address],
    message: bytes,
) -> tuple[list[int], bytes] | None:
    """The committee indices and BLS aggregate of the shares held, once they are a quorum of
    valid ones, else None. The aggregate is checked with one pairing check, not each share
    with its own (three or four a LogBlock, the notaries' largest BLS cost): only when it fails
    is each share not yet `verified` checked alone, a bad one logged and dropped from
    `shares`, and the rest, each then valid, aggregated. An aggregate that verifies is all the
    chain asks of a LogBlock's signers, whatever its parts."""
    signed = _quorum_held(committee, shares)
    if signed is None:
        return None
    keys = [member.bls_public_key for _, member, _ in signed]
    try:
        aggregate = suite.aggregate([signature for _, _, signature in signed])
    except VerificationError:
        aggregate = None  # a share that is no G2 point: found below
    if aggregate is not None and suite.verify_aggregate(keys, message, aggregate):
        return [index for index, _, _ in signed], aggregate
    for _, member, signature in signed:
        if member.address in verified:
            continue
        if suite.verify_seal(member.bls_public_key, message, signature):
            verified.add(member.address)
        else:
            log.warning("logblock share invalid", extra={"signer": str(member.address)})
            del shares[member.address]
    signed = _quorum_held(committee, shares)
    if signed is None:
        return None
    return [index for index, _, _ in signed], suite.aggregate([s for _, _, s in signed])


def _quorum_held(
    committee: Sequence[Member], shares: Mapping[Address, bytes]
) -> list[tuple[int, Member, bytes]] | None:
    """(committee index, member, share) of each member whose share is held, in committee
    order, if their power is a quorum."""
    signed = [
        (index, member, shares[member.address])
        for index, member in enumerate(committee)
        if member.address in shares
    ]
    power = sum(member.power for _, member, _ in signed)
    return signed if quorum_reached(power, sum(member.power for member in committee)) else None


def designated(committee: Sequence[Member], app_id: bytes) -> Address:
    """The member that submits the app's LogBlocks at once (the others wait `submit_wait_ms`):
    one per app, so that the ranges it signs ahead of the chain are its transactions in nonce
    order, and so reach the chain in order; apps are spread over the committee."""
    return committee[_designated_index(committee, app_id)].address


def _designated_index(committee: Sequence[Member], app_id: bytes) -> int:
    return int.from_bytes(app_id[:8], "big") % len(committee)


def _linked(
    reader: StateReader, app_id: bytes, entries: Sequence[Held], before: Sequence[LogLeaf]
) -> list[LogLeaf]:
    """The leaves, in call order, of each executor's receipts that chain by `previous` from its
    last leaf `before` (the candidates of earlier ranges) or else its tip on chain, short of
    any the court proved false: past a receipt left out, the chain refuses the executor's
    later ones."""
    kept: set[bytes] = set()
    by_executor: dict[bytes, list[Held]] = {}
    for entry in entries:
        by_executor.setdefault(entry.receipt.executor, []).append(entry)
    last = {leaf.executor: leaf.receipt_hash for leaf in before}
    for executor, chain in by_executor.items():
        previous = last.get(executor) or read_executor_tip(reader, app_id, executor).receipt_hash
        for entry in sorted(chain, key=lambda entry: entry.leaf.call_seq):
            proven_false = court_queries.proven_false(reader, entry.leaf.receipt_hash) is not None
            if entry.receipt.previous != previous or proven_false:
                break
            kept.add(entry.leaf.receipt_hash)
            previous = entry.leaf.receipt_hash
    return [entry.leaf for entry in entries if entry.leaf.receipt_hash in kept]


def _continues_chain(reader: StateReader, logblock: LogBlock) -> bool:
    """Whether each executor's first leaf in the LogBlock chains to its tip on chain."""
    first: dict[bytes, LogLeaf] = {}
    for leaf in logblock.leaves:
        first.setdefault(leaf.executor, leaf)
    return all(
        leaf.previous == read_executor_tip(reader, logblock.app_id, executor).receipt_hash
        for executor, leaf in first.items()
    )


def _peers_receipt(peer: Address, raw: bytes) -> Receipt | str:
    """The receipt a peer sent, decoded and its signature checked, or the reason to blame it."""
    receipts = _decoded_receipts(peer, [raw])
    if isinstance(receipts, str):
        return receipts
    return receipts[0] if _signed([(raw, receipts[0])]) else "receipt_signature_invalid"


def first_waiting(
    calls: Sequence[tuple[int, CallRecord]],
    held: Mapping[int, Mapping[bytes, Held]],
    drawn: Callable[[CallRecord], Sequence[Address]],
    silent_past: bool,
    live: AbstractSet[Address] = frozenset(),
) -> int | None:
    """The first of a range's calls still waiting for a drawn replica's receipt, or None once
    every call may be notarised: a call with no receipt always waits, one with some waits for
    the rest until `silent_past` (the range's wait for silent replicas is over), and after it
    for those of the rest that are `live` (their receipts still arrive: slower, not silent).
    `held` holds drawn replicas' receipts only (`Hosting._implausible`), so a call with as many
    as it has replicas is answered: a range is looked at on every gossip tick a receipt came
    in, mostly over answered calls (256 calls: ~295 -> 26 us, docs/performance.md)."""
    for seq, call in calls:
        answers = held.get(seq, {})
        replicas = drawn(call)
        if len(answers) >= len(replicas):
            continue
        answered = {Address.from_public_key(key) for key in answers}
        missing = set(replicas) - answered
        if missing and (not answers or not silent_past or not missing.isdisjoint(live)):
            return seq
    return None


def forget_silent(heard: dict[bytes, dict[bytes, float]], now: float) -> None:
    """Drop from `heard` (per app, when each executor's last receipt was kept, monotonic s)
    every executor not heard within `receipts_ask_interval_s` of `now`, and the apps left with
    none. Only those count as live (`Hosting._live`); kept, they would hold every replica of
    every app the node ever heard, for its lifetime."""
    for app_id in list(heard):
        executors = heard[app_id]
        for key in [key for key, at in executors.items() if now - at >= receipts_ask_interval_s]:
            del executors[key]
        if not executors:
            del heard[app_id]


def to_compare(answers: Mapping[bytes, Held], own: bytes) -> list[Receipt]:
    """Of the receipts held of one call (by executor key), those the court's watch must compare
    with this executor's (key `own`) stored receipt of it: every other replica's if this node
    holds no receipt of its own for the call, else only those whose result differs from its
    own's. Each held receipt's leaf has its result hash already; the watch read every own
    receipt of a LogBlock back from the executor's store and hashed both results again, 3.5%
    of a loaded network's busy samples (docs/performance.md, "Apps, w17")."""
    mine = answers.get(own)
    return [
        answers[key].receipt
        for key in sorted(answers)
        if key != own and (mine is None or answers[key].leaf.result_hash != mine.leaf.result_hash)
    ]


def unheld(
    received: Sequence[tuple[ReceiptItem, Receipt]],
    held: Mapping[bytes, Mapping[int, Mapping[bytes, Held]]],
    tip: Callable[[bytes], int],
) -> list[tuple[ReceiptItem, Receipt]]:
    """Those of `received` a notary would keep: of a call not notarised yet (`tip(app_id)`, the
    app's next call to notarise) whose executor's receipt of it is not `held` already."""
    return [
        (item, receipt)
        for item, receipt in received
        if item.seq >= tip(item.app_id)
        and receipt.executor not in held.get(item.app_id, {}).get(item.seq, {})
    ]


def regossip(
    key: bytes,
    me: Address,
    held: Mapping[bytes, Mapping[int, Mapping[bytes, Held]]],
    candidates: Mapping[bytes, Sequence[Candidate]],
    shares: Mapping[tuple[bytes, int, bytes], Mapping[Address, bytes]],
) -> list[Frame]:
    """What a node sends a peer that connected: its own receipts (by its executor `key`) of
    calls not notarised yet, which a notary holding them cuts and signs with, and its
    (member `me`'s) shares of the candidates it holds."""
    own = [
        ReceiptItem(
            app_id,
            seq,
            _receipt_bytes(answers[key].receipt),
            answers[key].leaf.output_bytes,
            answers[key].leaf.state_bytes,
        )
        for app_id in sorted(held)
        for seq, answers in sorted(held[app_id].items())
        if key in answers
    ]
    limit = net_constants.receipts_per_frame_max
    frames: list[Frame] = [
        Receipts(tuple(own[start : start + limit])) for start in range(0, len(own), limit)
    ]
    for app_id in sorted(candidates):
        for candidate in candidates[app_id]:
            first_seq = candidate.logblock.first_seq
            share = shares.get((app_id, first_seq, candidate.digest), {}).get(me)
            if share is not None:
                frames.append(Share(app_id, first_seq, candidate.digest, share))
    return frames


def _decoded_receipts(peer: Address, raws: Sequence[bytes]) -> list[Receipt] | str:
    """The receipts a peer sent, each decoded and the peer's own, or the reason to blame it."""
    receipts = []
    for raw in raws:
        try:
            receipt = Receipt.decode(raw)
        except DecodeError as error:
            return error.rule
        if Address.from_public_key(receipt.executor) != peer:
            return "receipt_not_the_senders"
        receipts.append(receipt)
    return receipts


def _signed(received: Sequence[tuple[bytes, Receipt]]) -> bool:
    """Whether every receipt (with the bytes it came in) is signed by its executor. The
    signatures are checked in one call that releases the GIL (`verify_threads`): one at a time
    they were the largest cost of a loaded node's loop (docs/performance.md)."""
    signed = [
        (receipt.executor, signing_message_of(raw), receipt.signature) for raw, receipt in received
    ]
    return all(ed25519.verify_many(signed, threads=verify_threads))


def request_problem(request: Request, call: CallRecord, known: Request | None) -> str | None:
    """Why a split-origin receipt's request is not its call's, or None. The call record's
    transaction hash is what the chain checks (state/notary: `request_mismatch`); the client
    key and signature are checked against the transaction itself where this node holds its
    block (`known`), so a receipt that pairs the right hash with another key or signature is
    not signed into a LogBlock either."""
    if request.tx_hash != call.tx_hash or (known is not None and request != known):
        return "request_mismatch"
    return None


def _tip(reader: StateReader, app_id: bytes) -> int:
    return notary.app_tip(reader, app_id).next_seq


def _receipt_bytes(receipt: Receipt) -> bytes:
    return encode(receipt.to_wire())


def _requests(
    txs: Sequence[Transaction], receipts: Sequence[TxReceipt]
) -> dict[tuple[bytes, int], Request]:
    """The client's request of each app call the block's transactions made, by (app, seq)."""
    found: dict[tuple[bytes, int], Request] = {}
    for tx, receipt in zip(txs, receipts, strict=False):
        for event in receipt.events:
            if event.kind == "app_called":
                attributes = dict(event.attributes)
                called = (attributes["app"], int.from_bytes(attributes["seq"], "big"))
                found[called] = Request(tx.hash(), tx.sender, tx.signature)
    return found
