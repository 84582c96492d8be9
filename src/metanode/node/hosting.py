"""App hosting in the node: the executor role (committed calls in, receipts out) and the
notary role (receipts gathered, LogBlocks cut, signed, aggregated and submitted).

Theory of operation. Everything here runs on the node's event loop, except the executor
service's worker thread, whose receipts come back through `call_soon_threadsafe`.

Executing. After each committed block, `on_committed` reads the block's `app_called` events
(app and seq), reads each call's record from the state the block left, and hands the calls this
node is drawn for (`apps.assignment.executors` for the epoch of the block's height, with the
seed after the block before the epoch) to the executor service, with the block's own VRF seed
as the calls' block seed. A published receipt is gossiped in a RECEIPTS frame and kept for the
notary like a received one.

Checking receipts. A receipt, own or received, is kept only if it decodes, its signature
verifies, it names a call the chain holds, its executor is drawn for that call and its seed is
the one the call's block fixes (`executor.calls.call_seed`). A receipt for a call this node has
not committed yet waits (bounded) and is checked after the next commits.

Notarising (committee members only). For each app the next range starts at the chain's app tip
(`notary.app_tip`). The range holds the calls, from there on, of one version, included less
than `logblock_interval_ms` of block time after the range's first call, at most
`logblock_receipts` receipts and `logblock_leaves_max` leaves. It is cut when a call outside
it is on chain, or when a committed block is `logblock_interval_ms` past the first call (later
blocks cannot add to it), and when every drawn replica's receipt of every call is held, or,
a further `logblock_interval_ms` later, when every call has one: a replica drawn anew misses
the app's earlier calls and its state, so it holds the call behind them and stays silent (app
state hand-over between executors is not built). Each executor's receipts are kept while they
chain by `previous` from its tip on chain, as the chain's check asks. The content is a
function of the chain and the receipts held, so members holding the same receipts build the
same candidate; each BLS-signs it and gossips its share (SHARE frame). A member holding a quorum of
verified shares aggregates them; the range's designated member (`first_seq` mod committee size)
submits the SubmitLogBlock at once, the others only if the range is still open `submit_wait_ms`
later (the chain refuses a second one for a range, at a fee). Replicas that disagree are
logged and still signed: the chain records the dispute from the LogBlock that shows both.

The court. After each commit the node plays its side of every open dispute it is a side of
(node/court.py): it reveals, bisects and asks for the ruling from its executor's store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from metanode.codec import decode, encode
from metanode.consensus.real_suite import RealSuite
from metanode.crypto import ed25519, merkle
from metanode.docklock.receipt import Bundle, Receipt
from metanode.errors import DecodeError, VerificationError
from metanode.executor.calls import CommittedCall, call_seed
from metanode.executor.service import ExecutorBusy, ExecutorService, Published
from metanode.net import constants as net_constants
from metanode.net.frames import Frame, ReceiptItem, Receipts, Share
from metanode.state.apps import assignment
from metanode.state.apps import queries as apps
from metanode.state.apps.records import CallRecord
from metanode.state.court import queries as court_queries
from metanode.state.notary import queries as notary
from metanode.state.notary.committee import Member, quorum_reached
from metanode.state.notary.records import read_executor_tip
from metanode.state.view import StateReader
from metanode.types import Address, LogBlock, LogLeaf, SubmitLogBlock
from metanode.types import constants as types_constants
from metanode.types.messages import Message

from . import config as node_config
from .chain import Chain, Committed
from .court import CourtPlayer

log = logging.getLogger("metanode.node")

# Receipts held for notarising, over all apps; past it new ones are dropped (and logged).
receipts_held_max = 100_000
# Receipts of calls this node has not committed yet, waiting to be checked.
early_receipts_max = 10_000
# LogBlock shares held, over all ranges and candidates.
shares_held_max = 10_000
# Cached executor draws ((app, epoch) → executors) and block times (height → ms).
block_times_cached_max = 4_096


@dataclass(frozen=True, slots=True)
class Held:
    """A checked receipt, as the LogBlock leaf it becomes."""

    receipt: Receipt
    leaf: LogLeaf


@dataclass(slots=True)
class Candidate:
    logblock: LogBlock  # unsigned
    digest: bytes  # its hash: what shares name
    submitted: bool = False


class Hosting:
    def __init__(
        self,
        data_dir: Path,
        key: ed25519.PrivateKey,
        suite: RealSuite,
        chain: Chain,
        settings: node_config.Notary,
        broadcast: Callable[[Frame], None],
        submit: Callable[[Message], None],
        later: Callable[[int, Callable[[], None]], None],
        falsify: Callable[[Bundle], Bundle] | None = None,
    ) -> None:
        self.key = key
        self.me = Address.from_public_key(key.public_key)
        self.suite = suite
        self.chain = chain
        self.settings = settings
        self._broadcast = broadcast
        self._submit = submit
        self._later = later
        self.executor = ExecutorService(data_dir, key, self._module, self._from_worker, falsify)
        self.court = CourtPlayer(self.me, self.executor.store, submit)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self.reset()

    def reset(self) -> None:
        """Forget every receipt, share, candidate and cached read (at start, and when a dev
        chain's revert rewrote the chain they came from)."""
        self._modules: dict[tuple[bytes, int], bytes] = {}
        self._outgoing: list[ReceiptItem] = []
        self._held: dict[bytes, dict[int, dict[bytes, Held]]] = {}
        self._held_count = 0
        self._early: list[tuple[ReceiptItem, Receipt]] = []
        self._shares: dict[tuple[bytes, int, bytes], dict[Address, bytes]] = {}
        self._shares_count = 0
        self._candidates: dict[bytes, Candidate] = {}
        self._block_times: dict[int, int] = {}
        self._last_block_ms: int | None = None
        self._dirty = False  # receipts arrived since the last look for ranges to cut

    # Life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.executor.start()

    def stop(self) -> None:
        """Finish the queued calls, then close the executor's store; receipts published after
        this are not gossiped."""
        self._stopped = True
        self.executor.stop()

    # Executing -------------------------------------------------------------------------------

    def on_committed(self, committed: Committed) -> None:
        reader = self.chain.store.state().reader
        header = committed.block.header
        block_seed = self.chain.seed_at(header.height)
        mine: list[CommittedCall] = []
        for receipt in committed.receipts:
            for event in receipt.events:
                if event.kind != "app_called":
                    continue
                attributes = dict(event.attributes)
                app_id, seq = attributes["app"], int.from_bytes(attributes["seq"], "big")
                call = apps.call(reader, app_id, seq)
                if call is None or self.me not in self._drawn(reader, app_id, call):
                    continue
                self._remember_module(reader, app_id, call.version)
                mine.append(
                    CommittedCall(
                        app_id,
                        call.version,
                        seq,
                        call.function,
                        call.input,
                        call.fuel_limit,
                        header.height,
                        header.timestamp_ms,
                        block_seed,
                    )
                )
        if mine:
            log.info("executing calls", extra={"height": header.height, "calls": len(mine)})
            try:
                self.executor.on_committed(mine)
            except ExecutorBusy as error:
                # Consensus must not wait for execution: these calls stay unanswered by this
                # replica, and the other replicas' receipts still reach the notaries.
                log.error("calls not executed", extra={"reason": str(error)})
        self._last_block_ms = header.timestamp_ms
        early, self._early = self._early, []
        self._keep_received(early)
        self._notarise_all(reader, header.timestamp_ms)
        self.court.on_committed(reader, header.height)

    def _drawn(self, reader: StateReader, app_id: bytes, call: CallRecord) -> tuple[Address, ...]:
        """The executors the chain recorded for the call's draw epoch (state/apps.assignment):
        the same list the notary's checks read, so a receipt kept here is one the chain takes."""
        return assignment.assigned(reader, app_id, call.epoch) or ()

    def _remember_module(self, reader: StateReader, app_id: bytes, version: int) -> None:
        """Modules are read here, on the loop, for the worker thread to find (it reads no
        ledger state)."""
        if (app_id, version) in self._modules:
            return
        record = apps.app(reader, app_id)
        versions = apps.versions(reader, app_id, record) if record is not None else []
        module = apps.module(reader, versions[version - 1].module_hash)
        if module is None:
            raise DecodeError("missing_module", f"app {app_id.hex()} v{version} has no module")
        self._modules[(app_id, version)] = module

    def _module(self, app_id: bytes, version: int) -> bytes:
        return self._modules[(app_id, version)]

    def _from_worker(self, published: Published) -> None:
        if self._loop is not None and not self._stopped:
            self._loop.call_soon_threadsafe(self._on_published, published)

    def _on_published(self, published: Published) -> None:
        if self._stopped:
            return
        receipt = published.receipt
        item = ReceiptItem(
            published.app_id,
            published.seq,
            _receipt_bytes(receipt),
            len(published.bundle.output),
            published.state_bytes,
        )
        log.debug(
            "receipt published",
            extra={"app": published.app_id.hex()[:16], "seq": published.seq},
        )
        self._outgoing.append(item)
        self._keep_received([(item, receipt)])

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

    # Receipts ----------------------------------------------------------------------------------

    def on_receipts(self, peer: Address, frame: Receipts) -> str | None:
        """Keep a peer's receipts; the reason to blame the peer, if any."""
        received = []
        for item in frame.items:
            try:
                receipt = Receipt.from_wire(decode(item.receipt))
                receipt.verify_signature()
            except DecodeError as error:
                return error.rule
            except VerificationError:
                return "receipt_signature_invalid"
            if Address.from_public_key(receipt.executor) != peer:
                return "receipt_not_the_senders"
            received.append((item, receipt))
        self._keep_received(received)
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
            call = apps.call(reader, app_id, item.seq)
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
            leaf = receipt.leaf(item.seq, item.output_bytes, item.state_bytes)
            by_seq[receipt.executor] = Held(receipt, leaf)
            self._held_count += 1
            self._dirty = True

    def _implausible(
        self, reader: StateReader, app_id: bytes, seq: int, call: CallRecord, receipt: Receipt
    ) -> str | None:
        if Address.from_public_key(receipt.executor) not in self._drawn(reader, app_id, call):
            return "executor_not_drawn"
        if receipt.seed != call_seed(self.chain.seed_at(call.height), app_id, call.version, seq):
            return "seed_not_the_calls"
        return None

    # Notarising -------------------------------------------------------------------------------

    def _notarise_all(self, reader: StateReader, now_block_ms: int) -> None:
        committee = notary.committee(reader)
        members = {member.address for member in committee}
        self._prune(reader)
        if self.me not in members:
            return
        for app_id in sorted(self._held):
            self._notarise(reader, committee, app_id, now_block_ms)

    def _prune(self, reader: StateReader) -> None:
        for app_id in list(self._held):
            tip = notary.app_tip(reader, app_id).next_seq
            by_seq = self._held[app_id]
            for seq in [seq for seq in by_seq if seq < tip]:
                self._held_count -= len(by_seq.pop(seq))
            candidate = self._candidates.get(app_id)
            if candidate is not None and candidate.logblock.first_seq < tip:
                del self._candidates[app_id]
            if not by_seq:
                del self._held[app_id]
        for key in [key for key in self._shares if key[1] < _tip(reader, key[0])]:
            self._shares_count -= len(self._shares.pop(key))

    def _notarise(
        self, reader: StateReader, committee: Sequence[Member], app_id: bytes, now_block_ms: int
    ) -> None:
        if app_id in self._candidates:
            return
        calls = self._range(reader, app_id, now_block_ms)
        if not calls:
            return
        held = self._held.get(app_id, {})
        # A replica still silent an interval after the range closed is left out (the chain
        # takes a call with one receipt): a newly drawn executor without the app's earlier
        # calls holds every call behind that gap (executor/service.py) and never answers.
        silent_from_ms = (
            self._block_time(calls[0][1].height) + 2 * self.settings.logblock_interval_ms
        )
        entries: list[Held] = []
        for seq, call in calls:
            answers = held.get(seq, {})
            answered = {Address.from_public_key(key) for key in answers}
            if not answered.issuperset(self._drawn(reader, app_id, call)) and (
                not answers or now_block_ms < silent_from_ms
            ):
                return  # a replica has not answered (yet)
            ordered = [answers[key] for key in sorted(answers)]
            if len({entry.leaf.result_hash for entry in ordered}) > 1:
                log.warning("replicas disagree", extra={"app": app_id.hex()[:16], "seq": seq})
            entries += ordered
        leaves = _linked(reader, app_id, entries)
        if {leaf.call_seq for leaf in leaves} != {seq for seq, _ in calls}:
            return  # a call's only receipts follow a missing one of their executor's
        first, last = calls[0][0], calls[-1][0]
        unsigned = LogBlock(
            app_id,
            calls[0][1].version,
            first,
            last,
            merkle.root_from_leaf_hashes([leaf.receipt_hash for leaf in leaves]),
            tuple(leaves),
        )
        candidate = Candidate(unsigned, unsigned.hash())
        self._candidates[app_id] = candidate
        share = self.suite.seal(unsigned.signing_message())
        log.info(
            "logblock signed",
            extra={"app": app_id.hex()[:16], "first_seq": first, "last_seq": last},
        )
        self._add_share(app_id, first, candidate.digest, self.me, share)
        self._broadcast(Share(app_id, first, candidate.digest, share))
        self._aggregate(reader, committee, app_id)

    def _range(
        self, reader: StateReader, app_id: bytes, now_block_ms: int
    ) -> list[tuple[int, CallRecord]]:
        """The calls of the app's next range, if it is cut (module docstring), else []."""
        record = apps.app(reader, app_id)
        first = _tip(reader, app_id)
        if record is None or first >= record.calls:
            return []
        start = apps.call(reader, app_id, first)
        if start is None:
            return []
        end_ms = self._block_time(start.height) + self.settings.logblock_interval_ms
        receipts_max = min(self.settings.logblock_receipts, types_constants.logblock_leaves_max)
        calls: list[tuple[int, CallRecord]] = []
        receipts = 0
        for seq in range(first, record.calls):
            call = apps.call(reader, app_id, seq)
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
            if len(self._block_times) >= block_times_cached_max:
                self._block_times.clear()
            block = self.chain.store.block(height)
            if block is None:
                raise DecodeError("missing_block", f"the store's block {height} is absent")
            self._block_times[height] = block.header.timestamp_ms
        return self._block_times[height]

    # Shares ----------------------------------------------------------------------------------

    def on_share(self, peer: Address, frame: Share) -> str | None:
        """Keep a committee member's share; the reason to blame the peer, if any."""
        reader = self.chain.store.state().reader
        committee = notary.committee(reader)
        if peer not in {member.address for member in committee}:
            return "share_from_a_non_member"
        if frame.first_seq < _tip(reader, frame.app_id):
            return None  # the range is notarised already
        self._add_share(frame.app_id, frame.first_seq, frame.logblock_hash, peer, frame.signature)
        if frame.app_id in self._candidates:
            self._aggregate(reader, committee, frame.app_id)
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

    def _aggregate(self, reader: StateReader, committee: Sequence[Member], app_id: bytes) -> None:
        candidate = self._candidates[app_id]
        if candidate.submitted:
            return
        unsigned = candidate.logblock
        key = (app_id, unsigned.first_seq, candidate.digest)
        shares = self._shares.get(key, {})
        message = unsigned.signing_message()
        signed: list[tuple[int, Member, bytes]] = []
        for index, member in enumerate(committee):
            signature = shares.get(member.address)
            if signature is None:
                continue
            if not self.suite.verify_seal(member.bls_public_key, message, signature):
                log.warning("logblock share invalid", extra={"signer": str(member.address)})
                del shares[member.address]
                self._shares_count -= 1
                continue
            signed.append((index, member, signature))
        total = sum(member.power for member in committee)
        if not quorum_reached(sum(member.power for _, member, _ in signed), total):
            return
        bitmap = bytearray((len(committee) + 7) // 8)
        for index, _, _ in signed:
            bitmap[index // 8] |= 1 << (index % 8)
        logblock = LogBlock(
            unsigned.app_id,
            unsigned.app_version,
            unsigned.first_seq,
            unsigned.last_seq,
            unsigned.root,
            unsigned.leaves,
            bytes(bitmap),
            self.suite.aggregate([signature for _, _, signature in signed]),
        )
        candidate.submitted = True
        designated = committee[unsigned.first_seq % len(committee)].address
        if designated == self.me:
            self._submit_logblock(logblock)
        else:
            self._later(self.settings.submit_wait_ms, lambda: self._submit_if_open(logblock))

    def _submit_if_open(self, logblock: LogBlock) -> None:
        if _tip(self.chain.store.state().reader, logblock.app_id) == logblock.first_seq:
            self._submit_logblock(logblock)

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


def _linked(reader: StateReader, app_id: bytes, entries: Sequence[Held]) -> list[LogLeaf]:
    """The leaves, in call order, of each executor's receipts that chain by `previous` from its
    tip on chain, short of any the court proved false: past a receipt left out, the chain
    refuses the executor's later ones."""
    kept: set[bytes] = set()
    by_executor: dict[bytes, list[Held]] = {}
    for entry in entries:
        by_executor.setdefault(entry.receipt.executor, []).append(entry)
    for executor, chain in by_executor.items():
        previous = read_executor_tip(reader, app_id, executor).receipt_hash
        for entry in sorted(chain, key=lambda entry: entry.leaf.call_seq):
            proven_false = court_queries.proven_false(reader, entry.leaf.receipt_hash) is not None
            if entry.receipt.previous != previous or proven_false:
                break
            kept.add(entry.leaf.receipt_hash)
            previous = entry.leaf.receipt_hash
    return [entry.leaf for entry in entries if entry.leaf.receipt_hash in kept]


def _tip(reader: StateReader, app_id: bytes) -> int:
    return notary.app_tip(reader, app_id).next_seq


def _receipt_bytes(receipt: Receipt) -> bytes:
    return encode(receipt.to_wire())
