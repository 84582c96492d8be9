"""The application side of consensus, over the store and the mempool: no asyncio, no sockets.

The engine asks (`RequestProposal`, `ValidateBlock`, `CommitBlock`); this answers. Each block
is executed once per node: the proposer keeps the changes `build_block` computed, a validator
keeps those of `apply_block`, and the commit stores them (or executes a block synced from a
peer, whose certificate consensus has checked). Transactions admitted to this node's mempool
were verified there and are not verified again (`verified`); those a block brings that the
mempool has not seen are verified in the worker processes before the block is executed
(`Pool.verify_unseen`), not one by one on the event loop (py-spy on a validator at
`--rate max` with four validators: 23% of its loop was `crypto_sign_open` inside
`apply_block`).

A proposal carries the certificate of the last block from this node's store; a block from a
peer has its last certificate verified here, against the set that signed the last block,
before it is executed (the state machine has no BLS suite; it checks the rest).

The wall clock enters here, at the edge, twice: the proposer stamps its block with its time,
and a validator refuses a block stamped more than `future_drift_ms_max` ahead of its own. The
state machine only ever sees the header's timestamp.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from metanode.consensus.certificate import verify_certificate
from metanode.consensus.suite import Suite
from metanode.consensus.validators import Validator, ValidatorSet, genesis_seed, vrf_input
from metanode.errors import DecodeError, VerificationError
from metanode.mempool.pool import Admission, Pool, Screened
from metanode.state import machine
from metanode.state.auth.queries import AdmissionView
from metanode.state.machine import BlockChanges, InvalidBlock
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.records import SetMember
from metanode.state.store import Store
from metanode.state.view import StateReader, read_many
from metanode.types import Address, Block, CommitCertificate, Receipt, Transaction
from metanode.types import constants as types_constants

future_drift_ms_max = 5_000
# Pending proposals kept per height (one per round seen); a bound, not a cache policy.
pending_blocks_max = 64
# Seeds of recent heights: executors and notaries ask for one per call and per received receipt,
# and each answer is a block read and a VRF proof-to-hash. A committed height's seed never
# changes, so a bounded memo is exact.
seeds_memo_max = 1_024
# Committed-state rows remembered for admission within one height: about one per sender that
# sent in the height, plus the parameters. A bound, not a cache policy.
admission_reads_max = 65_536


class CommittedReads:
    """A `StateReader` over the committed state that remembers each row it read (absent ones
    too) in `memo`, which the chain keeps for as long as the committed state is the same.
    Admission reads a sender's account when it screens, settles, reaps and cleans up after a
    commit, and every LMDB `get` releases the GIL: at `--rate max` with one validator the loop
    then waited for the decoding and verification threads on each read, 16% of it (py-spy).
    A proposal's and a validated block's execution read through it too
    (`Chain._committed_reads`)."""

    __slots__ = ("_memo", "_reader")

    def __init__(self, reader: StateReader, memo: dict[bytes, bytes | None]) -> None:
        self._reader = reader
        self._memo = memo

    def get(self, key: bytes) -> bytes | None:
        try:
            return self._memo[key]
        except KeyError:
            value = self._reader.get(key)
            if len(self._memo) >= admission_reads_max:
                self._memo.clear()
            self._memo[key] = value
            return value

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        """`get` of each key, the rows not remembered read in one batch (a block's transfer
        run asks for each account it touches and each sender's migration flag at once)."""
        memo = self._memo
        missing = [key for key in keys if key not in memo]
        if not missing:
            return [memo[key] for key in keys]
        read = dict(zip(missing, read_many(self._reader, missing), strict=True))
        values = [read[key] if key in read else memo[key] for key in keys]
        if len(memo) + len(read) > admission_reads_max:
            memo.clear()
        memo.update(read)
        return values

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self._reader.scan(prefix)


@dataclass(frozen=True, slots=True)
class Committed:
    block: Block
    certificate: CommitCertificate
    receipts: tuple[Receipt, ...]
    tx_hashes: tuple[bytes, ...]
    state_root: bytes


class Chain:
    def __init__(self, store: Store, pool: Pool, suite: Suite, block_txs_max: int) -> None:
        self.store = store
        self.pool = pool
        self.suite = suite
        self.block_txs_max = block_txs_max
        # Senders whose transactions this node's proposals leave out: empty but under the
        # `[testing] censor` harness (misbehaviour.py).
        self.censored: frozenset[Address] = frozenset()
        self.chain_id = store.genesis.chain_id
        self._pending: dict[bytes, BlockChanges] = {}
        self._seeds: dict[int, bytes] = {}
        # The committed state as this chain last read it: each `Store.state()` reads the tip
        # from three meta rows, and asked for every slice a batch is screened and settled in
        # (the height, the admission view) those gets were 4.7% of the loop at max.
        self._state: machine.LedgerState | None = None
        self._seed = self._stored_seed()
        # The certificate this chain last committed with. The engine verified it (every
        # `CommitBlock` follows a `verify_certificate` against the height's set), so when the
        # next block carries the same one as its last certificate, as it does whenever its
        # proposer built it from the same votes (always on this node's own proposals), the
        # pairing check is not run again (≈ 5% of a node's samples in bench.apps).
        self._certified: CommitCertificate | None = None
        # The committed state the admission and execution reads are of: (height, state root,
        # block hash), which names it whatever wrote it (a commit, a state sync, a dev chain's
        # revert).
        self._admission_state: tuple[int, bytes, bytes] | None = None
        self._admission_reads: dict[bytes, bytes | None] = {}

    def reset(self, pool: Pool) -> None:
        """Forget what was read from the store, which a dev chain's revert rewrote, and take
        `pool` (empty) as the mempool."""
        self.pool = pool
        self._state = None
        self._pending.clear()
        self._seeds.clear()
        self._seed = self._stored_seed()
        self._certified = None

    # What the next height runs with -----------------------------------------------------------

    def _committed(self) -> machine.LedgerState:
        """The store's committed state. This chain commits every block; what else rewrites the
        store (state sync's install, a dev chain's revert) calls `reset` after."""
        if self._state is None:
            self._state = self.store.state()
        return self._state

    @property
    def height(self) -> int:
        """The committed height; consensus runs height + 1."""
        return self._committed().height

    def validator_set(self) -> ValidatorSet:
        return consensus_set(staking_queries.validator_set(self._committed().reader))

    def seed(self) -> bytes:
        return self._seed

    def _stored_seed(self) -> bytes:
        return self.seed_at(self.height)

    def seed_at(self, height: int) -> bytes:
        """The chain's VRF seed after block `height` (the genesis seed at 0): what the proposer
        draw of `height + 1` and the executor draw of an epoch starting there read."""
        seed = self._seeds.get(height)
        if seed is not None:
            return seed
        if height == 0:
            seed = genesis_seed(self.chain_id, self.store.genesis.hash())
        else:
            block = self.store.block(height)
            if block is None:
                raise DecodeError("missing_block", f"the store's block {height} is absent")
            seed = self.suite.vrf_output(block.header.vrf_proof)[:32]
        self._remember_seed(height, seed)
        return seed

    def _remember_seed(self, height: int, seed: bytes) -> None:
        if len(self._seeds) >= seeds_memo_max:
            self._seeds.clear()
        self._seeds[height] = seed

    # Mempool ---------------------------------------------------------------------------------

    def _committed_reads(self) -> machine.LedgerState:
        """The committed state, its rows read through the chain's memo (`CommittedReads`): what
        admission checks against, and what proposals and validated blocks execute on (the
        senders' accounts and migration flags admission read, and the accounts every block
        credits, without an LMDB get each; py-spy of one validator at max put 4.8% of its loop
        in those gets)."""
        state = self._committed()
        named = self._state_name(state)
        if named != self._admission_state:
            self._admission_state = named
            self._admission_reads = {}
        return dataclasses.replace(
            state, reader=CommittedReads(state.reader, self._admission_reads)
        )

    def admission_view(self) -> AdmissionView:
        return AdmissionView(self._committed_reads().reader)

    @staticmethod
    def _state_name(state: machine.LedgerState) -> tuple[int, bytes, bytes]:
        return state.height, state.state_root, state.block_hash

    def _carry_committed_reads(
        self, parent: tuple[int, bytes, bytes], changes: BlockChanges
    ) -> None:
        """Keep the memo of committed rows across a commit on the state it was read in: the
        committed state is that state with the block's writes (`Store._write_state`), so the
        remembered rows the block wrote take their new values and the rest stay exact. Most
        senders of a height send again in the next; reading them afresh was two GIL-releasing
        gets each. Execution reads through the memo, so its exactness is consensus's: a row it
        held stale would change the state a proposal or a validation computes."""
        if self._admission_state != parent:
            return  # the next read starts a memo for the new state
        reads = self._admission_reads
        for key, value in changes.writes:
            if key in reads:
                reads[key] = value
        self._admission_state = (changes.height, changes.state_root, changes.block_hash)

    def screen(
        self,
        raws: list[bytes],
        *,
        local: bool,
        decoded: Sequence[Transaction | DecodeError] | None = None,
    ) -> Screened:
        return self.pool.screen(
            raws, self.admission_view(), self.height + 1, local=local, decoded=decoded
        )

    def settle(self, screened: Screened, verdicts: list[bool]) -> list[Admission]:
        return self.pool.settle(screened, verdicts, self.admission_view(), self.height + 1)

    # Consensus requests ----------------------------------------------------------------------

    def propose(
        self,
        height: int,
        round_: int,
        evidence: tuple[bytes, ...],
        me: Address,
        now_ms: int,
        listed: Sequence[Transaction] = (),
    ) -> Block:
        """A block of `listed` first (what held inclusion lists name, node/inclusion.py), then
        the pool's transactions by fee; `build_block` leaves out any that fails the ladder."""
        state = self._committed_reads()
        if height != state.height + 1:
            raise InvalidBlock("wrong_height", f"asked to propose {height} at {state.height}")
        candidates = self.pool.reap(self.block_txs_max, types_constants.block_bytes_max)
        if listed:
            first = {tx.hash() for tx in listed}
            candidates = [*listed, *(tx for tx in candidates if tx.hash() not in first)]
        if self.censored:  # each sender's address is a hash of its key: only under the harness
            candidates = [tx for tx in candidates if tx.sender_address not in self.censored]
        proposal = machine.build_block(
            state,
            candidates,
            timestamp_ms=now_ms,
            proposer=me,
            round=round_,
            vrf_proof=self.suite.vrf_prove(vrf_input(self._seed, height)),
            verified=self.pool.verified_hashes(),
            txs_max=self.block_txs_max,
            evidence=evidence,
            last_certificate=self.store.certificate(state.height) if state.height else None,
        )
        self._keep(proposal.block.hash(), proposal.changes)
        return proposal.block

    def validate(self, block: Block, now_ms: int) -> bool:
        digest = block.hash()
        if digest in self._pending:
            return True
        if block.header.timestamp_ms > now_ms + future_drift_ms_max:
            return False
        try:
            changes = self._apply(block)
        except (InvalidBlock, DecodeError):
            return False
        self._keep(digest, changes)
        return True

    def _apply(self, block: Block) -> BlockChanges:
        state = self._committed_reads()
        self._verify_last_certificate(state, block)
        return machine.apply_block(
            state,
            block,
            verified=self.pool.verified_hashes(),
            preverify=self._verify_unseen,
        )

    def _verify_unseen(self, txs: Sequence[Transaction]) -> None:
        self.pool.verify_unseen(txs)

    def _verify_last_certificate(self, state: machine.LedgerState, block: Block) -> None:
        """The BLS half of the last certificate's check (the state machine checks the rest): a
        quorum of the set that signed the last block signed it. Raises InvalidBlock."""
        certificate = block.last_certificate
        if certificate is None or certificate.height != state.height or not state.height:
            return  # apply_block refuses what is missing or misplaced
        if certificate == self._certified:
            return
        members = staking_queries.validator_set_at(state.reader, state.height)
        if members is None:
            raise InvalidBlock("wrong_last_certificate", f"no set for height {state.height}")
        try:
            verify_certificate(certificate, state.block_hash, consensus_set(members), self.suite)
        except VerificationError as error:
            raise InvalidBlock("last_certificate_invalid", str(error)) from None

    def _keep(self, digest: bytes, changes: BlockChanges) -> None:
        if len(self._pending) >= pending_blocks_max:
            self._pending.clear()
        self._pending[digest] = changes

    def commit(self, block: Block, certificate: CommitCertificate) -> Committed:
        """Store a final block. A block synced from a peer is executed here; a block that a
        quorum certified but this node cannot execute is a fork of the state machine, and
        `InvalidBlock` propagates (the node halts rather than diverge)."""
        changes = self._pending.get(block.hash())
        if changes is None:
            changes = self._apply(block)
        parent = self._state_name(self._committed())
        self._state = self.store.commit(changes, certificate)
        self._carry_committed_reads(parent, changes)
        self._pending.clear()
        self._certified = certificate
        self._seed = self.suite.vrf_output(block.header.vrf_proof)[:32]
        # The executor draw of an epoch starting here reads it: without it, `seed_at` decoded
        # the whole block back from the store for its VRF proof.
        self._remember_seed(changes.height, self._seed)
        self.pool.remove_committed(block.txs, self.admission_view(), changes.height + 1)
        return Committed(
            block, certificate, changes.receipts, changes.tx_hashes, changes.state_root
        )


def consensus_set(members: tuple[SetMember, ...]) -> ValidatorSet:
    return ValidatorSet.of(
        [
            Validator(m.address, m.power, m.public_key, m.bls_public_key, m.vrf_public_key)
            for m in members
        ]
    )
