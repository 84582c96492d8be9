"""One node: the event loop that carries the consensus engine's actions out.

Theory of operation. Everything runs on one asyncio loop thread, so the engine has one writer:
network frames, timers and API calls all end in `dispatch(event)`, which steps the engine and
carries out its actions in order; an event raised while doing so (a block built, a block
validated, the next height) waits in a bounded FIFO and is stepped next, never re-entrantly.
A `Persist` is committed to LMDB before the action after it runs (write before send).

Catching up: peers announce their committed height every `status_interval_ms`; a node that
sees a peer ahead of the height it is deciding asks that peer for the block and certificate
(one request at a time) and feeds them to the engine as `BlockSynced`, which checks the
certificate against the height's validator set before anything is committed.

Stopping. Everything that can touch the store later (a timer, a task, a gateway request) is
ended before the store closes: every handle the node schedules goes through `_later` and is
kept until it fires, every task through `_spawn`; `run` stops the gateway first (its requests
admit transactions), then cancels the timers and ends the tasks, then closes the network and
only then the stores. Once stopping has begun, `dispatch` and `_later` do nothing.

A dev chain (`[dev] automine`, node/devchain.py) differs in pacing only: a round-0 proposer
proposes as soon as a transaction is pending, with no gathering and no empty block unless
`[dev] block_interval_ms`; its block clock may run ahead of the wall clock (time travel); and a
revert rewrites the stores under the running node, which then starts over from them
(`_restart`).

Logs (`metanode.node.logs`): start and stop, peer links, proposals, round changes and timeouts,
one line per commit, and refused client transactions as a count per reason every
`refused_log_interval_ms` — never a line per refusal, which under a flood would make the log
the bottleneck and let a client rotate the useful lines away.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from asyncio import wrap_future
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from metanode.codec import tags
from metanode.consensus import constants as consensus_constants
from metanode.consensus import engine
from metanode.consensus.actions import (
    Action,
    Broadcast,
    CommitBlock,
    Persist,
    RequestProposal,
    RequestSync,
    ScheduleTimeout,
    ValidateBlock,
)
from metanode.consensus.events import (
    BlockSynced,
    BlockValidated,
    Event,
    MessageReceived,
    ProposalCandidateReady,
    StartHeight,
    TimeoutFired,
)
from metanode.consensus.messages import (
    CompactProposal,
    ProposalMessage,
    Signed,
    compact_of,
    decode_message,
    encode_message,
)
from metanode.consensus.messages import Message as ConsensusMessage
from metanode.consensus.real_suite import RealSuite
from metanode.consensus.state import Config as EngineConfig
from metanode.consensus.state import EngineState
from metanode.consensus.validators import vrf_input
from metanode.crypto import ed25519
from metanode.crypto.hashing import tagged_hash
from metanode.errors import ConfigError, DecodeError, MetanodeError, VerificationError, check
from metanode.guard import constants as guard_constants
from metanode.guard.score import Allowance, Kind, Verdict
from metanode.guard.watch import Watch
from metanode.mempool.pool import Admission, Pool
from metanode.mempool.rate import CommitRate
from metanode.mempool.reasons import Reason
from metanode.net import constants as net_constants
from metanode.net import tls
from metanode.net.frames import (
    AppState,
    BlockReply,
    Consensus,
    Evidence,
    Frame,
    GetBlock,
    GetSnapshot,
    GetTxs,
    GetTxsByHash,
    Inclusion,
    NoBlock,
    PeerAnnounce,
    Receipts,
    Share,
    SnapshotPart,
    Status,
    Txs,
    TxsByHash,
    TxsFor,
    Want,
    txs_frames,
)
from metanode.net.transport import Network, PeerConfig
from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import load_genesis
from metanode.state.keys import params as keys_params
from metanode.state.keys import queries as keys_queries
from metanode.state.registry import light_attack
from metanode.state.staking import queries as staking_queries
from metanode.state.store import Store
from metanode.types import (
    Address,
    Block,
    CommitCertificate,
    Denom,
    Receipt,
    Transaction,
    Transfer,
)
from metanode.types import constants as types_constants
from metanode.types.light_attack import LightAttackEvidence, LightAttackItem
from metanode.types.messages import Message

from . import admission, compact, devchain, inclusion, keys, misbehaviour, readiness, snapshots
from . import config as node_config
from .blobs import Keeper
from .chain import Chain, Committed
from .chunks import ChunkStore
from .durable import ConsensusLog, fold
from .hosting import Hosting
from .metrics import Metrics
from .rotation import Rotation

log = logging.getLogger("metanode.node")

events_pending_max = 100_000
subscriber_queue_max = 10_000
gossip_interval_ms = 10
# Transactions screened as one: their signatures go to the verification threads together, and
# they settle into the pool between two yields to the event loop (a client batch of 500 is one;
# gossip frames and proposals' unseen transactions up to `block_txs_max` are four).
admission_slice_txs = 500
# Gossiped transactions waiting for admission; past this a frame is dropped (gossip is best
# effort: a proposal carries every transaction it includes).
gossip_inbox_txs_max = 20_000
# Hashes remembered per peer to tell its own repeats (the guard's duplicate gossip feature).
gossip_seen_per_peer_max = 8_192
sync_request_timeout_ms = 2_000
# How often a state sync asks for what it lacks and checks whether it is complete.
state_sync_tick_ms = 50
# Transactions this node signs (the faucet's) expire this many blocks after signing.
tx_lifetime_blocks = 1_000
# Refused client transactions are logged as one count per reason per this interval.
refused_log_interval_ms = 10_000
# How long stopping waits for the gateway's requests and connections (keep-alive clients,
# event streams) to end before it cancels them.
gateway_stop_grace_s = 3.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """An item of the events stream (`/api/v1/events`): its type, and its JSON as the WebSocket
    sends it, written once for all subscribers."""

    type: str
    text: str

    @classmethod
    def of(cls, fields: dict[str, Any]) -> StreamEvent:
        """`fields` as JSON in the form Starlette's `send_json` writes."""
        return cls(fields["type"], json.dumps(fields, separators=(",", ":"), ensure_ascii=False))

    @classmethod
    def committed(
        cls, height: int, tx_hashes: Sequence[bytes], receipts: Sequence[Receipt]
    ) -> StreamEvent:
        """The `txs` event of a block: each transaction's hash and result code. Written from a
        template, the same bytes as `of` a dict per transaction, in a third of its time (it
        was 2% of one validator's loop at `--rate max`, py-spy w17)."""
        items = ",".join(
            '{"hash":"%s","code":%d}' % (tx_hash.hex(), receipt.code)  # noqa: UP031 - a template
            for tx_hash, receipt in zip(tx_hashes, receipts, strict=True)
        )
        return cls("txs", '{"type":"txs","height":%d,"txs":[%s]}' % (height, items))  # noqa: UP031


@dataclass(frozen=True, slots=True)
class Paths:
    config: Path
    home: Path
    ledger: Path
    consensus: Path


class Node:
    def __init__(
        self,
        config_path: Path,
        key_passphrase: str,
        *,
        state_sync: bool = False,
        trust: snapshots.Trust | None = None,
    ) -> None:
        """`key_passphrase` opens the node's key files (`metanode start` finds it: a dev
        config's, METANODE_KEY_PASSWORD, or a prompt); `state_sync` as `[sync] state_sync`;
        `trust` the block a state sync must install (`--trust-height`, `--trust-hash`)."""
        self.config = node_config.load(config_path)
        cfg = self.config
        home = config_path.parent
        self.paths = Paths(config_path, home, home / "ledger", home / "consensus")
        genesis_path = node_config.resolve(config_path, cfg.genesis)
        try:
            genesis_text = genesis_path.read_text()
        except OSError as error:
            raise ConfigError(
                f"cannot read the genesis file {genesis_path}: {error.strerror}"
            ) from None
        genesis = load_genesis(genesis_path, genesis_text)
        misbehaviour.check_allowed(cfg.testing, genesis.chain_kind)
        # As loaded, byte for byte: a joining node fetches it from the gateway (api/peers.py).
        self.genesis_text = genesis_text
        validator_keys = keys.read_validator(
            node_config.resolve(config_path, cfg.key_file), key_passphrase
        )
        self.faucet_key: ed25519.PrivateKey | None = None
        if cfg.faucet_key_file is not None:
            self.faucet_key = keys.read_account(
                node_config.resolve(config_path, cfg.faucet_key_file), key_passphrase
            )
        # A dev chain does not fsync (here and in its consensus record): it is rebuilt in
        # seconds, and a test suite commits thousands of blocks.
        self.store = Store.open(
            self.paths.ledger,
            genesis,
            map_bytes=cfg.ledger_map_mib << 20,
            sync=not cfg.dev.automine,
        )
        self.suite = RealSuite(validator_keys)
        self.me = Address.from_public_key(validator_keys.public_key)
        # Without the validator role the engine runs as no one: it follows and signs nothing.
        self.signer = self.me if "validator" in cfg.server.roles else None
        self.certificate = tls.certificate_pem(validator_keys.ed25519_seed)
        self.chain = Chain(
            self.store,
            self._new_pool(),
            self.suite,
            cfg.consensus.block_txs_max,
        )
        devchain.check_allowed(cfg.dev, genesis.chain_kind, len(self.chain.validator_set()))
        self.consensus_log = ConsensusLog(self.paths.consensus, sync=not cfg.dev.automine)
        self.engine_config = EngineConfig(
            genesis.chain_id,
            cfg.consensus.round_timeout_base_ms,
            devchain.proposal_wait_ms(cfg.dev)
            if cfg.dev.automine
            else cfg.consensus.empty_block_delay_ms,
        )
        peers = [
            PeerConfig(
                Address.parse(peer.node_id),
                peer.host,
                peer.port,
                _read_certificate(node_config.resolve(config_path, peer.certificate)),
            )
            for peer in cfg.p2p.peers
        ]
        self.peer_names = {Address.parse(peer.node_id): peer.name for peer in cfg.p2p.peers}
        self.metrics = Metrics()
        mempool = cfg.mempool
        # Admission that follows the commit rate (None: off), asked by the gateway.
        self.commit_rate = (
            CommitRate(
                mempool.admission_blocks, mempool.admission_window_blocks, mempool.admission_txs_min
            )
            if mempool.admission_blocks
            else None
        )
        self.guard = Watch(
            Allowance(cfg.guard.client_requests_per_second, cfg.guard.client_burst),
            cfg.guard.allow,
            self._on_guard_refused,
            self._on_guard_ban,
        )
        if cfg.guard.record is not None:
            self.guard.record(node_config.resolve(config_path, cfg.guard.record), str(self.me))
        self.network = Network(
            validator_keys.ed25519_seed,
            cfg.p2p.listen.host,
            cfg.p2p.listen.port,
            peers,
            self._on_frame,
            self._on_peer,
            self._on_offence,
            self.guard,
            offers_hybrid=cfg.p2p.hybrid,
        )
        if (
            not cfg.p2p.hybrid
            and keys_params.read_params(self.store.state().reader).hybrid_links_required
        ):
            raise ConfigError(
                f"{config_path}: [p2p] hybrid = false, but this chain requires hybrid links "
                "(keys.hybrid_links_required, governance parameter 52): remove that line"
            )
        self.rotation = Rotation(
            home, key_passphrase, self.me, validator_keys.ed25519_seed, self.network, self.suite
        )
        self.rotation.trust_saved()
        # The node key signs execution receipts and pays for the LogBlocks this node submits.
        self.node_key = ed25519.PrivateKey.from_seed(validator_keys.ed25519_seed)
        self.chain.censored = misbehaviour.censored(cfg.testing)
        self.inclusion = inclusion.Duty(self.node_key, self.chain, genesis.chain_id, self.metrics)
        # Every node can be placed shares (validators stand in for storage nodes until enough
        # register: state/storage/rules.py), so every node keeps a chunk store.
        self.chunks = ChunkStore.open(home / "blobs")
        self.hosting = Hosting(
            home,
            self.node_key,
            self.suite,
            self.chain,
            cfg.notary,
            cfg.executor,
            self.metrics,
            self.network.broadcast,
            self.network.send,
            self._submit_own,
            self._later,
            misbehaviour.lying_executor(cfg.testing, self.node_key),
            roles=frozenset(cfg.server.roles),
            court=cfg.court,
            silent=cfg.testing.silent_executor,
            gateways=cfg.storage.gateways,
            chunks=self.chunks,
            spawn=self._spawn,
        )
        self.keeper = Keeper(
            self.me,
            self.chunks,
            cfg.storage.gateways,
            cfg.storage.challenge_blocks,
            cfg.storage.grace_blocks,
            self._submit_own_batch,
            self._spawn,
        )
        self.devchain: devchain.DevChain | None = None
        if cfg.dev.automine:
            self.devchain = devchain.DevChain(
                home, self.store, self.consensus_log, self.hosting.executor, self._restart
            )
        for certificate in admission.saved(home):
            try:
                self.admit_peer(certificate, announce=False)
            except admission.PeerRefused as error:
                log.warning("an admitted peer is refused now", extra={"reason": str(error)})
        self.snapshots_dir = home / snapshots.SNAPSHOTS_DIR
        self._snapshotting: asyncio.Future[Any] | None = None
        # State sync only fills a ledger that holds genesis alone: never one with blocks.
        self._fetch: snapshots.Fetch | None = None
        if (state_sync or cfg.sync.state_sync) and self.chain.height == 0:
            self._fetch = snapshots.Fetch(genesis.chain_id, snapshots.genesis_set(genesis), trust)
        self.state: EngineState | None = None
        self._pending: collections.deque[Event] = collections.deque()
        self._dispatching = False
        self._peer_heights: dict[Address, int] = {}
        self._sync_asked: tuple[int, int] | None = None  # (height, when in ms)
        self._gossip: list[bytes] = []
        self._inbox: collections.deque[
            tuple[Address, tuple[bytes, ...], list[Transaction | DecodeError]]
        ] = collections.deque()
        self._inbox_txs = 0
        # The hashes each peer gossiped lately (the guard's duplicate feature).
        self._gossip_seen: dict[Address, collections.OrderedDict[bytes, None]] = {}
        # Compact proposals (compact.py): gossip lately received, by hash, and the rebuilds
        # waiting for transactions asked of peers.
        self._recent = compact.RecentTxs()
        self._rebuilds = compact.Pending()
        self._inbox_ready = asyncio.Event()
        self._subscribers: set[asyncio.Queue[StreamEvent]] = set()
        self._stopping = asyncio.Event()
        self._halted: BaseException | None = None
        self._pinned = False  # peers pinned to their recorded ML-DSA keys once (at the start)
        self.last_block_time_ms: int | None = None
        # A round-0 proposal waiting for transactions, and whether its gathering time is over
        # (then the first transactions to settle into the pool propose it).
        self._waiting: RequestProposal | None = None
        self._gathered = False
        # A proposal whose listed transactions (inclusion.py) were asked of the peers: the
        # hashes asked and until when (monotonic) it may wait for them; and the
        # proposal once it does wait (then their answer proposes it).
        self._listed: tuple[RequestProposal, frozenset[bytes], float] | None = None
        self._listed_waiting: RequestProposal | None = None
        self._timers: set[asyncio.Handle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._refused: collections.Counter[str] = collections.Counter()
        self._height_started = time.monotonic()
        self._store_verdict: tuple[int, str | None] | None = None  # (height, problem)

    # Life cycle ------------------------------------------------------------------------------

    async def run(self, stop_first: Callable[[], Awaitable[None]] | None = None) -> None:
        """Run until `stop()`; then await `stop_first` (the gateway's shutdown), end every timer
        and task, close the network, and only then the stores."""
        self._link_policy()
        await self.network.start()
        self.hosting.start()
        log.info(
            "node started",
            extra={
                "node": self.config.name,
                "node_id": str(self.me),
                "height": self.chain.height,
                "p2p": f"{self.config.p2p.listen.host}:{self.config.p2p.listen.port}",
            },
        )
        if self._fetch is None:
            self._start_engine()
        else:
            self._state_sync_started = time.monotonic()
            self._spawn(self._every(state_sync_tick_ms, self._state_sync_tick))
        self._spawn(self._every(net_constants.status_interval_ms, self._announce))
        self._spawn(self._every(gossip_interval_ms, self._flush_gossip))
        self._spawn(self._every(refused_log_interval_ms, self._log_refused))
        self._spawn(self._admit_gossiped())
        self._spawn(self._every(guard_constants.bucket_ms, self._guard_tick))
        if self.config.guard.model:
            self._spawn(self._fit_guard())
        try:
            await self._stopping.wait()
        finally:
            log.info("node stopping", extra={"height": self.chain.height})
            self.stop()  # also when cancelled: nothing new may start
            try:
                if stop_first is not None:
                    await stop_first()
            finally:
                await self._end_timers_and_tasks()
                if self._snapshotting is not None:
                    # A thread reading the store: it must end before the store closes.
                    await asyncio.gather(self._snapshotting, return_exceptions=True)
                self.hosting.stop()
                await self.network.stop()
                self.guard.close()
                self.consensus_log.close()
                self.store.close()
                self.chunks.close()
                log.info("node stopped")
        if self._halted is not None:
            raise self._halted

    def stop(self) -> None:
        self._stopping.set()
        self._cancel_timers()  # none fires while the gateway winds down
        for queue in list(self._subscribers):  # event streams end, so the server can stop
            self._close_subscriber(queue, "node stopping")

    def _later(self, delay_ms: int, callback: Callable[..., None], *args: Any) -> None:
        """Run `callback(*args)` after `delay_ms` (0: next on the loop), unless stopping begins
        first: the handle is kept until it fires, so that `run` can cancel it."""
        if self._stopping.is_set():
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            callback(*args)

        handle = loop.call_later(delay_ms / 1000, fire) if delay_ms > 0 else loop.call_soon(fire)
        self._timers.add(handle)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    async def _end_timers_and_tasks(self) -> None:
        self._cancel_timers()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _every(self, interval_ms: int, work: Callable[[], None]) -> None:
        while True:
            await asyncio.sleep(interval_ms / 1000)
            work()

    def _restart(self) -> None:
        """Start over from the store (a dev chain's revert rewrote it): drop every timer and
        queued event, the mempool, pending proposals and hosting's caches, then start
        consensus at the store's height."""
        self._cancel_timers()
        self._pending.clear()
        self._waiting = None
        self._gossip.clear()
        self._rebuilds = compact.Pending()
        self.chain.reset(self._new_pool())
        self.hosting.reset()
        self.last_block_time_ms = None
        self._start_engine()
        # Readers waiting for a transaction's commit look again: the mempool it was in is gone.
        self._publish(StreamEvent.of({"type": "reverted", "height": self.chain.height}))

    def _new_pool(self) -> Pool:
        mempool = self.config.mempool
        return Pool(
            self.store.genesis.chain_id, mempool.txs_max, nonce_gap_max=mempool.nonce_gap_max
        )

    def _start_engine(self) -> None:
        height = self.chain.height + 1
        validators = self.chain.validator_set()
        self.rotation.use_set_key(validators, height)
        self._share_among(len(validators))
        seed = self.chain.seed()
        record = self.consensus_log.load()
        if record is not None and record.height == height:
            self.state, actions = engine.restore(
                self.engine_config, self.suite, self.signer, record, validators, seed
            )
            self._metrics_height()
            self._carry_out(actions)
            self._drain()
        else:
            if record is not None and record.height > height and self.signer is not None:
                log.warning(
                    "the consensus record is ahead of the store; signing nothing below it",
                    extra={"store_height": self.chain.height, "record_height": record.height},
                )
            self.state = engine.new_state(
                self.engine_config, self.suite, self.signer, height, validators, seed, record
            )
            self.dispatch(StartHeight(height, validators, seed))

    # The one writer --------------------------------------------------------------------------

    def dispatch(self, event: Event) -> None:
        if self._stopping.is_set() or self.state is None:
            return  # stopping, or a state sync still fetching: the engine has not started
        if len(self._pending) >= events_pending_max:
            log.warning("event backlog full; dropping %s", type(event).__name__)
            return
        self._pending.append(event)
        if not self._dispatching:
            self._drain()

    def _drain(self, first: Callable[[], None] | None = None) -> None:
        """Step the engine through the pending events, carrying out each step's actions; `first`
        runs before them, under the same rules for halting: what waited for work off the loop
        (a proposal's signatures)."""
        self._dispatching = True
        try:
            if first is not None:
                first()
            while self._pending and self._halted is None:
                event = self._pending.popleft()
                check(self.state is not None, "an event before the engine started")
                before = self.state
                self.state, actions = engine.step(self.state, event)
                if (self.state.height, self.state.round) != (before.height, before.round):
                    self.inclusion.cut_off(self.state.height, self.state.round)
                self._log_step(before, event)
                self._carry_out(actions)
        except MetanodeError as error:
            # A certified block this node cannot execute, a broken store, a failed write: the
            # engine's state and the store may now disagree, so halt rather than diverge.
            log.critical("halting: %s", error, extra=self._position())
            self._halted = error
            self._stopping.set()
        except BaseException as error:
            # A bug: stop the node and let `run` re-raise it with its traceback.
            log.critical("halting on a bug", exc_info=True, extra=self._position())
            self._halted = error
            self._stopping.set()
            raise
        finally:
            self._dispatching = False

    def _position(self) -> dict[str, int]:
        state = self.state
        return {} if state is None else {"height": state.height, "round": state.round}

    def _log_step(self, before: EngineState, event: Event) -> None:
        """Round timeouts that were live, and round changes (stale timeouts are not news)."""
        after = self.state
        if after is None or not log.isEnabledFor(logging.INFO):
            return
        if isinstance(event, TimeoutFired) and (event.height, event.round) == (
            before.height,
            before.round,
        ):
            log.info("round timed out", extra={"height": event.height, "round": event.round})
        if after.height == before.height and after.round != before.round:
            log.info("round changed", extra={"height": after.height, "round": after.round})

    def _carry_out(self, actions: Sequence[Action]) -> None:
        todo = collections.deque(actions)
        while todo:
            action = todo.popleft()
            if isinstance(action, Persist):
                self.consensus_log.save(fold(action.record, todo))
            elif isinstance(action, Broadcast):
                self._broadcast(action.message)
                if self.config.testing.double_prepare_heights:
                    self._equivocate(action.message)
            elif isinstance(action, ScheduleTimeout):
                self.metrics.rounds.set(self.state.round if self.state else 0)
                event = TimeoutFired(action.height, action.round)
                self._later(action.delay_ms, self.dispatch, event)
            elif isinstance(action, RequestProposal):
                self._schedule_proposal(action)
            elif isinstance(action, ValidateBlock):
                valid = self.chain.validate(
                    action.block, self._block_clock()
                ) and not self._censors(action)
                self._pending.append(BlockValidated(action.height, action.block.hash(), valid))
            elif isinstance(action, CommitBlock):
                self._commit(action.block, action.certificate)
            elif isinstance(action, RequestSync):
                self._request_block(action.height)

    def _equivocate(self, message: ConsensusMessage) -> None:
        """The test harness of misbehaviour.py (dev chains only)."""
        if not isinstance(message, Signed):
            return
        twin = misbehaviour.double_prepare(self.config.testing, self.suite, message)
        if twin is not None:
            log.warning("equivocating (test harness)", extra={"height": twin.height})
            self.network.broadcast(Consensus(encode_message(twin)))

    def _schedule_proposal(self, action: RequestProposal) -> None:
        self._ask_listed(action)
        if action.round > 0 or self._full_block_pending():
            self._waiting = None  # an earlier round's or height's wait is over
            self._later(0, self._propose, action)
            return
        consensus = self.config.consensus
        self._waiting, self._gathered = action, False
        self._spawn(self._prove_ahead(action.height))
        if self.devchain is None:
            self._later(consensus.block_gather_ms, self._end_gathering, action)
            self._later(consensus.empty_block_delay_ms, self._propose_waiting, action)
            return
        # Automine: no gathering, and an empty block only on the dev chain's interval.
        self._later(0, self._end_gathering, action)
        if self.config.dev.block_interval_ms:
            self._later(self.config.dev.block_interval_ms, self._propose_waiting, action)

    async def _prove_ahead(self, height: int) -> None:
        """The proposal's VRF proof made on a thread while the block gathers; `chain.propose`
        then finds it in the suite. The proof was 0.45-0.58 ms of the loop a height, about
        2% of a lone validator's at `--rate max`, and half of it (two scalar multiplications
        in libsodium) runs without the GIL. The seed may move before the proposal (a commit
        it syncs meanwhile): the proposal then proves its own input on the loop."""
        await asyncio.to_thread(self.suite.vrf_prove, vrf_input(self.chain.seed(), height))

    def _end_gathering(self, action: RequestProposal) -> None:
        if self._waiting is action:
            self._gathered = True
            self._propose_when_pending()

    def _propose_when_pending(self) -> None:
        # Only what a block can include is work: a transaction waiting behind a missing nonce
        # of its sender made every proposer propose an empty block as soon as its gathering
        # ended, five times the idle cadence, until the transaction expired.
        if self._waiting is None or self.chain.pool.ready == 0:
            return
        if self._gathered or self._full_block_pending():
            self._propose_waiting(self._waiting)

    def _full_block_pending(self) -> bool:
        # Gathering longer cannot make the block bigger.
        return self.chain.pool.ready >= self.chain.block_txs_max

    def _propose_waiting(self, action: RequestProposal) -> None:
        if self._waiting is action:
            self._waiting = None
            self._propose(action)

    def _propose(self, action: RequestProposal) -> None:
        state = self.state
        if state is None or state.height != action.height or state.round != action.round:
            return
        if self._stopping.is_set():  # a gateway request that ends while the node stops
            return
        listed = self.inclusion.gather(action.height, self._recent.get)
        if self._wait_listed(action, listed.lacking):
            return
        self.inclusion.went_without(listed, action.height, action.round)
        block = self.chain.propose(
            action.height,
            action.round,
            action.evidence,
            self.me,
            self._block_clock(),
            listed.txs,
        )
        # Encoded once here: the consensus log's record, the proposal's size metric and the
        # store's block row each encoded it again (0.27 ms a block of 1,000 each time).
        block = replace(block, encoded=block.encode())
        log.info(
            "proposal made",
            extra={"height": action.height, "round": action.round, "txs": len(block.txs)},
        )
        self.dispatch(ProposalCandidateReady(action.height, action.round, block))

    def _ask_listed(self, action: RequestProposal) -> None:
        """Ask every peer for the listed transactions this proposer holds nowhere (not asked
        before): the lists' authors held them ready, and so does any validator that would
        refuse the proposal for them. The proposal waits for them at most `block_gather_ms`
        from now, inside its gathering when it gathers."""
        lacking = self.inclusion.lacking(action.height, self._recent.get)
        asks = self.inclusion.asks(action.height, lacking)
        self._listed = self._listed_waiting = None
        if not asks:
            return
        step = types_constants.block_txs_max  # GET_TXS_BY_HASH's bound
        for start in range(0, len(asks), step):
            self.network.broadcast(GetTxsByHash(tuple(asks[start : start + step])))
        asked = frozenset(asks)
        until = time.monotonic() + self.config.consensus.block_gather_ms / 1000
        self._listed = (action, asked, until)

    def _wait_listed(self, action: RequestProposal, lacking: Sequence[bytes]) -> bool:
        """Whether `action`'s proposal waits for listed transactions asked and not yet here."""
        if self._listed is None or self._listed[0] is not action:
            return False
        _, asked, until = self._listed
        left_ms = int((until - time.monotonic()) * 1000)
        if left_ms <= 0 or asked.isdisjoint(lacking):
            return False
        self._listed_waiting = action
        self._later(left_ms, self._propose_listed, action)
        return True

    def _propose_listed(self, action: RequestProposal) -> None:
        if self._listed_waiting is action:
            self._listed = self._listed_waiting = None
            self._propose(action)

    def _on_txs_by_hash(self, frame: TxsByHash) -> None:
        self._recent.add(self.inclusion.wanted(Transaction.decode_many(frame.txs)))
        waiting = self._listed_waiting
        if waiting is not None and self._listed is not None:
            asked = self._listed[1]
            lacking = self.inclusion.lacking(waiting.height, self._recent.get)
            if asked.isdisjoint(lacking):
                self._propose_listed(waiting)

    def _serve_txs_by_hash(self, peer: Address, frame: GetTxsByHash) -> None:
        """Answer from the pool and the gossip received lately, within one frame's bytes."""
        txs: list[bytes] = []
        size = 0
        for tx_hash in frame.tx_hashes:
            tx = self.chain.pool.get(tx_hash) or self._recent.get(tx_hash)
            if tx is None:
                continue
            raw = tx.encode()
            size += len(raw)
            if size > net_constants.txs_frame_bytes_max:
                break
            txs.append(raw)
        if txs:
            self.network.send(peer, TxsByHash(tuple(txs)))

    def _block_clock(self) -> int:
        """The time a block is stamped with and checked against: the wall clock, moved ahead
        on a dev chain by its time travel."""
        wall = now_ms()
        return wall if self.devchain is None else self.devchain.block_time(wall)

    def _commit(self, block: Block, certificate: CommitCertificate) -> None:
        writing = time.monotonic()
        committed = self.chain.commit(block, certificate)
        done = time.monotonic()
        if log.isEnabledFor(logging.INFO):
            log.info(
                "committed",
                extra={
                    "height": block.header.height,
                    "round": block.header.round,
                    "txs": len(block.txs),
                    "bytes": len(block.encode()),
                    "height_ms": round((done - self._height_started) * 1000),
                    "write_ms": round((done - writing) * 1000, 1),
                },
            )
        self._height_started = done
        self._after_commit(committed)
        self._maybe_snapshot(block.header.height)
        self.hosting.on_committed(committed)
        self.keeper.on_committed(self.chain.store.state().reader, block.header.height, block.hash())
        height = block.header.height + 1
        validators = self.chain.validator_set()
        self.rotation.use_set_key(validators, height)
        self._share_among(len(validators))
        self._pending.append(StartHeight(height, validators, self.chain.seed()))
        self._sync_asked = None
        self.network.broadcast(Status(block.header.height))
        self._maybe_sync()

    def _share_among(self, validators: int) -> None:
        self.chain.pool.share_among(validators, self.config.mempool.clients_txs_max)
        if self.commit_rate is not None:
            self.commit_rate.validators = validators

    def _after_commit(self, committed: Committed) -> None:
        self.inclusion.publish(self.network.broadcast, committed.tx_hashes)
        header = committed.block.header
        metrics = self.metrics
        metrics.height.set(header.height + 1)
        metrics.rounds.set(0)
        metrics.txs_committed.inc(len(committed.tx_hashes))
        metrics.block_size.set(len(committed.tx_hashes))
        if self.commit_rate is not None:
            self.commit_rate.committed(len(committed.tx_hashes), header.timestamp_ms)
            metrics.admission_bound.set(self.commit_rate.bound())
        metrics.mempool_size.set(len(self.chain.pool))
        if self.last_block_time_ms is not None:
            metrics.block_interval.observe((header.timestamp_ms - self.last_block_time_ms) / 1000)
        self.last_block_time_ms = header.timestamp_ms
        self._link_policy()
        announcement = self.rotation.announcement(self.chain.store.state().reader)
        if announcement is not None:
            self.network.broadcast(PeerAnnounce(announcement))
        if not self._subscribers:
            return
        self._publish(
            StreamEvent.of(
                {
                    "type": "block",
                    "height": header.height,
                    "hash": committed.block.hash().hex(),
                    "round": header.round,
                    "time_ms": header.timestamp_ms,
                    "txs": len(committed.tx_hashes),
                    "state_root": committed.state_root.hex(),
                }
            )
        )
        if committed.tx_hashes:
            self._publish(
                StreamEvent.committed(header.height, committed.tx_hashes, committed.receipts)
            )

    def _metrics_height(self) -> None:
        if self.state is not None:
            self.metrics.height.set(self.state.height)
            self.metrics.rounds.set(self.state.round)

    # Transactions ------------------------------------------------------------------------------

    async def submit(self, raws: list[bytes]) -> list[Admission]:
        """Admit client transactions; the admitted ones are gossiped in the next batch."""
        results = await self._admit(raws, local=True)
        # Counted per reason, not per transaction: a counter's `inc` takes a lock, and the
        # loop of one `inc` each was 0.42 µs a transaction (0.05 so, batches of 500).
        counts = collections.Counter(result.reason for result in results)
        admitted = counts.pop(None, 0)
        if admitted:
            self.metrics.mempool_admitted.inc(admitted)
        for reason, count in counts.items():
            self.metrics.mempool_rejected.labels(reason.value).inc(count)
            self._refused[reason.value] += count
        return results

    async def submit_from_clients(self, raws: list[bytes]) -> tuple[list[Admission], int | None]:
        """`submit` under admission that follows the commit rate (`[mempool] admission_*`):
        what lies past the bound's room is refused `rate_limited` without reaching the pool, and
        the seconds to wait before retrying come back with it (None: all of it was let in). The
        room is taken as the batch arrives, so batches admitted at once may pass the bound by
        what they hold; the next ones then wait."""
        gate = self.commit_rate
        room = len(raws) if gate is None else gate.room(self.chain.pool.local)
        results = await self.submit(raws[:room]) if room else []
        if gate is None or room >= len(raws):
            return results, None
        detail = (
            f"this node's clients hold {self.chain.pool.local} pending transactions, the bound "
            f"{gate.bound()} being {gate.blocks} blocks of the {gate.per_block()} committed per "
            f"block lately, over {gate.validators} validator(s), and at least {gate.txs_min}"
        )
        limited = [
            Admission(tagged_hash(tags.TX, raw), Reason.RATE_LIMITED, detail) for raw in raws[room:]
        ]
        self.metrics.mempool_rejected.labels(Reason.RATE_LIMITED.value).inc(len(limited))
        self._refused[Reason.RATE_LIMITED.value] += len(limited)
        return results + limited, gate.retry_after_s()

    def _log_refused(self) -> None:
        for reason, count in sorted(self._refused.items()):
            log.info(
                "refused client transactions",
                extra={"reason": reason, "count": count, "in_s": refused_log_interval_ms // 1000},
            )
        self._refused.clear()

    async def _admit(
        self,
        raws: Sequence[bytes],
        *,
        local: bool,
        decoded: Sequence[Transaction | DecodeError] | None = None,
    ) -> list[Admission]:
        """Admit `raws` a slice at a time. Every slice is screened on the loop first (decoding
        and the cheap checks, which read the pool), its signatures going to the verification
        threads as they are found; the loop then serves other work until a slice's verdicts
        are in and settles the slices into the pool in order. A few transactions are verified
        on the spot, and then nothing yields: a faucet transfer is in the pool before the next
        one is signed with the next nonce. `decoded` is `Transaction.decode_many(raws)` if the
        caller made it already. Client transactions join the next gossip batch as their slice
        settles, before anything can yield: a proposal that reaps them flushes that batch
        ahead of itself (`_broadcast`), so no peer lacks them.

        Screening ahead is what keeps the verification threads busy: with each slice screened
        only once the one before had settled, a client batch of 500 made five trips through
        the threads and back onto the loop, each waiting for the loop's current work (a block
        built or committed), and a lone validator's loop sat idle a fifth of the time at
        `--rate max` with its verification threads a third busy. Decoding stays on the loop:
        the core parses 500 transfers in 0.4 ms with the GIL released, but building their
        objects (3.3 ms) holds it, so a thread only added a trip."""
        results: list[Admission] = []
        bounds = [
            (start, start + admission_slice_txs)
            for start in range(0, len(raws), admission_slice_txs)
        ]
        slices = [
            self.chain.screen(
                list(raws[start:end]),
                local=local,
                decoded=None if decoded is None else decoded[start:end],
            )
            for start, end in bounds
        ]
        for (start, end), screened in zip(bounds, slices, strict=True):
            verifying = screened.verifying
            verdicts = verifying.result() if verifying.done() else await wrap_future(verifying)
            settled = self.chain.settle(screened, verdicts)
            if local and not self.config.testing.withhold_gossip:
                self._gossip += [
                    raw
                    for raw, result in zip(raws[start:end], settled, strict=True)
                    if result.admitted
                ]
            results += settled
        self.metrics.mempool_size.set(len(self.chain.pool))
        self._propose_when_pending()
        return results

    def sign_transaction(
        self, key: ed25519.PrivateKey, message: Message, fee: int, nonce_offset: int = 0
    ) -> Transaction:
        """A transaction from `key`'s account with the next free nonce (after its pending ones)
        plus `nonce_offset`, the chain's minimum fee unless more is given, valid for
        `tx_lifetime_blocks`."""
        sender = Address.from_public_key(key.public_key)
        view = self.chain.admission_view()
        committed_nonce, _ = view.account(sender)
        unsigned = Transaction(
            self.engine_config.chain_id,
            key.public_key,
            self.chain.pool.next_nonce(sender, committed_nonce) + nonce_offset,
            max(fee, view.fee_min),
            self.chain.height + tx_lifetime_blocks,
            message,
        )
        return unsigned.with_signature(key.sign(unsigned.signing_message()))

    def _submit_own(self, message: Message) -> None:
        """Submit a transaction of this node's own (a LogBlock), signed by its node key."""
        self._submit_own_batch([message])

    def _submit_own_batch(self, messages: Sequence[Message]) -> None:
        """Submit transactions of this node's own at consecutive nonces, all signed before any
        is admitted: signed one by one, a burst (storage fault reports) took the same next
        nonce for each, and all but one were refused. They are signed when the task runs, and
        admitted without yielding: signed at the call, LogBlocks submitted from separate
        callbacks before the first task ran took one nonce too (docs/notary.md, "Ahead")."""

        async def submitting() -> None:
            raws = [
                self.sign_transaction(self.node_key, message, 0, offset).encode()
                for offset, message in enumerate(messages)
            ]
            results = await self.submit(raws)
            for message, result in zip(messages, results, strict=True):
                if not result.admitted:
                    # Not `message`: LogRecord has that attribute, and logging refuses it.
                    log.warning(
                        "own transaction refused",
                        extra={"tx_message": type(message).__name__, "reason": str(result.reason)},
                    )

        self._spawn(submitting())

    def faucet_transfer(self, to: Address, denom: Denom, amount: int) -> Transaction:
        if self.faucet_key is None:
            raise ConfigError("this node has no faucet account (faucet_key_file)")
        return self.sign_transaction(self.faucet_key, Transfer(to, amount, denom), 0)

    def _flush_gossip(self) -> None:
        self.hosting.flush()
        pending, self._gossip = self._gossip, []
        for frame in txs_frames(pending):
            self.network.broadcast(frame)

    # Events for the API ------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[StreamEvent]:
        queue: asyncio.Queue[StreamEvent] = asyncio.Queue(subscriber_queue_max)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[StreamEvent]) -> None:
        self._subscribers.discard(queue)

    def _publish(self, event: StreamEvent) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._close_subscriber(queue, "subscriber too slow")

    def _close_subscriber(self, queue: asyncio.Queue[StreamEvent], reason: str) -> None:
        """Cut a reader off; its last item says why (room is made for it if need be)."""
        self._subscribers.discard(queue)
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(StreamEvent.of({"type": "closed", "reason": reason}))

    # Network ----------------------------------------------------------------------------------

    def _link_policy(self) -> None:
        """Whether links must be hybrid, as the committed chain says (`keys` parameters), and
        at the start and each epoch boundary, the peers' recorded ML-DSA keys to pin."""
        state = self.chain.store.state()
        params = keys_params.read_params(state.reader)
        self.network.hybrid_required = bool(params.hybrid_links_required)
        if self._pinned and not staking_queries.params(state.reader).is_epoch_end(state.height):
            return
        if params.hybrid_links_required and not self.network.offers_hybrid:
            log.error(
                "this chain now requires hybrid links and [p2p] hybrid = false: peers refuse "
                "this node's links; remove that line and restart"
            )
        self._pinned = True
        self.rotation.at_boundary(state.reader, state.height)
        pins = {}
        for peer in sorted(self.network.peers):
            key = keys_queries.node_key(state.reader, peer)
            if key is not None:
                pins[peer] = key
        if pins != self.network.pins:
            log.info("peers re-pinned", extra={"pinned": len(pins), "height": state.height})
            self.network.pin(pins)

    def _on_peer(self, peer: Address, connected: bool, reason: str) -> None:
        self.metrics.peers.set(len(self.network.links))
        hybrid = len(self.network.hybrid_links())
        self.metrics.links.labels("hybrid").set(hybrid)
        self.metrics.links.labels("classical").set(len(self.network.links) - hybrid)
        self.metrics.links_authenticated.set(len(self.network.authenticated_links()))
        name = self.peer_names.get(peer, str(peer))
        if connected:
            log.info("peer connected", extra={"peer": name, "peers": len(self.network.links)})
            self.network.send(peer, Status(self.chain.height))
            self.hosting.on_peer_connected(peer)
            if self.rotation.pending is not None:
                self.network.send(peer, PeerAnnounce(self.rotation.pending))
        else:
            log.info(
                "peer dropped",
                extra={"peer": name, "reason": reason, "peers": len(self.network.links)},
            )
            self._peer_heights.pop(peer, None)

    def _on_frame(self, peer: Address, frame: Frame) -> None:
        if isinstance(frame, Consensus):
            try:
                message = decode_message(frame.message, self.chain.pool.known)
            except DecodeError as error:
                self._penalize(peer, error.rule)
                return
            if isinstance(message, CompactProposal):
                self._on_compact(peer, message)
                return
            if not isinstance(message, ProposalMessage):
                self.dispatch(MessageReceived(message))
                return
            if log.isEnabledFor(logging.DEBUG):
                header = message.block.header
                log.debug(
                    "proposal received",
                    extra={
                        "height": header.height,
                        "round": header.round,
                        "txs": len(message.block.txs),
                        "peer": self.peer_names.get(peer, str(peer)),
                    },
                )
            self._receive_proposal(message)
        elif isinstance(frame, Txs):
            # Decoded once, for admission and for the proposals that name them, and kept before
            # admission, which takes a while: a proposal right behind them names them.
            decoded = Transaction.decode_many(frame.txs)
            self._recent.add(decoded)
            if self._inbox_txs + len(frame.txs) > gossip_inbox_txs_max:
                self.metrics.gossip_dropped.inc(len(frame.txs))
                return
            self._inbox.append((peer, frame.txs, decoded))
            self._inbox_txs += len(frame.txs)
            self._inbox_ready.set()
        elif isinstance(frame, GetTxs):
            self._serve_txs(peer, frame)
        elif isinstance(frame, TxsFor):
            self._on_txs_for(frame)
        elif isinstance(frame, GetTxsByHash):
            self._serve_txs_by_hash(peer, frame)
        elif isinstance(frame, TxsByHash):
            self._on_txs_by_hash(frame)
        elif isinstance(frame, Status):
            self._peer_heights[peer] = frame.height
            self._maybe_sync()
        elif isinstance(frame, GetBlock):
            self._serve_block(peer, frame.height)
        elif isinstance(frame, BlockReply):
            self._on_block_reply(peer, frame)
        elif isinstance(frame, NoBlock):
            self._sync_asked = None
        elif isinstance(frame, PeerAnnounce):
            self._on_peer_announce(peer, frame)
        elif isinstance(frame, GetSnapshot):
            height, data = snapshots.part(self.snapshots_dir, frame.height, frame.index)
            self.network.send(peer, SnapshotPart(height, frame.index, data))
        elif isinstance(frame, SnapshotPart):
            if self._fetch is not None:
                blame = self._fetch.on_part(peer, frame.height, frame.index, frame.data)
                if blame is not None:
                    self._penalize(peer, blame)
        elif isinstance(frame, Inclusion):
            blame = self.inclusion.on_frame(frame)
            if blame is not None:
                self._penalize(peer, blame)
        elif isinstance(frame, Receipts | Share | Want | AppState | Evidence):
            blame = self.hosting.on_frame(peer, frame)
            if blame is not None:
                self._penalize(peer, blame)

    # Compact proposals (compact.py, docs/decisions/compact-proposals.md) ----------------------

    def _broadcast(self, message: ConsensusMessage) -> None:
        if not isinstance(message, ProposalMessage):
            self.network.broadcast(Consensus(encode_message(message)))
            return
        # The gossip waiting for its flush goes first: links keep order, so every peer has
        # received each transaction this block reaped before it reads the proposal.
        self._flush_gossip()
        wire = encode_message(compact_of(message))
        self.network.broadcast(Consensus(wire))
        metrics = self.metrics
        metrics.proposals_compact.labels("sent").inc()
        metrics.proposal_bytes.labels("compact").inc(len(wire))
        metrics.proposal_bytes.labels("full").inc(len(encode_message(message)))

    def _on_compact(self, peer: Address, message: CompactProposal) -> None:
        signed = message.signed
        if self._rebuilds.get((signed.height, signed.round, signed.digest)) is not None:
            return  # a repeat of one already waiting for its transactions
        started = compact.start(message, self.chain.pool.get, self._recent.get)
        if isinstance(started, compact.Refused):
            self._compact_refused(message, started, peer)
            return
        started.sender = peer
        if started.complete:
            self._compact_rebuilt(started, "held")
            return
        if self.state is not None:
            self._rebuilds.forget_before(self.state.height, self.state.round)
        self._rebuilds.add(started)
        self._ask_txs(started, [peer])
        self._later(compact.fetch_wait_ms, self._compact_retry, started.key)

    def _compact_rebuilt(self, rebuild: compact.Rebuild, outcome: str) -> None:
        try:
            proposal = rebuild.proposal()
        except DecodeError as error:
            self._compact_refused(
                rebuild.compact, compact.Refused.MALFORMED, rebuild.sender, str(error)
            )
            return
        self.metrics.proposals_compact.labels(outcome).inc()
        self._receive_proposal(proposal)

    def _receive_proposal(self, proposal: ProposalMessage) -> None:
        """Hand the engine a peer's proposal. The one it awaits (this height, a round not behind,
        from that round's proposer, signed) first has the signatures of its transactions that
        this node has not verified verified on the verification threads, while the loop goes
        on: the block's validation then finds them verified, where it waited for them on the
        loop (`Pool.verify_unseen`: 2.4% of a validator's loop at `--rate max` with four, a
        third of it waiting). Anything else goes to the engine at once, which drops or buffers
        it as before, at no signature's cost."""
        state = self.state
        signed = proposal.signed
        if (
            state is None
            or state.decided
            or signed.height != state.height
            or signed.round < state.round
            or signed.signer != state.proposer_address(signed.round)
            or not state.authentic(signed)
        ):
            self.dispatch(MessageReceived(proposal))
            return
        verdicts, remember = self.chain.pool.verify_unseen(proposal.block.txs, wait=False)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a node driven with no event loop (tests) waits on the spot
            loop = None
        if verdicts.done() or loop is None:
            remember()
            self.dispatch(MessageReceived(proposal))
            return
        verdicts.add_done_callback(
            lambda _: loop.call_soon_threadsafe(self._proposal_verified, proposal, remember)
        )

    def _proposal_verified(self, proposal: ProposalMessage, remember: Callable[[], None]) -> None:
        if self._stopping.is_set():
            return

        def receive() -> None:
            remember()
            self.dispatch(MessageReceived(proposal))

        self._drain(receive)

    def _compact_refused(
        self,
        message: CompactProposal,
        reason: compact.Refused,
        peer: Address | None,
        detail: str = "",
    ) -> None:
        self.metrics.proposals_compact.labels(reason.value).inc()
        log.warning(
            "compact proposal refused",
            extra={
                "height": message.signed.height,
                "round": message.signed.round,
                "reason": reason.value,
                "detail": detail,
                "peer": None if peer is None else self.peer_names.get(peer, str(peer)),
            },
        )
        # Unavailable transactions may be no one's fault (a slow link, a peer that moved on);
        # the other reasons are the sender's alone: an honest node never sends such a proposal.
        if peer is not None and reason is not compact.Refused.UNAVAILABLE:
            self._penalize(peer, f"compact_{reason.value}")

    def _ask_txs(self, rebuild: compact.Rebuild, peers: list[Address]) -> None:
        rebuild.asks += 1
        signed = rebuild.compact.signed
        frame = GetTxs(signed.height, signed.round, rebuild.lacking_indexes())
        for peer in peers:
            self.network.send(peer, frame)

    def _compact_retry(self, key: tuple[int, int, bytes]) -> None:
        state = self.state
        if state is not None:
            self._rebuilds.forget_before(state.height, state.round)
        rebuild = self._rebuilds.get(key)
        if rebuild is None:
            return  # rebuilt, or its round is over
        if rebuild.asks >= compact.asks_max:
            self._rebuilds.drop(key)
            self._compact_refused(rebuild.compact, compact.Refused.UNAVAILABLE, rebuild.sender)
            return
        # The sender did not answer in time. Any peer that accepted the proposal can, but every
        # peer is asked only for a proposal signed by its round's proposer: anyone can send
        # hashes that match nothing, and no one should make this node flood the others for them.
        signed = rebuild.compact.signed
        vouched = (
            state is not None
            and signed.height == state.height
            and signed.signer == state.proposer_address(signed.round)
            and state.authentic(signed)
        )
        sender = [] if rebuild.sender is None else [rebuild.sender]
        self._ask_txs(rebuild, sorted(self.network.links) if vouched else sender)
        self._later(compact.fetch_wait_ms, self._compact_retry, key)

    def _serve_txs(self, peer: Address, frame: GetTxs) -> None:
        """Answer from the proposal of (height, round) that the engine accepted, if any: the
        proposer's own, or one this node rebuilt; once this node committed that height, from
        the stored block, the proposal of the certificate's round (a peer a commit behind
        still rebuilds it, to catch up without a block sync)."""
        txs = self._proposal_txs(frame.height, frame.round)
        if txs is None:
            return
        # Each place once: repeated places could make the answer larger than a frame.
        places = [index for index in dict.fromkeys(frame.indexes) if index < len(txs)]
        if places:
            self.network.send(
                peer, TxsFor(frame.height, frame.round, tuple(txs[i].encode() for i in places))
            )

    def _proposal_txs(self, height: int, round_: int) -> tuple[Transaction, ...] | None:
        state = self.state
        if state is not None and state.height == height:
            proposal = state.proposals.get(round_)
            return None if proposal is None else proposal.block.txs
        if not 0 < height <= self.chain.height:
            return None
        certificate = self.store.certificate(height)
        block = self.store.block(height)
        if certificate is None or certificate.round != round_ or block is None:
            return None
        return block.txs

    def _on_txs_for(self, frame: TxsFor) -> None:
        # Kept, so that a later proposal of the same transactions (a round that failed) is
        # rebuilt without asking again.
        decoded = Transaction.decode_many(frame.txs)
        self._recent.add(decoded)
        for rebuild in self._rebuilds.answer(frame.height, frame.round, frame.txs, decoded):
            self.metrics.proposal_txs_fetched.inc(rebuild.fetched)
            self._compact_rebuilt(rebuild, "fetched")

    async def _admit_gossiped(self) -> None:
        """Admit gossiped transactions, one frame after another, off the frame reader."""
        try:
            while True:
                await self._inbox_ready.wait()
                self._inbox_ready.clear()
                while self._inbox:
                    peer, txs, decoded = self._inbox.popleft()
                    self._inbox_txs -= len(txs)
                    results = await self._admit(txs, local=False, decoded=decoded)
                    if any(result.reason is Reason.MALFORMED for result in results):
                        self._penalize(peer, "malformed_tx")
                    self._watch_gossip(peer, results)
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            # Admission answers every refusal with a reason; anything raised is a bug: stop
            # the node, and `run` re-raises it.
            log.critical("halting on a bug in admission", exc_info=True, extra=self._position())
            self._halted = error
            self._stopping.set()

    def _penalize(self, peer: Address, reason: str) -> None:
        self.network.penalize(peer, net_constants.penalty_malformed, reason)

    def _watch_gossip(self, peer: Address, results: list[Admission]) -> None:
        """Tell the guard what a peer's gossip was worth. Every validator gossips to every
        other, so a transaction arriving again is normal, but not again from the same peer."""
        sent = self._gossip_seen.setdefault(peer, collections.OrderedDict())
        at = now_ms()
        if any(result.admitted for result in results):
            self.guard.peer(peer, Kind.DELIVERY, at)
        for result in results:
            if result.reason is Reason.BAD_SIGNATURE:
                self.guard.peer(peer, Kind.BAD_SIGNATURE, at)
            if result.hash is None:
                continue
            if result.hash in sent:
                self.guard.peer(peer, Kind.DUPLICATE, at)
            else:
                sent[result.hash] = None
                if len(sent) > gossip_seen_per_peer_max:
                    sent.popitem(last=False)

    # Guard (docs/security.md) -------------------------------------------------------------------

    async def _fit_guard(self) -> None:
        await asyncio.to_thread(self.guard.fit)
        log.info("guard model fitted")

    def _guard_tick(self) -> None:
        self.guard.tick(now_ms())
        for kind, statuses in self.guard.status(now_ms()).items():
            counts = collections.Counter(status.verdict for status in statuses)
            for verdict in Verdict:
                self.metrics.guard_subjects.labels(kind, verdict.value).set(counts[verdict])

    def _on_guard_refused(self, kind: str, verdict: Verdict) -> None:
        self.metrics.guard_refused.labels(kind, verdict.value).inc()

    def _on_guard_ban(self, kind: str, subject: str, ban_ms: int) -> None:
        self.metrics.guard_bans.labels(kind).inc()
        log.warning("guard ban", extra={"subject": subject, "ban_ms": ban_ms})

    def _on_offence(self, _peer: Address, reason: str) -> None:
        self.metrics.peer_penalties.labels(reason).inc()

    # State snapshots and state sync (node/snapshots.py) ----------------------------------------

    def _maybe_snapshot(self, height: int) -> None:
        interval = self.config.sync.snapshot_interval_blocks
        if not interval or height % interval or self._stopping.is_set():
            return
        if self._snapshotting is not None and not self._snapshotting.done():
            log.warning(
                "snapshot skipped: the last is still being written", extra={"height": height}
            )
            return
        # Off the loop: one read transaction of the committed height, whatever commits next.
        self._snapshotting = asyncio.get_running_loop().run_in_executor(
            None, snapshots.make, self.store, self.snapshots_dir, self.config.sync.snapshots_keep
        )

    def _state_sync_tick(self) -> None:
        fetch = self._fetch
        if fetch is None:
            return
        if fetch.complete:
            assembled = fetch.assemble()
            if isinstance(assembled, snapshots.Assembled):
                for blamed in assembled.blamed:
                    self._penalize(blamed, "snapshot_chunk_mismatch")
                self._install(assembled)
                return
            peer, blame = assembled
            self._penalize(peer, blame)
        for peer, request in fetch.requests(sorted(self.network.links), now_ms()):
            self.network.send(peer, request)

    def _install(self, assembled: snapshots.Assembled) -> None:
        manifest = assembled.manifest
        self.store.install(
            manifest.block, manifest.certificate, manifest.receipts, assembled.items, assembled.tree
        )
        self._fetch = None
        self.chain.reset(self._new_pool())
        self.hosting.reset()
        log.info(
            "state synced",
            extra={
                "height": manifest.height,
                "keys": len(assembled.items),
                "chunks": len(manifest.chunk_hashes),
                "s": round(time.monotonic() - self._state_sync_started, 3),
            },
        )
        self._start_engine()

    def _announce(self) -> None:
        self.network.broadcast(Status(self.chain.height))
        self.metrics.mempool_size.set(len(self.chain.pool))
        self._maybe_sync()

    def _maybe_sync(self) -> None:
        if self.state is None or self._fetch is not None:
            return
        height = self.state.height
        if any(peer_height >= height for peer_height in self._peer_heights.values()):
            self._request_block(height)

    def _request_block(self, height: int) -> None:
        current = now_ms()
        if self._sync_asked is not None:
            asked_height, asked_at = self._sync_asked
            if asked_height == height and current - asked_at < sync_request_timeout_ms:
                return
        ahead = sorted(
            (peer for peer, peer_height in self._peer_heights.items() if peer_height >= height),
            key=lambda peer: (-self._peer_heights[peer], peer),
        )
        if not ahead:
            return
        self._sync_asked = (height, current)
        self.network.send(ahead[0], GetBlock(height))

    def _serve_block(self, peer: Address, height: int) -> None:
        block = self.store.block(height) if 0 < height <= self.chain.height else None
        certificate = self.store.certificate(height) if block is not None else None
        if block is None or certificate is None:
            self.network.send(peer, NoBlock(height))
            return
        self.network.send(peer, BlockReply(height, block.encode(), certificate.encode()))

    def _on_block_reply(self, peer: Address, frame: BlockReply) -> None:
        state = self.state
        if state is None or frame.height != state.height:
            # Decided meanwhile, as it mostly is: a node one height behind asks when its peers'
            # STATUS comes, and their COMMIT votes, ahead of the reply on the same links, decide
            # the height first. Decoding the whole block to drop it was 2.7% of a validator's
            # loop at `--rate max` with four (py-spy, w17).
            self._sync_asked = None
            return
        try:
            block = Block.decode(frame.block)
            certificate = CommitCertificate.decode(frame.certificate)
        except DecodeError as error:
            self._penalize(peer, error.rule)
            return
        self._sync_asked = None
        if block.header.height == state.height:
            self.metrics.blocks_synced.inc()
            self.dispatch(BlockSynced(block, certificate))

    def admit_peer(self, certificate: bytes, *, announce: bool = True) -> tuple[PeerConfig, bool]:
        """Admit a registered node as a peer (admission.py): (the peer, whether it is new).
        A new peer is kept beside the config and, with `announce`, passed on to the peers."""
        peer = admission.registered_peer(self.store.state().reader, certificate)
        try:
            new = self.network.add_peer(peer)
        except VerificationError as error:
            raise admission.PeerRefused(str(error)) from None
        if new:
            admission.save(self.paths.home, peer)
            self.peer_names.setdefault(peer.node_id, str(peer.node_id))
            log.info(
                "peer admitted",
                extra={"peer": str(peer.node_id), "p2p": f"{peer.host}:{peer.port}"},
            )
            if announce:
                self.network.broadcast(PeerAnnounce(peer.certificate))
        return peer, new

    def _on_peer_announce(self, peer: Address, frame: PeerAnnounce) -> None:
        rotated, new = self.rotation.trust_announced(self.store.state().reader, frame.certificate)
        if rotated:
            if new is not None:  # passed on once, as admissions are
                self.network.broadcast(PeerAnnounce(new), skip=peer)
            return
        try:
            self.admit_peer(frame.certificate)
        except admission.PeerRefused as error:
            # Not blamed: the sender may have committed the registration before this node.
            log.info(
                "peer announcement refused",
                extra={"peer": self.peer_names.get(peer, str(peer)), "reason": str(error)},
            )

    # Light-client attack evidence ---------------------------------------------------------

    def accept_light_attack(self, evidence: LightAttackEvidence) -> LightAttackItem:
        """Check the evidence against this node's chain and queue it for the next proposal
        (state/registry/light_attack.py slashes in that block); raise EvidenceRefused."""
        height = evidence.conflicting_header.height
        if height > self.store.height:
            raise EvidenceRefused(
                "not_a_conflict", f"height {height} is above this chain ({self.store.height})"
            )
        for at, named in ((evidence.common_height, evidence.common_hash), (height, None)):
            block = self.store.block(at)
            if block is None or (named is not None and block.hash() != named):
                raise EvidenceRefused(
                    "not_a_conflict", f"the header at the common height {at} is not this chain's"
                )
        item = LightAttackItem(evidence, self.store.certificate(height))
        code = light_attack.screen(self.store.state().reader, self.store.height + 1, item)
        if code != OK:
            raise EvidenceRefused(
                name_of(code).removeprefix("registry."),
                f"{name_of(code)}: a block carrying this evidence would be refused with it",
            )
        self._queue_evidence(item.encode())
        log.info(
            "light attack evidence queued",
            extra={"height": height, "evidence": evidence.hash().hex()},
        )
        return item

    def _queue_evidence(self, encoded: bytes) -> None:
        """Queue a block evidence item for this node's next proposal; raise EvidenceRefused."""
        state = self.state
        if state is None or encoded in state.evidence:
            raise EvidenceRefused("evidence_already_used", "this evidence is queued already")
        if len(state.evidence) >= consensus_constants.evidence_pending_max:
            raise EvidenceRefused("queue_full", "the evidence queue is full: retry after a block")
        state.evidence[encoded] = None
        waiting = self._waiting
        if waiting is not None:
            # A proposal waiting for transactions took its evidence when its round began:
            # evidence is work too, so propose now, with it.
            self._waiting = None
            self._propose(replace(waiting, evidence=(*waiting.evidence, encoded)))

    def _censors(self, action: ValidateBlock) -> bool:
        """Whether the proposal leaves out what a held inclusion list names; if so, and the
        lists held make the case on chain data, queue omission evidence against its proposer."""
        violation = self.inclusion.violates(action.block)
        if violation is None:
            return False
        proposal = self.state.proposals.get(action.round) if self.state else None
        item = (
            None
            if proposal is None
            else self.inclusion.evidence(action.block, violation, proposal.signed)
        )
        if item is not None:
            try:
                self._queue_evidence(item.encode())
            except EvidenceRefused as refused:
                log.info("omission evidence not queued", extra={"reason": refused.reason})
            else:
                self.metrics.inclusion_evidence.inc()
                log.warning(
                    "omission evidence queued",
                    extra={
                        **inclusion.log_fields(violation),
                        "tx": item.tx.hash().hex(),
                        "lists": len(item.lists),
                    },
                )
        return True

    # Health, readiness and reload --------------------------------------------------------------

    def readiness(self) -> readiness.Readiness:
        """The checks of `GET /ready` (node/readiness.py), also set in the ready gauges."""
        if self._halted is not None:
            stopped: str | None = f"halted: {self._halted}"
        elif self._stopping.is_set():
            stopped = "stopping"
        elif self.state is None:
            stopped = "consensus has not started"
        else:
            stopped = None
        height = self.chain.height
        server = self.config.server
        assessed = readiness.assess(
            readiness.Figures(
                stopped=stopped,
                height=height,
                best_height=max([height, *self._peer_heights.values()]),
                peers=len(self.network.links),
                store_problem=self._store_problem(height),
                lag_blocks_max=server.ready_lag_blocks_max,
                peers_min=self.config.ready_peers_min,
            )
        )
        self.metrics.ready.set(int(assessed.ready))
        self.metrics.blocks_behind.set(assessed.figures.lag)
        for one in assessed.checks:
            self.metrics.ready_checks.labels(one.name).set(int(one.ok))
        return assessed

    def _store_problem(self, height: int) -> str | None:
        """What is wrong with the stored tip, read once per height (a block's decoding)."""
        if self._store_verdict is None or self._store_verdict[0] != height:
            self._store_verdict = (height, self._tip_problem(height))
        return self._store_verdict[1]

    def _tip_problem(self, height: int) -> str | None:
        if height == 0:
            return None
        stored = self.store.state()
        try:
            block = self.store.block(height)
        except DecodeError as error:
            return f"the tip block {height} does not decode: {error}"
        if block is None:
            return f"the tip block {height} is missing from the store"
        if block.header.state_root != stored.state_root:
            return (
                f"the stored state root {stored.state_root.hex()} is not the one block "
                f"{height}'s header names ({block.header.state_root.hex()})"
            )
        if block.hash() != stored.block_hash:
            return f"the stored tip hash is not block {height}'s hash"
        return None

    def reload(self) -> list[str]:
        """Re-read the configuration and apply its `[server]` bounds and `[log] level` (SIGHUP,
        `bpci server reload`); return the other settings that changed, which take a restart.
        A configuration that does not load changes nothing (the error is logged)."""
        try:
            new = node_config.load(self.paths.config)
        except ConfigError as error:
            log.error("reload refused: %s", error)
            return []
        pending = node_config.changed_needing_restart(self.config, new)
        # The roles were wired in at start: they change with a restart only.
        server = new.server.model_copy(update={"roles": self.config.server.roles})
        self.config = self.config.model_copy(update={"server": server, "log": new.log})
        logging.getLogger().setLevel(new.log.level.upper())
        self._store_verdict = None
        log.info(
            "configuration reloaded",
            extra={"log_level": new.log.level, "pending_restart": ", ".join(pending) or "none"},
        )
        return pending

    # Reading for the API -----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        state = self.state
        return {
            "name": self.config.name,
            "node_id": str(self.me),
            "chain_id": self.engine_config.chain_id,
            "height": self.chain.height,
            "deciding": state.height if state else None,
            "round": state.round if state else None,
            "peers": len(self.network.links),
            "mempool": len(self.chain.pool),
            "state_root": self.store.state().state_root.hex(),
            "block_hash": self.store.state().block_hash.hex(),
            "validator": bool(state and state.is_validator),
        }


class EvidenceRefused(MetanodeError):
    """Light-client attack evidence this node does not queue: `reason` is the registry code's
    name without its module (`light_attack_not_a_conflict`, `evidence_too_old`…) or
    `not_a_conflict` / `queue_full` from the node's own checks."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def _read_certificate(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read the peer certificate {path}: {error.strerror}") from None
