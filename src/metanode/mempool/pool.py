"""The transaction pool.

Admission of a batch of raw transactions, each through one guard ladder in a pinned order
(tests/mempool/test_pool.py pins it): too_large, malformed, duplicate, then the state machine's
own envelope rungs (wrong_chain, expired, fee_too_low — the same code as in a block), then
nonce_too_low, nonce_gap_too_large, insufficient_fee_balance, insufficient_funds, and the
capacity rungs sender_full, queue_full, pool_full; the survivors' signatures are verified in
two worker processes, which start on the first while the rest of the batch is still being
screened (bad_signature); then replacement_fee_too_low, and finally room is made (pool_full).
Cheap checks come first so that a flood costs us decoding, not signature checks: at overload
most refusals are `pool_full` (1.5 million beside a million admitted in docs/performance.md),
and each would otherwise cost a verification. The replacement rung alone waits for the
signature: it judges a transaction against its sender's pending one, and a forged transaction
must hear that it is forged, not that it should pay more. Every refusal carries a detail a
person can act on (which field, which bound, the nonce the pool expects). A verified
transaction is remembered by hash and never verified again by this node; the block proposer
and validator receive those hashes.

Admission refuses what the pool can already see must fail, as geth's pool does (a cost above
the balance is refused) and as CometBFT lets an application's CheckTx do: a fee, or a transfer's
or bond's amount, that the sender's committed balance less what its pending transactions spend
cannot cover. Admitted, such a transaction would be committed only to fail, and charge its fee
for nothing. The pool judges by committed state, so coins on their way to the sender (a pending
transfer to it) do not count until they are committed; and a transaction may still fail when
it runs, because state moves between admission and inclusion (another transaction spends
first, a validator's stake changes): clients must read the receipt's code.

Two steps: `screen` (decode and the cheap rungs; the pool does not change) and `settle` (the
verdicts in, insert). A node awaits the verdicts between the two with its event loop free, so
the pool may have moved meanwhile (another batch settled, a block committed): `settle` then
puts each candidate through the state's rungs again, after a commit all of them; after other
batches only those whose sender's pending transactions moved since screening (the pool
remembers the last `settle_moves_max` senders moved), and the rest through the rungs that read
the whole pool (its size, the clients' share). The others' rungs read only the committed state
and the sender's pending transactions, so they answer as at screening: re-running them for
every row was most of settling's 15% of a validator's loop at `--rate max` (py-spy,
docs/performance.md). `admit_batch` is the two back to back.

Order: across senders, highest fee first; within a sender, nonce order, and only the run that
starts at the account's next nonce is executable (`ready`, geth's "pending"); the rest wait
behind the first missing nonce (queued, geth's "queued") and are no work for a proposer, so
`ready` is what the node counts before proposing early. A nonce at most `nonce_gap_max` ahead
may wait. Equal fees go by admission order (first
come, first reaped), never by dict or hash order. A pending transaction is replaced only by
one paying at least 10% more. When full, the lowest-fee transaction is evicted for a better
one; a transaction that cannot beat the lowest fee is refused `pool_full`. Transactions this
node's clients submit (`local`) may fill only its share of the pool (`share_among`: 1/N of the
pool, or of a smaller bound on all clients' transactions, with N validators), and past it are
refused `pool_full` as well; the rest is room for its peers' gossip. Expired transactions
leave at each new height.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, KeysView, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.crypto.verifiers import BatchVerifier
from metanode.errors import DecodeError, check
from metanode.mempool import constants
from metanode.mempool.index import (
    INSERTED,
    REPLACEMENT_FEE_TOO_LOW,
    SHARE_TAKEN,
    pool_index,
)
from metanode.mempool.reasons import Reason
from metanode.state.auth import errors as auth_errors
from metanode.state.auth.messages import check_envelope
from metanode.state.auth.signatures import verify_tx_signature
from metanode.state.codes import OK
from metanode.state.keys import errors as keys_errors
from metanode.types import Address, Bond, Denom, Message, Transaction, Transfer
from metanode.types import constants as types_constants
from metanode.types.messages import format_coins

# Signatures handed over at a time while a batch is screened: early enough that verification
# runs beside the screening, large enough that a chunk's return to Python (its thread waits for
# the GIL, up to the interpreter's switch interval while the event loop runs) stays small
# beside its verifications (256 take ≈ 6 ms on two cores). At 64 a lone validator's two
# verification threads were a third busy at `--rate max`, waiting for the GIL.
verify_chunk_txs = 256

_ENVELOPE_REASONS = {
    auth_errors.WRONG_CHAIN: Reason.WRONG_CHAIN,
    auth_errors.EXPIRED: Reason.EXPIRED,
    auth_errors.FEE_TOO_LOW: Reason.FEE_TOO_LOW,
}
_KEY_REASONS = {
    keys_errors.ACCOUNT_MIGRATED: (
        Reason.ACCOUNT_MIGRATED,
        "this account moved to hybrid keys (message 37); sign with them, from its new address",
    ),
    keys_errors.HYBRID_KEY_REQUIRED: (
        Reason.HYBRID_KEY_REQUIRED,
        "this chain requires hybrid keys of new accounts (keys.hybrid_accounts_required) or "
        "an ML-DSA key of new validators (keys.hybrid_validators_required): migrate the "
        "account (message 37) or add the node's ML-DSA key (message 38) first",
    ),
}


class LedgerView(Protocol):
    """What admission reads from committed state."""

    fee_min: int

    def account(self, address: Address) -> tuple[int, int]:
        """(the nonce its next transaction must carry, its FLX balance in base units)."""
        ...

    def balance(self, address: Address, denom: Denom) -> int:
        """Its balance of `denom` in base units."""
        ...

    def key_rung(self, tx: Transaction, sender: Address, nonce: int) -> int:
        """The state machine's key rung (`state/keys/rules.check_keys`)."""
        ...


@dataclass(frozen=True, slots=True)
class Admission:
    hash: bytes | None
    reason: Reason | None
    detail: str = ""  # what a person can act on: which field, which bound
    # Admitted, but behind a missing nonce of its sender: no block can include it yet.
    queued: bool = False
    # The nonce the pool expects next from the sender (the first one it does not hold), given
    # with a queued admission and with a refused nonce.
    next_nonce: int | None = None

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
    # What it takes from its sender's balances if it succeeds, the fee first (`_costs`), worked
    # out once: the pool adds and subtracts them at every insertion and removal.
    costs: tuple[tuple[Denom, int], ...]
    local: bool = False  # submitted to this node by a client (not gossiped by a peer)
    since: int = 0  # the height being decided when it was admitted (inclusion lists)
    # Its sender's next nonce in committed state when its rungs last ran: `settle` runs them
    # again whenever that state may have moved (a new height), so inserting and the queue rung
    # need not read the account again (a second read was 1.1% of a lone validator's loop).
    committed: int = 0


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
        nonce_gap_max: int = constants.nonce_gap_max,
    ) -> None:
        check(0 < txs_max <= constants.pool_txs_max, f"pool txs_max {txs_max} out of range")
        check(
            0 <= nonce_gap_max <= constants.sender_txs_max,
            f"pool nonce_gap_max {nonce_gap_max} out of range",
        )
        self.chain_id = chain_id
        self.txs_max = txs_max
        self.nonce_gap_max = nonce_gap_max
        self.share(txs_max if local_txs_max is None else local_txs_max)
        self._local = 0  # pending entries that clients submitted here
        # The entries by hash and by sender, the fee and expiry heaps: the compiled core's or
        # the reference (`metanode.mempool.index`).
        self._index = pool_index()
        # Oldest first, bounded. An OrderedDict, not a dict: at the bound every insert drops the
        # oldest, and a dict's `next(iter(...))` walks the deleted slots at its front (5.5 µs an
        # insert at 200,000 against 1.2 µs).
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._arrivals = itertools.count()
        self._version = 0  # bumped by every insertion and removal: `settle` knows what moved
        # The sender of each of the last insertions and removals, one per version.
        self._moved: deque[Address] = deque(maxlen=constants.settle_moves_max)
        self.verifications = 0
        self.rechecks = 0  # candidates put through the state's rungs again when settling

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
        return len(self._index)

    @property
    def ready(self) -> int:
        """Pending transactions a block can include now: each sender's run from its account's
        next nonce with no gap (`metanode.mempool.index`)."""
        return self._index.ready

    @property
    def bytes(self) -> int:
        return self._index.bytes

    @property
    def local(self) -> int:
        """Pending transactions this node's clients submitted."""
        return self._local

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._index

    def get(self, tx_hash: bytes) -> Transaction | None:
        entry = self._index.get(tx_hash)
        return entry.tx if entry else None

    def waiting_for(self, tx_hash: bytes) -> int | None:
        """For a pending transaction queued behind a nonce gap, the first nonce its sender's
        account lacks; None if it is ready (or not pending)."""
        entry = self._index.get(tx_hash)
        if entry is None:
            return None
        missing: int = self._index.missing_for(tx_hash)
        return missing if entry.tx.nonce > missing else None

    def known(self, raw: bytes) -> Transaction | None:
        """The pending transaction with exactly these bytes, decoded (for `Block.decode`)."""
        entry = self._index.get(tagged_hash(tags.TX, raw))
        return entry.tx if entry is not None else None

    def next_nonce(self, sender: Address, committed_nonce: int) -> int:
        """The nonce a new transaction of `sender` should carry, after its pending ones."""
        return self._index.next_nonce(sender.raw, committed_nonce)

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
        self,
        raws: Sequence[bytes],
        ledger: LedgerView,
        height: int,
        *,
        local: bool = False,
        decoded: Sequence[Transaction | DecodeError] | None = None,
    ) -> Screened:
        """The cheap rungs of the ladder for every transaction of the batch; the Ed25519
        signatures of the survivors not verified before go to the verification processes as they
        are found, so they are checked while the next ones are decoded. The pool does not
        change here: `settle` inserts, once the verdicts are in. `decoded` is
        `Transaction.decode_many(raws)` if the caller made it already (off its event loop)."""
        results: list[Admission | None] = [None] * len(raws)
        candidates: list[tuple[int, _Entry, bool]] = []
        verifier = BatchVerifier(chunk=verify_chunk_txs)
        if len(raws) > constants.batch_txs_max:
            detail = f"a batch holds at most {constants.batch_txs_max} transactions"
            results = [Admission(None, Reason.POOL_FULL, detail)] * len(raws)
            raws = decoded = ()
        seen: set[bytes] = set()
        # The whole batch decoded in one call (in the compiled core, `metanode.core`).
        if decoded is None:
            decoded = Transaction.decode_many(raws)
        for index, (raw, tx) in enumerate(zip(raws, decoded, strict=True)):
            outcome = self._check(raw, tx, ledger, height, seen, local)
            if isinstance(outcome, Admission):
                results[index] = outcome
                continue
            seen.add(outcome.hash)
            candidates.append((index, outcome, self._queue(verifier, outcome.tx, outcome.hash)))
        return Screened(results, candidates, verifier.finish(), self._version, height)

    def settle(
        self, screened: Screened, verdicts: Sequence[bool], ledger: LedgerView, height: int
    ) -> list[Admission]:
        """Insert the screened candidates whose signatures hold and that replace nothing or
        pay enough more. If the pool or the height changed since screening (a commit, another
        batch settled first), each candidate goes through the state's rungs of the ladder again
        before it is inserted. An admitted transaction that waits behind a missing nonce once
        the whole batch is in says so (`queued`)."""
        results = list(screened.results)
        stale = screened.version != self._version or screened.height != height
        # If stale: the senders whose pending transactions moved since screening, this batch's
        # own insertions included; None: every row is checked again (a commit moved the state
        # under all of them, or more moved than the pool remembers).
        moved = None
        if stale and screened.height == height:
            moved = self._moved_since(screened.version, set())
        seen: set[bytes] = set()
        inserted: list[tuple[int, _Entry]] = []
        verdict = iter(verdicts)
        for index, entry, awaits_verdict in screened.candidates:
            known = entry.hash in self._verified
            valid = next(verdict) if awaits_verdict else known or verify_tx_signature(entry.tx)
            self.verifications += awaits_verdict or not known
            if not valid:
                detail = "the signature does not verify with the sender's public key"
                results[index] = Admission(entry.hash, Reason.BAD_SIGNATURE, detail)
                continue
            self._remember(entry.hash)
            refusal = None
            if stale and (moved is None or entry.sender in moved):
                self.rechecks += 1
                refusal = self._rules(entry, ledger, height, seen)
            elif stale:
                refusal = self._room(entry)
            seen.add(entry.hash)
            version = self._version
            refusal = refusal or self._insert(entry)
            if refusal is None:
                inserted.append((index, entry))
            else:
                results[index] = refusal
            if moved is not None:
                moved = self._moved_since(version, moved)
        check(next(verdict, None) is None, "more verdicts than screened signatures")
        for index, entry in inserted:
            results[index] = self._standing(entry)
        return [result for result in results if result is not None]

    def _moved_since(self, version: int, into: set[Address]) -> set[Address] | None:
        """`into` with the senders moved since the pool's `version`; None if the pool no longer
        remembers them all."""
        count = self._version - version
        if count > len(self._moved):
            return None
        into.update(itertools.islice(reversed(self._moved), count))
        return into

    def _standing(self, entry: _Entry) -> Admission:
        """An admitted entry's answer: ready, or queued behind its sender's first missing nonce
        (it may also have left the pool again, replaced or evicted by the rest of its batch)."""
        missing = self._index.missing_for(entry.hash)
        if missing is None or entry.tx.nonce <= missing:
            return Admission(entry.hash, None)
        detail = f"waiting for nonce {missing} of its sender (a nonce gap)"
        return Admission(entry.hash, None, detail, queued=True, next_nonce=missing)

    def _check(
        self,
        raw: bytes,
        tx: Transaction | DecodeError,
        ledger: LedgerView,
        height: int,
        seen: set[bytes],
        local: bool,
    ) -> Admission | _Entry:
        if len(raw) > types_constants.logblock_tx_bytes_max:
            detail = (
                f"{len(raw)} bytes; a transaction has at most {types_constants.tx_bytes_max}, "
                f"a LogBlock's {types_constants.logblock_tx_bytes_max}"
            )
            return Admission(None, Reason.TOO_LARGE, detail)
        if isinstance(tx, DecodeError):
            if tx.rule == "too_long_for_message":  # types/transaction.py: bytes_max
                return Admission(None, Reason.TOO_LARGE, tx.detail)
            return Admission(None, Reason.MALFORMED, f"not a transaction: {tx}")
        entry = _Entry(
            tx,
            tx.hash(),
            tx.sender_address,
            len(raw),
            next(self._arrivals),
            _costs(tx),
            local,
            height,
        )
        refusal = self._rules(entry, ledger, height, seen)
        return entry if refusal is None else refusal

    def _rules(
        self, entry: _Entry, ledger: LedgerView, height: int, seen: set[bytes]
    ) -> Admission | None:
        """The rungs between decoding and the signature, against the pool and the state as
        they are now."""
        tx, tx_hash, sender = entry.tx, entry.hash, entry.sender
        if tx_hash in self._index or tx_hash in seen:
            return Admission(tx_hash, Reason.DUPLICATE, "this transaction is already pending")
        code = check_envelope(tx, self.chain_id, height, ledger.fee_min)
        if code != OK:
            return Admission(tx_hash, _ENVELOPE_REASONS[code], self._envelope(tx, ledger, height))
        next_nonce, balance = ledger.account(sender)
        entry.committed = next_nonce
        code = ledger.key_rung(tx, sender, next_nonce)
        if code != OK:
            return Admission(tx_hash, *_KEY_REASONS[code])
        refusal = self._nonce(entry, next_nonce) or self._funds(entry, ledger, balance)
        if refusal is not None:
            return refusal
        return self._room(entry)

    def _room(self, entry: _Entry) -> Admission | None:
        """The last rungs before the signature: room for one more pending transaction of the
        sender, of transactions waiting behind a nonce gap, of this node's clients', and in the
        pool."""
        tx, tx_hash, sender = entry.tx, entry.hash, entry.sender.raw
        index = self._index
        if index.at(sender, tx.nonce) is not None:
            return None  # a replacement takes no new room; its rung follows the signature
        pending = index.count(sender)
        if pending >= constants.sender_txs_max:
            detail = f"the sender has {pending} pending transactions, the most one may have"
            return Admission(tx_hash, Reason.SENDER_FULL, detail)
        if len(index) >= self.txs_max // 2 and tx.nonce > index.next_nonce(sender, entry.committed):
            detail = "transactions waiting behind a missing nonce fill half the pool; send the gap"
            return Admission(tx_hash, Reason.QUEUE_FULL, detail)
        if self._share_taken(entry):
            detail = f"this node's clients hold their share of the pool ({self.local_txs_max})"
            return Admission(tx_hash, Reason.POOL_FULL, detail)
        if len(index) >= self.txs_max:
            # Backpressure before the costly part: a full pool refuses a transaction that could
            # not evict anything, without verifying its signature.
            lowest = self._lowest()
            if lowest is None or lowest.tx.fee >= tx.fee:
                return Admission(tx_hash, Reason.POOL_FULL, self._full(lowest))
        return None

    def _envelope(self, tx: Transaction, ledger: LedgerView, height: int) -> str:
        if tx.chain_id != self.chain_id:
            return f"signed for chain {tx.chain_id!r}; this chain is {self.chain_id!r}"
        if tx.expiry_height < height:
            return f"its last height {tx.expiry_height} is before the next block's, {height}"
        fee, fee_min = format_coins(tx.fee, Denom.FLX), format_coins(ledger.fee_min, Denom.FLX)
        return f"fee {fee} is below the chain's minimum, {fee_min}"

    def _nonce(self, entry: _Entry, next_nonce: int) -> Admission | None:
        nonce = entry.tx.nonce
        if nonce < next_nonce:
            reason = Reason.NONCE_TOO_LOW
            detail = f"nonce {nonce} is used: the account's next nonce is {next_nonce}"
        elif nonce > next_nonce + self.nonce_gap_max:
            reason = Reason.NONCE_GAP_TOO_LARGE
            detail = (
                f"nonce {nonce} is {nonce - next_nonce} ahead of the account's next nonce "
                f"{next_nonce}; the pool holds at most {self.nonce_gap_max} ahead "
                "([mempool] nonce_gap_max)"
            )
        else:
            return None
        expected = self.next_nonce(entry.sender, next_nonce)
        detail += f"; the pool expects nonce {expected} next"
        return Admission(entry.hash, reason, detail, next_nonce=expected)

    def _funds(self, entry: _Entry, ledger: LedgerView, flx_balance: int) -> Admission | None:
        """The fee, then the amount the message moves, against the committed balance less what
        the sender's other pending transactions (all but the one this replaces) would spend."""
        tx = entry.tx
        replaced = self._index.at(entry.sender.raw, tx.nonce)
        flx_spent = self._spent(entry, Denom.FLX, replaced)
        if flx_spent + tx.fee > flx_balance:
            detail = (
                f"fee {format_coins(tx.fee, Denom.FLX)}; the sender holds "
                f"{format_coins(flx_balance, Denom.FLX)}, of which its pending transactions "
                f"spend {format_coins(flx_spent, Denom.FLX)}"
            )
            return Admission(entry.hash, Reason.INSUFFICIENT_FEE_BALANCE, detail)
        if len(entry.costs) == 1:  # the fee alone: the message moves no coins
            return None
        denom, amount = entry.costs[1]
        if denom is Denom.FLX:
            balance, spent = flx_balance, flx_spent + tx.fee
        else:
            balance = ledger.balance(entry.sender, denom)
            spent = self._spent(entry, denom, replaced)
        if spent + amount <= balance:
            return None
        detail = (
            f"it moves {format_coins(amount, denom)}; the sender holds "
            f"{format_coins(balance, denom)}, of which its fee and pending transactions spend "
            f"{format_coins(spent, denom)}"
        )
        return Admission(entry.hash, Reason.INSUFFICIENT_FUNDS, detail)

    def _spent(self, entry: _Entry, denom: Denom, beside: _Entry | None) -> int:
        """What the sender's pending transactions but `beside` (the one `entry` would replace)
        spend of `denom`."""
        total = self._index.spent(entry.sender.raw, denom)
        if beside is None:
            return total
        return total - sum(amount for spent, amount in beside.costs if spent is denom)

    def _full(self, lowest: _Entry | None) -> str:
        held = f"the pool is full ({len(self._index)} transactions)"
        if lowest is None:
            return held
        return f"{held}; only a fee above {format_coins(lowest.tx.fee, Denom.FLX)} evicts one"

    def verify_unseen(
        self, txs: Iterable[Transaction], *, wait: bool = True
    ) -> tuple[Future[list[bool]], Callable[[], None]]:
        """Verify, beside the caller (`BatchVerifier`), the Ed25519 signatures of a block's
        transactions this node has not verified (they reached it in a proposal first: its pool
        was full when they were gossiped), and remember the valid ones. The block's execution
        then skips them; an invalid one it checks again itself, and refuses the block.

        With `wait` (the execution, which needs them now) this waits for the verdicts and
        remembers the valid ones before it returns. Without, it returns at once the verdicts'
        future and `remember`, for the pool's thread to call once the future is done: a node
        starts this as a proposal arrives and hands the engine the proposal then, so that the
        execution's own call finds nothing left to wait for on the event loop."""
        verifier = BatchVerifier(chunk=verify_chunk_txs)
        unseen = []
        for tx in txs:
            tx_hash = tx.hash()
            if self._queue(verifier, tx, tx_hash):
                unseen.append(tx_hash)
        self.verifications += len(unseen)
        verdicts = verifier.finish()

        def remember() -> None:
            for tx_hash, valid in zip(unseen, verdicts.result(), strict=True):
                if valid:
                    self._remember(tx_hash)

        if wait:
            remember()
        return verdicts, remember

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

    def _insert(self, entry: _Entry) -> Admission | None:
        """The rungs after the signature, then the insertion (in the index, `insert`): a
        transaction with the nonce of a pending one of its sender replaces it only for
        `replacement_bump_percent` more fee; a client's new one needs room in the clients'
        share; a full pool evicts lower fees for it. None once it is in, else the refusal."""
        tx = entry.tx
        refused, other, moves = self._index.insert(
            entry,
            entry.hash,
            entry.sender.raw,
            tx.nonce,
            tx.fee,
            tx.expiry_height,
            entry.size,
            entry.arrival,
            entry.costs,
            entry.committed,
            self._share_taken(entry),
            self.txs_max,
            constants.pool_bytes_max,
            constants.replacement_bump_percent,
        )
        for moved, came in moves:
            self._version += 1
            self._moved.append(moved.sender)
            self._local += moved.local if came else -moved.local
        if refused == INSERTED:
            return None
        if refused == REPLACEMENT_FEE_TOO_LOW:
            bump = 100 + constants.replacement_bump_percent
            fee_min = -(-other.tx.fee * bump // 100)
            detail = (
                f"nonce {tx.nonce} is pending with fee {format_coins(other.tx.fee, Denom.FLX)}; "
                f"a replacement pays at least {constants.replacement_bump_percent}% more, "
                f"{format_coins(fee_min, Denom.FLX)}"
            )
            return Admission(entry.hash, Reason.REPLACEMENT_FEE_TOO_LOW, detail)
        if refused == SHARE_TAKEN:
            detail = f"this node's clients hold their share of the pool ({self.local_txs_max})"
            return Admission(entry.hash, Reason.POOL_FULL, detail)
        return Admission(entry.hash, Reason.POOL_FULL, self._full(other))

    def _share_taken(self, entry: _Entry) -> bool:
        """A client's new transaction finds this node's clients' share of the pool full: checked
        when screening (before its signature costs anything) and again when inserting (the
        screened batch itself may fill the share)."""
        return entry.local and self._local >= self.local_txs_max

    def _removed_all(self, entries: list[_Entry]) -> None:
        """Account for `entries`, which left the index in this order."""
        self._version += len(entries)
        self._moved.extend([entry.sender for entry in entries])
        self._local -= sum([entry.local for entry in entries])

    def _lowest(self) -> _Entry | None:
        lowest: _Entry | None = self._index.lowest()
        return lowest

    # --- proposing and committing ---------------------------------------------------------

    def overdue(self, height: int, wait_blocks: int, count_max: int) -> list[bytes]:
        """Hashes of ready transactions admitted `wait_blocks` or more heights before `height`,
        the first admitted first (what this validator's inclusion list names)."""
        if not self.ready:
            return []
        entries = self._index.ready_entries()  # the first admitted first
        found = [entry.hash for entry in entries if entry.since + wait_blocks <= height]
        return found[:count_max]

    def mark(self) -> int:
        """Transactions admitted from now on are admitted after this mark (`ready_entry`)."""
        return next(self._arrivals)

    def ready_entry(self, tx_hash: bytes, before: int | None = None) -> tuple[Address, int] | None:
        """The sender and size of a transaction held ready (a block can include it now), and,
        given the mark `before`, ready then already: it and its sender's transactions ahead of
        it were all admitted before the mark."""
        entry = self._index.get(tx_hash)
        if entry is None:
            return None
        run = self._index.run_to(entry.sender.raw, entry.tx.nonce)
        if run is None:
            return None
        if before is not None and any(ahead.arrival >= before for ahead in run):
            return None
        return entry.sender, entry.size

    def reap(self, txs_max: int, bytes_max: int) -> list[Transaction]:
        """Executable transactions, highest fee first across senders and the first admitted
        first among equal fees (as geth orders by price, then time: a tie broken by hash let
        low hashes overtake, and under sustained load high ones waited tens of seconds), nonce
        order within one sender. Each sender's run starts at its committed nonce as the pool
        holds it (the index's row, which `remove_committed` moves on at every commit and `ready`
        counts from); reading every sender's account again here was a fifth of a reap, which
        was 8.5% of a lone validator's loop (py-spy, docs/performance.md "Admission in the
        core, w20"). A transaction that fails the ladder anyway is left out by `build_block`."""
        return [entry.tx for entry in self._index.reap(txs_max, bytes_max)]

    def remove_committed(self, txs: Iterable[Transaction], ledger: LedgerView, height: int) -> None:
        """After a block: drop its transactions, those its senders' nonces passed, and those
        that expire before `height`."""
        index = self._index
        txs = list(txs)
        removed, absent = index.remove_many([tx.hash() for tx in txs])
        self._removed_all(removed)
        # Their senders keyed by the address's bytes, whose hash Python caches, not by the
        # address, whose dataclass hash is built again at each transaction. A removed entry's
        # sender is known; an absent one's is read from its transaction (cached when decoded).
        senders = {entry.sender.raw: entry.sender for entry in removed}
        for position in absent:
            address = txs[position].sender_address
            senders[address.raw] = address
        # Only senders with transactions still pending have an account to read: at `--rate
        # max` with four validators most of a block's senders have none here (their last one
        # left with the block, or the full pool refused their gossip), and reading and decoding
        # their accounts was a quarter of this clean-up. In address order (not hash order): the
        # raw bytes sort as the addresses do.
        for raw in sorted(raw for raw in senders if index.count(raw)):
            next_nonce, _ = ledger.account(senders[raw])
            self._removed_all(index.drop_below(raw, next_nonce))
        self._removed_all(index.expire(height))
        # The lazily cleaned heaps grow with every admission: rebuilt once they hold mostly
        # departed transactions.
        index.compact(constants.heap_slack_max)


def _moves(message: Message) -> tuple[Denom, int] | None:
    """The coins a message takes from its sender's balance when it succeeds, if it takes any."""
    if isinstance(message, Transfer):
        return message.denom, message.amount
    if isinstance(message, Bond):
        return Denom.GEN, message.amount
    return None


def _costs(tx: Transaction) -> tuple[tuple[Denom, int], ...]:
    """What `tx` takes from its sender's balances if it succeeds: the fee, and what it moves."""
    moved = _moves(tx.message)
    return ((Denom.FLX, tx.fee),) if moved is None else ((Denom.FLX, tx.fee), moved)
