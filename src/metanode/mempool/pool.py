"""The transaction pool.

Admission of a batch of raw transactions, each through one guard ladder in a pinned order
(tests/mempool/test_pool.py pins it): too_large, malformed, duplicate, then the state machine's
own envelope rungs (wrong_chain, expired, fee_too_low — the same code as in a block), then
nonce_too_low, nonce_gap_too_large, insufficient_fee_balance, replacement_fee_too_low,
sender_full; the survivors' signatures are verified in two worker processes, which start on
the first while the rest of the batch is still being screened (bad_signature), and finally room
is made (pool_full). Cheap checks come first so that a flood costs us decoding, not signature
checks. A verified transaction is remembered by hash and never verified again by this node;
the block proposer and validator receive those hashes.

Two steps: `screen` (decode and the cheap rungs; the pool does not change) and `settle` (the
verdicts in, insert). A node awaits the verdicts between the two with its event loop free, so
the pool may have moved meanwhile (another batch settled, a block committed): `settle` then
puts each candidate through the state's rungs again. `admit_batch` is the two back to back.

Order: across senders, highest fee first; within a sender, nonce order, and only the run that
starts at the account's next nonce is executable. Equal fees go by admission order (first
come, first reaped), never by dict or hash order. A pending transaction is replaced only by
one paying at least 10% more. When full, the lowest-fee transaction is evicted for a better
one; a transaction that cannot beat the lowest fee is refused `pool_full`. Transactions this
node's clients submit (`local`) may fill only its share of the pool (`share_among`: 1/N of the
pool, or of a smaller bound on all clients' transactions, with N validators), and past it are
refused `pool_full` as well; the rest is room for its peers' gossip. Expired transactions
leave at each new height.
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from collections.abc import Iterable, KeysView, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.crypto.verifiers import BatchVerifier
from metanode.errors import DecodeError, check
from metanode.mempool import constants
from metanode.mempool.reasons import Reason
from metanode.state.auth import errors as auth_errors
from metanode.state.auth.messages import check_envelope
from metanode.state.auth.signatures import verify_tx_signature
from metanode.state.codes import OK
from metanode.types import Address, Transaction
from metanode.types import constants as types_constants

# Signatures handed to a verification process at a time while a batch is screened: small
# enough that the workers start early and finish close behind the screening, large enough that
# the hand-over (one framed write down a worker's pipe) stays small beside 64 verifications.
_VERIFY_CHUNK_TXS = 64

_ENVELOPE_REASONS = {
    auth_errors.WRONG_CHAIN: Reason.WRONG_CHAIN,
    auth_errors.EXPIRED: Reason.EXPIRED,
    auth_errors.FEE_TOO_LOW: Reason.FEE_TOO_LOW,
}


class LedgerView(Protocol):
    """What admission reads from committed state."""

    fee_min: int

    def account(self, address: Address) -> tuple[int, int]:
        """(the nonce its next transaction must carry, its FLX balance in base units)."""
        ...


@dataclass(frozen=True, slots=True)
class Admission:
    hash: bytes | None
    reason: Reason | None

    @property
    def admitted(self) -> bool:
        return self.reason is None


@dataclass(slots=True)
class _Entry:
    tx: Transaction
    hash: bytes
    sender: Address
    size: int
    arrival: int  # admission order: among equal fees the first come is reaped first
    local: bool = False  # submitted to this node by a client (not gossiped by a peer)


@dataclass(frozen=True, slots=True)
class Screened:
    """A batch after the cheap checks, its signatures being verified (`Pool.screen`)."""

    results: list[Admission | None]  # the refusals so far, by position in the batch
    # (position, entry, whether `verifying` holds its verdict: Ed25519 and not verified before)
    candidates: list[tuple[int, _Entry, bool]]
    verifying: Future[list[bool]]  # the Ed25519 verdicts, in candidate order
    version: int  # the pool's version when screened
    height: int


class Pool:
    def __init__(
        self,
        chain_id: str,
        txs_max: int = constants.pool_txs_max,
        local_txs_max: int | None = None,
    ) -> None:
        check(0 < txs_max <= constants.pool_txs_max, f"pool txs_max {txs_max} out of range")
        self.chain_id = chain_id
        self.txs_max = txs_max
        self.share(txs_max if local_txs_max is None else local_txs_max)
        self._local = 0  # pending entries that clients submitted here
        self._by_hash: dict[bytes, _Entry] = {}
        self._by_sender: dict[Address, dict[int, _Entry]] = {}
        self._by_fee: list[tuple[int, bytes]] = []  # (fee, hash), lazily cleaned
        self._by_expiry: list[tuple[int, bytes]] = []  # (expiry height, hash)
        # Oldest first, bounded. An OrderedDict, not a dict: at the bound every insert drops the
        # oldest, and a dict's `next(iter(...))` walks the deleted slots at its front (5.5 µs an
        # insert at 200,000 against 1.2 µs).
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._arrivals = itertools.count()
        self._version = 0  # bumped by every insertion and removal: `settle` knows what moved
        self.bytes = 0
        self.verifications = 0

    def share(self, local_txs_max: int) -> None:
        """Let this node's clients hold at most `local_txs_max` of the pool; the rest is room
        for what peers gossip. A node sets it to its 1/N share (`share_among`)."""
        check(0 < local_txs_max <= self.txs_max, f"pool local_txs_max {local_txs_max} out of range")
        self.local_txs_max = local_txs_max

    def share_among(self, validators: int, clients_txs_max: int = 0) -> None:
        """Clients of each of `validators` nodes get an equal share of `clients_txs_max` (0: the
        whole pool). Without it, at overload every pool filled with its own clients'
        transactions and refused its peers' gossip, so each transaction waited for its own
        validator's turn to propose (4 validators at `--rate max`, 40 s: p99 19,507–24,539 ms;
        with a quarter share 3,772–4,680 ms, docs/performance.md)."""
        check(0 <= clients_txs_max <= self.txs_max, "clients_txs_max exceeds the pool")
        total = clients_txs_max or self.txs_max
        self.share(max(1, total // max(1, validators)))

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes) -> Transaction | None:
        entry = self._by_hash.get(tx_hash)
        return entry.tx if entry else None

    def known(self, raw: bytes) -> Transaction | None:
        """The pending transaction with exactly these bytes, decoded (for `Block.decode`)."""
        entry = self._by_hash.get(tagged_hash(tags.TX, raw))
        return entry.tx if entry is not None else None

    def next_nonce(self, sender: Address, committed_nonce: int) -> int:
        """The nonce a new transaction of `sender` should carry, after its pending ones."""
        pending = self._by_sender.get(sender, {})
        nonce = committed_nonce
        while nonce in pending:
            nonce += 1
        return nonce

    def verified_hashes(self) -> KeysView[bytes]:
        """Hashes whose signatures this node checked: blocks need not check them again (a live
        view, not a copy: the node asks once per block)."""
        return self._verified.keys()

    # --- admission ------------------------------------------------------------------------

    def admit(self, raw: bytes, ledger: LedgerView, height: int) -> Admission:
        return self.admit_batch([raw], ledger, height)[0]

    def admit_batch(
        self, raws: Sequence[bytes], ledger: LedgerView, height: int, *, local: bool = False
    ) -> list[Admission]:
        """Admit a batch at once: screening and verification overlap (see `screen`)."""
        screened = self.screen(raws, ledger, height, local=local)
        return self.settle(screened, screened.verifying.result(), ledger, height)

    def screen(
        self, raws: Sequence[bytes], ledger: LedgerView, height: int, *, local: bool = False
    ) -> Screened:
        """The cheap rungs of the ladder for every transaction of the batch; the Ed25519
        signatures of the survivors not verified before go to the verification processes as they
        are found, so they are checked while the next ones are decoded. The pool does not
        change here: `settle` inserts, once the verdicts are in."""
        results: list[Admission | None] = [None] * len(raws)
        candidates: list[tuple[int, _Entry, bool]] = []
        verifier = BatchVerifier(chunk=_VERIFY_CHUNK_TXS)
        if len(raws) > constants.batch_txs_max:
            results = [Admission(None, Reason.POOL_FULL)] * len(raws)
            raws = ()
        seen: set[bytes] = set()
        for index, raw in enumerate(raws):
            outcome = self._check(raw, ledger, height, seen, local)
            if isinstance(outcome, Admission):
                results[index] = outcome
                continue
            seen.add(outcome.hash)
            candidates.append((index, outcome, self._queue(verifier, outcome.tx, outcome.hash)))
        return Screened(results, candidates, verifier.finish(), self._version, height)

    def settle(
        self, screened: Screened, verdicts: Sequence[bool], ledger: LedgerView, height: int
    ) -> list[Admission]:
        """Insert the screened candidates whose signatures hold. If the pool or the height
        changed since screening (a commit, another batch settled first), each candidate goes
        through the state's rungs of the ladder again before it is inserted."""
        results = list(screened.results)
        stale = screened.version != self._version or screened.height != height
        seen: set[bytes] = set()
        verdict = iter(verdicts)
        for index, entry, awaits_verdict in screened.candidates:
            known = entry.hash in self._verified
            valid = next(verdict) if awaits_verdict else known or verify_tx_signature(entry.tx)
            self.verifications += awaits_verdict or not known
            if not valid:
                results[index] = Admission(entry.hash, Reason.BAD_SIGNATURE)
                continue
            self._remember(entry.hash)
            if stale:
                refusal = self._rules(entry, ledger, height, seen)
                if refusal is not None:
                    results[index] = refusal
                    continue
                seen.add(entry.hash)
            results[index] = self._insert(entry, ledger)
        check(next(verdict, None) is None, "more verdicts than screened signatures")
        return [result for result in results if result is not None]

    def _check(
        self, raw: bytes, ledger: LedgerView, height: int, seen: set[bytes], local: bool
    ) -> Admission | _Entry:
        if len(raw) > types_constants.tx_bytes_max:
            return Admission(None, Reason.TOO_LARGE)
        try:
            tx = Transaction.decode(raw)
        except DecodeError:
            return Admission(None, Reason.MALFORMED)
        entry = _Entry(tx, tx.hash(), tx.sender_address, len(raw), next(self._arrivals), local)
        refusal = self._rules(entry, ledger, height, seen)
        return entry if refusal is None else refusal

    def _rules(
        self, entry: _Entry, ledger: LedgerView, height: int, seen: set[bytes]
    ) -> Admission | None:
        """The rungs after decoding, against the pool and the state as they are now."""
        tx, tx_hash, sender = entry.tx, entry.hash, entry.sender
        if tx_hash in self._by_hash or tx_hash in seen:
            return Admission(tx_hash, Reason.DUPLICATE)
        code = check_envelope(tx, self.chain_id, height, ledger.fee_min)
        if code != OK:
            return Admission(tx_hash, _ENVELOPE_REASONS[code])
        next_nonce, balance = ledger.account(sender)
        if tx.nonce < next_nonce:
            return Admission(tx_hash, Reason.NONCE_TOO_LOW)
        if tx.nonce > next_nonce + constants.nonce_gap_max:
            return Admission(tx_hash, Reason.NONCE_GAP_TOO_LARGE)
        pending = self._by_sender.get(sender, {})
        replaced = pending.get(tx.nonce)
        committed_fees = sum(e.tx.fee for n, e in pending.items() if n != tx.nonce)
        if committed_fees + tx.fee > balance:
            return Admission(tx_hash, Reason.INSUFFICIENT_FEE_BALANCE)
        if replaced is not None and tx.fee * 100 < replaced.tx.fee * (
            100 + constants.replacement_bump_percent
        ):
            return Admission(tx_hash, Reason.REPLACEMENT_FEE_TOO_LOW)
        if replaced is None and len(pending) >= constants.sender_txs_max:
            return Admission(tx_hash, Reason.SENDER_FULL)
        if (
            replaced is None
            and tx.nonce > self.next_nonce(sender, next_nonce)
            and len(self._by_hash) >= self.txs_max // 2
        ):
            return Admission(tx_hash, Reason.QUEUE_FULL)
        if replaced is None and self._share_taken(entry):
            return Admission(tx_hash, Reason.POOL_FULL)
        if replaced is None and len(self._by_hash) >= self.txs_max:
            # Backpressure before the costly part: a full pool refuses a transaction that could
            # not evict anything, without verifying its signature.
            lowest = self._lowest()
            if lowest is None or lowest.tx.fee >= tx.fee:
                return Admission(tx_hash, Reason.POOL_FULL)
        return None

    def verify_unseen(self, txs: Iterable[Transaction]) -> None:
        """Verify, in the worker processes, the Ed25519 signatures of a block's transactions
        this node has not verified (they reached it in a proposal first: its pool was full
        when they were gossiped), and remember the valid ones. The block's execution then
        skips them; an invalid one it checks again itself, and refuses the block."""
        verifier = BatchVerifier(chunk=_VERIFY_CHUNK_TXS)
        unseen = []
        for tx in txs:
            tx_hash = tx.hash()
            if self._queue(verifier, tx, tx_hash):
                unseen.append(tx_hash)
        self.verifications += len(unseen)
        for tx_hash, valid in zip(unseen, verifier.finish().result(), strict=True):
            if valid:
                self._remember(tx_hash)

    def _queue(self, verifier: BatchVerifier, tx: Transaction, tx_hash: bytes) -> bool:
        """Hand `tx`'s Ed25519 signature to `verifier` unless this node verified it before;
        whether it did (a hybrid signature is verified on the spot, in `settle` or the block)."""
        if tx_hash in self._verified or tx.is_hybrid:
            return False
        verifier.add(tx.sender, tx.signing_message(), tx.signature)
        return True

    def _remember(self, tx_hash: bytes) -> None:
        self._verified[tx_hash] = None
        while len(self._verified) > constants.verified_cache_max:
            self._verified.popitem(last=False)

    def _insert(self, entry: _Entry, ledger: LedgerView) -> Admission:
        replaced = self._by_sender.get(entry.sender, {}).get(entry.tx.nonce)
        if replaced is None and self._share_taken(entry):
            return Admission(entry.hash, Reason.POOL_FULL)
        if replaced is not None:
            self._remove(replaced)
        while (
            len(self._by_hash) >= self.txs_max or self.bytes + entry.size > constants.pool_bytes_max
        ):
            lowest = self._lowest()
            if lowest is None or lowest.tx.fee >= entry.tx.fee:
                if replaced is not None:
                    self._add(replaced)  # put back what the refused replacement displaced
                return Admission(entry.hash, Reason.POOL_FULL)
            self._remove(lowest)
        self._add(entry)
        return Admission(entry.hash, None)

    def _share_taken(self, entry: _Entry) -> bool:
        """A client's new transaction finds this node's clients' share of the pool full: checked
        when screening (before its signature costs anything) and again when inserting (the
        screened batch itself may fill the share)."""
        return entry.local and self._local >= self.local_txs_max

    def _add(self, entry: _Entry) -> None:
        self._version += 1
        self._local += entry.local
        self._by_hash[entry.hash] = entry
        self._by_sender.setdefault(entry.sender, {})[entry.tx.nonce] = entry
        self.bytes += entry.size
        heapq.heappush(self._by_fee, (entry.tx.fee, entry.hash))
        heapq.heappush(self._by_expiry, (entry.tx.expiry_height, entry.hash))

    def _remove(self, entry: _Entry) -> None:
        self._version += 1
        self._local -= entry.local
        del self._by_hash[entry.hash]
        pending = self._by_sender[entry.sender]
        del pending[entry.tx.nonce]
        if not pending:
            del self._by_sender[entry.sender]
        self.bytes -= entry.size

    def _lowest(self) -> _Entry | None:
        while self._by_fee:
            _, tx_hash = self._by_fee[0]
            entry = self._by_hash.get(tx_hash)
            if entry is not None:
                return entry
            heapq.heappop(self._by_fee)
        return None

    # --- proposing and committing ---------------------------------------------------------

    def reap(self, ledger: LedgerView, txs_max: int, bytes_max: int) -> list[Transaction]:
        """Executable transactions, highest fee first across senders and the first admitted
        first among equal fees (as geth orders by price, then time: a tie broken by hash let
        low hashes overtake, and under sustained load high ones waited tens of seconds), nonce
        order within one sender."""
        heads: list[tuple[int, int, Address, int]] = []
        # Any order of senders gives the same block: (fee, arrival) is unique per entry, so the
        # heap never compares further. Sorting 5,000 senders by the dataclass's Python `__lt__`
        # was half of a reap (cProfile: 14 ms for a 2,000-transaction block).
        for sender in self._by_sender:
            next_nonce, _ = ledger.account(sender)
            entry = self._by_sender[sender].get(next_nonce)
            if entry is not None:
                heads.append((-entry.tx.fee, entry.arrival, sender, next_nonce))
        heapq.heapify(heads)
        chosen: list[Transaction] = []
        size = 0
        while heads and len(chosen) < txs_max:
            _, _, sender, nonce = heapq.heappop(heads)
            entry = self._by_sender[sender][nonce]
            if size + entry.size > bytes_max:
                continue  # this sender's run stops here; others may still fit
            chosen.append(entry.tx)
            size += entry.size
            following = self._by_sender[sender].get(nonce + 1)
            if following is not None:
                heapq.heappush(heads, (-following.tx.fee, following.arrival, sender, nonce + 1))
        return chosen

    def remove_committed(self, txs: Iterable[Transaction], ledger: LedgerView, height: int) -> None:
        """After a block: drop its transactions, those its senders' nonces passed, and those
        that expire before `height`."""
        senders = set()
        for tx in txs:
            entry = self._by_hash.get(tx.hash())
            if entry is not None:
                self._remove(entry)
            senders.add(tx.sender_address)
        for sender in sorted(senders):
            next_nonce, _ = ledger.account(sender)
            for nonce in sorted(self._by_sender.get(sender, {})):
                if nonce < next_nonce:
                    self._remove(self._by_sender[sender][nonce])
        while self._by_expiry and self._by_expiry[0][0] < height:
            _, tx_hash = heapq.heappop(self._by_expiry)
            entry = self._by_hash.get(tx_hash)
            if entry is not None and entry.tx.expiry_height < height:
                self._remove(entry)
        self._compact()

    def _compact(self) -> None:
        """Rebuild the lazily cleaned heaps once they hold mostly departed transactions: they
        grow with every admission, and would otherwise grow without bound."""
        live = len(self._by_hash)
        if len(self._by_fee) + len(self._by_expiry) <= 4 * live + constants.heap_slack_max:
            return
        entries = self._by_hash.values()
        self._by_fee = [(entry.tx.fee, entry.hash) for entry in entries]
        self._by_expiry = [(entry.tx.expiry_height, entry.hash) for entry in entries]
        heapq.heapify(self._by_fee)
        heapq.heapify(self._by_expiry)
