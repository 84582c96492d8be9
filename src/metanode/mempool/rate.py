"""Admission that follows the commit rate: how many transactions this node's clients may hold
pending, from what the chain committed in its last blocks.

A fixed bound on the pool lets the queue, and with it every transaction's wait, grow to the
bound whatever the chain can take (Little's law: the wait is the queue's depth over the commit
rate). Here the bound is `blocks` blocks' worth of the recent commit rate, the transactions
committed per block averaged over the last `window_blocks` blocks, this node's 1/N share of
it with N validators, and never below `txs_min` (a quiet chain commits little; the floor lets
load start). With `blocks` above 1 the bound probes upwards: what is pending fills the next
blocks more than the last ones, up to what a block holds. A client over the bound is told to
come back after about a block (`retry_after_s`), by a 429 of the gateway.

Local policy, not consensus: it reads only committed blocks (their transaction counts and
header times), never the wall clock, and no two nodes need agree on it.
"""

from __future__ import annotations

from collections import deque

from metanode.errors import check

ms_per_s = 1_000


class CommitRate:
    def __init__(self, blocks: int, window_blocks: int, txs_min: int) -> None:
        check(blocks >= 1, f"admission blocks {blocks} must be at least 1")
        check(window_blocks >= 1, f"admission window_blocks {window_blocks} must be at least 1")
        check(txs_min >= 1, f"admission txs_min {txs_min} must be at least 1")
        self.blocks = blocks
        self.txs_min = txs_min
        self._txs: deque[int] = deque(maxlen=window_blocks)
        self._intervals_ms: deque[int] = deque(maxlen=window_blocks)
        self._last_time_ms: int | None = None
        # Nodes whose clients share the chain's rate: the node sets it at each height.
        self.validators = 1

    def committed(self, txs: int, time_ms: int) -> None:
        """A block of `txs` transactions committed, stamped `time_ms` (its header's time)."""
        if self._last_time_ms is not None:
            self._intervals_ms.append(max(0, time_ms - self._last_time_ms))
        self._last_time_ms = time_ms
        self._txs.append(txs)

    def per_block(self) -> int:
        """Transactions committed per block over the window, floored (0 before any block)."""
        return sum(self._txs) // len(self._txs) if self._txs else 0

    def bound(self) -> int:
        """The pending transactions this node's clients may hold."""
        return max(self.txs_min, self.blocks * self.per_block() // max(1, self.validators))

    def room(self, pending: int) -> int:
        """How many more client transactions may be admitted while `pending` wait."""
        return max(0, self.bound() - pending)

    def retry_after_s(self) -> int:
        """Whole seconds for a refused client to wait: the mean block interval over the window,
        rounded up (a block frees room), at least 1 (HTTP's `Retry-After` is whole seconds)."""
        if not self._intervals_ms:
            return 1
        mean_ms = sum(self._intervals_ms) // len(self._intervals_ms)
        return max(1, -(-mean_ms // ms_per_s))
