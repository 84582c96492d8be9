"""The pool's hot index, the reference of the compiled core's `PoolIndex` (rust/src/pool.rs).

Pending entries by hash, each sender's by nonce with the run a block can include now (`ready`,
geth's "pending": from the account's next nonce in committed state, with no gap), and the fee
and expiry heaps. The pool's rules (the admission ladder, what to evict, the answers) stay in
`metanode.mempool.pool`, which reads and changes this per transaction; the entries it stores
are its own objects (`payload`), handed back as they are. Senders are keyed by their address's
bytes, transactions by their hash.

Every order that reaches an answer is fixed by the entries, never by a dict's: the heaps order
by (fee, hash) and (expiry, hash), the reap by (fee, admission order), a sender's entries by
nonce, `ready_entries` by admission order. `pool_index()` picks the compiled core's or this one
(`METANODE_CORE`); tests/mempool/test_index.py demands the same answers from both.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from metanode import core
from metanode.errors import check

# `insert`'s answers: the pool turns each refusal into its reason and detail.
INSERTED, REPLACEMENT_FEE_TOO_LOW, SHARE_TAKEN, POOL_FULL = range(4)


@dataclass(slots=True)
class _Held:
    payload: Any
    sender: bytes
    nonce: int
    fee: int
    expiry: int
    size: int
    arrival: int
    costs: Sequence[tuple[int, int]]


@dataclass(slots=True)
class _Row:
    """One sender's pending entries by nonce. `nonce` is its account's next nonce in committed
    state as the pool last read it; `ready` counts the run from it with no gap, what a block can
    include now. The others wait for the first missing nonce, `nonce + ready`."""

    txs: dict[int, bytes]
    nonce: int
    ready: int = 0
    # What its pending entries take from each balance, by denomination: summing them at each
    # admission cost O(pending) per transaction.
    spends: dict[int, int] = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return self.nonce + self.ready


def pool_index() -> Index:
    """The compiled core's index, or this reference when METANODE_CORE=python selects it. The
    core's `PoolIndex` has the methods of `Index` and answers as it does (tests/mempool/
    test_index.py): typed as `Index`, which documents them."""
    native = core.native()
    return Index() if native is None else native.PoolIndex()


class Index:
    def __init__(self) -> None:
        self._by_hash: dict[bytes, _Held] = {}
        self._by_sender: dict[bytes, _Row] = {}
        self.ready = 0  # pending entries a block can include now
        self.bytes = 0
        # Lazily cleaned: a departed entry's key stays until it reaches the top or `compact`.
        self._by_fee: list[tuple[int, bytes]] = []
        self._by_expiry: list[tuple[int, bytes]] = []

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def heaps(self) -> tuple[int, int]:
        """The lengths of the fee and expiry heaps, departed keys included."""
        return len(self._by_fee), len(self._by_expiry)

    def get(self, tx_hash: bytes) -> Any:
        held = self._by_hash.get(tx_hash)
        return None if held is None else held.payload

    def at(self, sender: bytes, nonce: int) -> Any:
        """The sender's pending entry with `nonce`."""
        row = self._by_sender.get(sender)
        tx_hash = None if row is None else row.txs.get(nonce)
        return None if tx_hash is None else self._by_hash[tx_hash].payload

    def count(self, sender: bytes) -> int:
        row = self._by_sender.get(sender)
        return 0 if row is None else len(row.txs)

    def missing_for(self, tx_hash: bytes) -> int | None:
        """The first missing nonce of the sender of the pending entry with `tx_hash`, if
        pending."""
        held = self._by_hash.get(tx_hash)
        return None if held is None else self._by_sender[held.sender].missing

    def next_nonce(self, sender: bytes, committed: int) -> int:
        """The first nonce from `committed` on that the sender has no entry for."""
        row = self._by_sender.get(sender)
        nonce = committed
        while row is not None and nonce in row.txs:
            nonce += 1
        return nonce

    def spent(self, sender: bytes, denom: int) -> int:
        row = self._by_sender.get(sender)
        return 0 if row is None else row.spends.get(denom, 0)

    def _add(self, tx_hash: bytes, held: _Held, next_nonce: int) -> None:
        """Insert `held`; `next_nonce` is its sender's next nonce in committed state."""
        row = self._by_sender.get(held.sender)
        check(
            row is None or held.nonce not in row.txs,
            "the sender has an entry with this nonce pending already",
        )
        if row is None:
            row = self._by_sender[held.sender] = _Row({}, next_nonce)
        self._by_hash[tx_hash] = held
        row.txs[held.nonce] = tx_hash
        for denom, amount in held.costs:
            row.spends[denom] = row.spends.get(denom, 0) + amount
        self._count_ready(row, next_nonce)
        self.bytes += held.size
        heapq.heappush(self._by_fee, (held.fee, tx_hash))
        heapq.heappush(self._by_expiry, (held.expiry, tx_hash))

    def insert(
        self,
        payload: Any,
        tx_hash: bytes,
        sender: bytes,
        nonce: int,
        fee: int,
        expiry: int,
        size: int,
        arrival: int,
        costs: Sequence[tuple[int, int]],
        committed: int,
        share_taken: bool,
        txs_max: int,
        bytes_max: int,
        bump_percent: int,
    ) -> tuple[int, Any, list[tuple[Any, bool]]]:
        """The pool's insertion, after the signature: the replacement rung (an entry with the
        nonce of a pending one of its sender replaces it only for `bump_percent` more fee), the
        clients' share (`share_taken`, a new entry only), then room made by evicting lower fees
        (the replaced entry put back if none is low enough), then the entry in. `committed` is
        the sender's next nonce in committed state, if the index holds none for the sender.

        `(refusal, payload, moves)`: the refusal 0 (none), 1 (replacement_fee_too_low: the
        payload of the pending entry it would replace), 2 (the clients' share taken) or 3
        (pool_full: the payload of the lowest entry, if any); `moves` the payloads that left
        (False) and came (True), in order. A hash pending already is an InvariantViolation,
        and changes nothing."""
        check(tx_hash not in self._by_hash, "an entry with this hash is pending already")
        moves: list[tuple[Any, bool]] = []
        row = self._by_sender.get(sender)
        pending = None if row is None else row.txs.get(nonce)
        if pending is not None:
            replaced = self._by_hash[pending]
            if fee * 100 < replaced.fee * (100 + bump_percent):
                return REPLACEMENT_FEE_TOO_LOW, replaced.payload, moves
        elif share_taken:
            return SHARE_TAKEN, None, moves
        next_nonce = committed if row is None else row.nonce
        if pending is not None:
            self.remove(pending)
            moves.append((replaced.payload, False))
        while len(self._by_hash) >= txs_max or self.bytes + size > bytes_max:
            lowest = self._lowest()
            if lowest is None or lowest.fee >= fee:
                if pending is not None:  # put back what the refused one displaced
                    moves.append((replaced.payload, True))
                    self._add(pending, replaced, next_nonce)
                return POOL_FULL, None if lowest is None else lowest.payload, moves
            self.remove(self._by_fee[0][1])
            moves.append((lowest.payload, False))
        moves.append((payload, True))
        held = _Held(payload, sender, nonce, fee, expiry, size, arrival, costs)
        self._add(tx_hash, held, next_nonce)
        return INSERTED, None, moves

    def remove(self, tx_hash: bytes) -> Any:
        """Remove the entry with `tx_hash`; its payload, or None if it is not pending."""
        held = self._by_hash.pop(tx_hash, None)
        if held is None:
            return None
        row = self._by_sender[held.sender]
        nonce = held.nonce
        del row.txs[nonce]
        for denom, amount in held.costs:
            row.spends[denom] -= amount
        if row.nonce <= nonce < row.missing:  # the gap now starts here
            self.ready -= row.missing - nonce
            row.ready = nonce - row.nonce
        if not row.txs:
            del self._by_sender[held.sender]
        self.bytes -= held.size
        return held.payload

    def remove_many(self, tx_hashes: Sequence[bytes]) -> tuple[list[Any], list[int]]:
        """Remove the entries with `tx_hashes` (a block's) in order: the removed payloads,
        and the positions in `tx_hashes` of those not pending."""
        removed, absent = [], []
        for position, tx_hash in enumerate(tx_hashes):
            payload = self.remove(tx_hash)
            if payload is None:
                absent.append(position)
            else:
                removed.append(payload)
        return removed, absent

    def _count_ready(self, row: _Row, next_nonce: int) -> None:
        """Move the row's run to start at `next_nonce` (when a block moved its account on) and
        extend it over the nonces now present without a gap."""
        if next_nonce != row.nonce:
            self.ready -= row.ready
            row.nonce, row.ready = next_nonce, 0
        while row.missing in row.txs:
            row.ready += 1
            self.ready += 1

    def lowest(self) -> Any:
        """The pending entry with the lowest fee (the lowest hash among equal fees)."""
        held = self._lowest()
        return None if held is None else held.payload

    def _lowest(self) -> _Held | None:
        while self._by_fee:
            held = self._by_hash.get(self._by_fee[0][1])
            if held is not None:
                return held
            heapq.heappop(self._by_fee)
        return None

    def reap(self, txs_max: int, bytes_max: int) -> list[Any]:
        """Ready entries, highest fee first across senders and the first admitted first among
        equal fees, nonce order within one sender; at most `txs_max` of them and `bytes_max`
        bytes (an entry that does not fit ends its sender's run; others may still fit)."""
        # Each head carries its sender's row, not its address: looking the row up again hashed
        # it at every pop. (fee, arrival) is unique per entry, so the heap never compares
        # further, and the order the senders are walked in does not reach the answer.
        heads: list[tuple[int, int, _Held, _Row]] = []
        for row in self._by_sender.values():
            if row.ready:
                held = self._by_hash[row.txs[row.nonce]]
                heads.append((-held.fee, held.arrival, held, row))
        heapq.heapify(heads)
        chosen: list[Any] = []
        size = 0
        while heads and len(chosen) < txs_max:
            _, _, held, row = heapq.heappop(heads)
            if size + held.size > bytes_max:
                continue
            chosen.append(held.payload)
            size += held.size
            following = row.txs.get(held.nonce + 1)
            if following is not None:
                after = self._by_hash[following]
                heapq.heappush(heads, (-after.fee, after.arrival, after, row))
        return chosen

    def run_to(self, sender: bytes, nonce: int) -> list[Any] | None:
        """The sender's ready run from its committed nonce up to `nonce`, if `nonce` is in it."""
        row = self._by_sender.get(sender)
        if row is None or not row.nonce <= nonce < row.missing:
            return None
        return [self._by_hash[row.txs[ahead]].payload for ahead in range(row.nonce, nonce + 1)]

    def ready_entries(self) -> list[Any]:
        """Every ready entry, the first admitted first."""
        found = [
            self._by_hash[row.txs[nonce]]
            for row in self._by_sender.values()
            for nonce in range(row.nonce, row.missing)
        ]
        found.sort(key=lambda held: held.arrival)
        return [held.payload for held in found]

    def drop_below(self, sender: bytes, next_nonce: int) -> list[Any]:
        """Remove the sender's entries below `next_nonce` (in nonce order), then start its run
        there; the removed payloads."""
        row = self._by_sender.get(sender)
        if row is None:
            return []
        passed = sorted(nonce for nonce in row.txs if nonce < next_nonce)
        removed = [self.remove(row.txs[nonce]) for nonce in passed]
        row = self._by_sender.get(sender)
        if row is not None:
            self._count_ready(row, next_nonce)
        return removed

    def expire(self, height: int) -> list[Any]:
        """Remove the entries that expire before `height`, in (expiry, hash) order."""
        removed = []
        while self._by_expiry and self._by_expiry[0][0] < height:
            _, tx_hash = heapq.heappop(self._by_expiry)
            held = self._by_hash.get(tx_hash)
            if held is not None and held.expiry < height:
                removed.append(self.remove(tx_hash))
        return removed

    def compact(self, slack_max: int) -> None:
        """Rebuild the heaps once they hold more than four keys a live entry and `slack_max`
        more: they grow with every admission, and would otherwise grow without bound."""
        live = len(self._by_hash)
        if len(self._by_fee) + len(self._by_expiry) <= 4 * live + slack_max:
            return
        helds = self._by_hash.items()
        self._by_fee = [(held.fee, tx_hash) for tx_hash, held in helds]
        self._by_expiry = [(held.expiry, tx_hash) for tx_hash, held in helds]
        heapq.heapify(self._by_fee)
        heapq.heapify(self._by_expiry)
