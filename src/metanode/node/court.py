"""The court's game played by an executor node, without a person at the keyboard
(docs/court.md): after each committed block, for every open dispute in which this node's
address is a side, the move the rules wait for, from what its executor store holds.

- Reveal: its receipt of the disputed call, whose hash the withheld LogBlock names.
- Bisect, on its turn: its roots (each stored receipt's `state_root_after`) at the points the
  other side posted, then at the points of the range those answers leave (the chain's own
  `state.court.game` arithmetic, so the shapes always fit).
- Ruling due: the app's state before the disputed call, recomputed from the chain
  (`state.court.ruling.state_before`), so the replay can run. Either side may ask; an honest
  node asks, since the replay agrees with it.
A move is sent once per stage of a dispute, and again after `resend_blocks` if the dispute
has not moved on (the transaction may have been lost). A move this node cannot make (a call
its store has not executed) is logged and left to the deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from metanode.codec import encode
from metanode.executor.store import ExecutorStore
from metanode.state.court import game, queries
from metanode.state.court.records import ZERO, Dispute, Status
from metanode.state.court.ruling import state_before
from metanode.state.view import StateReader
from metanode.types import Address, MoveDispute, RevealReceipt, RuleDispute
from metanode.types.messages import Message

log = logging.getLogger("metanode.node")

resend_blocks = 10
# Disputes looked at per block: each may read receipts or replay calls.
disputes_per_block_max = 16

Stage = tuple[Status, int, bytes, bytes]


class CourtPlayer:
    def __init__(
        self, me: Address, store: ExecutorStore, submit: Callable[[Message], None]
    ) -> None:
        self.me = me
        self.store = store
        self._submit = submit
        self._sent: dict[int, tuple[Stage, int]] = {}  # dispute → (its stage, height sent)

    def on_committed(self, reader: StateReader, height: int) -> None:
        opened = queries.open_ids(reader)
        self._sent = {key: value for key, value in self._sent.items() if key in opened}
        mine = [
            (dispute_id, dispute)
            for dispute_id in opened
            if (dispute := queries.dispute(reader, dispute_id)) is not None
            and self.me in dispute.sides
        ]
        for dispute_id, dispute in mine[:disputes_per_block_max]:
            stage = (dispute.status, dispute.turns, *dispute.posts)
            sent = self._sent.get(dispute_id)
            if sent is not None and sent[0] == stage and height < sent[1] + resend_blocks:
                continue
            message = self._move(reader, dispute_id, dispute, dispute.sides.index(self.me))
            if message is None:
                continue
            log.info(
                "court move",
                extra={"dispute": dispute_id, "move": type(message).__name__, "height": height},
            )
            self._submit(message)
            self._sent[dispute_id] = (stage, height)

    def _move(
        self, reader: StateReader, dispute_id: int, dispute: Dispute, side: int
    ) -> Message | None:
        if dispute.status is Status.REVEAL and dispute.posts[side] == ZERO:
            stored = self.store.receipts(dispute.app_id, dispute.call_seq, 1)
            if stored and stored[0].receipt.hash() == dispute.receipts[side]:
                return RevealReceipt(dispute_id, encode(stored[0].receipt.to_wire()))
            log.warning("court: no receipt to reveal", extra={"dispute": dispute_id})
            return None
        if dispute.status is Status.BISECT and dispute.mover == side:
            return self._bisect(reader, dispute_id, dispute, side)
        if dispute.status is Status.RULING_DUE:
            state = state_before(reader, dispute.app_id, dispute.lo)
            if state is None:
                return None
            return RuleDispute(dispute_id, tuple(sorted(state.items())), b"")
        return None

    def _bisect(
        self, reader: StateReader, dispute_id: int, dispute: Dispute, side: int
    ) -> Message | None:
        k = queries.params(reader).points_per_turn
        at = game.points(dispute.lo, dispute.hi, k) if dispute.pending else ()
        answers = self._roots(dispute.app_id, at)
        if answers is None:
            log.warning("court: roots not held", extra={"dispute": dispute_id})
            return None
        pair = (answers, dispute.pending) if side == 0 else (dispute.pending, answers)
        left = game.narrow(dispute.lo, dispute.hi, dispute.agreed_root, dispute.posts, at, pair)
        roots = self._roots(dispute.app_id, game.points(left.lo, left.hi, k))
        if roots is None:
            log.warning("court: roots not held", extra={"dispute": dispute_id})
            return None
        return MoveDispute(dispute_id, answers, roots)

    def _roots(self, app_id: bytes, points: tuple[int, ...]) -> tuple[bytes, ...] | None:
        """This executor's state roots after each call of `points`, None if one is missing."""
        roots = []
        for seq in points:
            stored = self.store.receipts(app_id, seq, 1)
            if not stored or stored[0].seq != seq:
                return None
            roots.append(stored[0].receipt.state_root_after)
        return tuple(roots)
