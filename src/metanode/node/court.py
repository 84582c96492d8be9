"""The court's game played by an executor node, without a person at the keyboard
(docs/court.md): after each committed block, for every open dispute in which this node's
address is a side, the move the rules wait for, from what its executor store holds.

- Reveal: its receipt of the disputed call, whose hash the withheld LogBlock names.
- Bisect, on its turn: its roots (each stored receipt's `state_root_after`) at the points the
  other side posted, then at the points of the range those answers leave (the chain's own
  `state.court.game` arithmetic, so the shapes always fit).
- Ruling due: the reads of the disputed call (the keys it touches in the app's state before
  it, recomputed from the chain, `state.court.ruling.state_before`, with their proof against
  the agreed root, `ruling.reads_for`) and, for an app deployed from relay storage, the
  module this node's executor fetched (`ruling.carried_module`), so the replay can run, and
  as evidence the losing side's receipt of the call with its witness, so the ruling names the
  witness step where the lie begins. The node first replays the call itself (`ruling.rule`,
  the chain's own code) to know which side the chain will find for. If its own: it asks the
  other side's node for its evidence (a WANT frame; the EVIDENCE frame answers, `evidence`)
  and asks for the ruling with it as soon as it arrives and the replay takes it, or after
  `evidence_wait_blocks` without (a loser that withholds its witness loses anyway, with the
  end of the run named).
  If the other's: it concedes after `concede_blocks` with its own receipt and witness, so a
  dispute with a silent winner is still decided.
Challenges (`[court] watch`, on by default): when a committed LogBlock notarises another
executor's receipt of a call this node's executor ran, with a different result, and its own
receipt is not notarised beside it (then the notaries' replicas dispute covers the call), the
node challenges that receipt with its own (ChallengeReceipt), bonded from its account, once per
receipt (sent again after `resend_blocks` while the chain has not taken it and its window is
open); then it plays the dispute as any other. The receipt bodies are those the node held for
notarising (gossiped by their executors): a node that never received a false receipt does not
challenge it. A node never drawn for an app runs and signs its calls only if it watches the
app (`[court] watch_apps`; node.hosting hands them over as `watched`, never published).
A move is sent once per stage of a dispute, and again after `resend_blocks` if the dispute
has not moved on (the transaction may have been lost). A move this node cannot make (a call
its store has not executed) is logged and left to the deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from metanode.codec import encode
from metanode.docklock.appstate import ProvenState
from metanode.docklock.receipt import Receipt
from metanode.errors import VerificationError
from metanode.executor.store import ExecutorStore, StoredReceipt
from metanode.net.frames import Evidence
from metanode.state.bank import queries as bank
from metanode.state.court import errors, game, queries
from metanode.state.court.records import CHALLENGER, DEFENDER, ZERO, Dispute, Status
from metanode.state.court.ruling import (
    carried_module,
    evidence_bytes,
    evidence_of,
    reads_for,
    rule,
    state_before,
)
from metanode.state.multiproof import Incomplete
from metanode.state.notary import queries as notary
from metanode.state.view import StateReader
from metanode.types import Address, ChallengeReceipt, Denom, MoveDispute, RevealReceipt, RuleDispute
from metanode.types.messages import Message

log = logging.getLogger("metanode.node")

resend_blocks = 10
# Disputes looked at per block: each may read receipts or replay calls.
disputes_per_block_max = 16
# A winner waits this long for the loser's witness; a loser's node leaves the winner twice
# that before it concedes, so the winner's ruling, which names the lie's step, comes first.
# Neither waits past its last block before the deadline: a message sent after block h is in
# block h + 1 at the earliest, and the ruling counts up to the deadline's block; the winner
# keeps one block more in hand.
evidence_wait_blocks = 3
concede_blocks = 2 * evidence_wait_blocks

Stage = tuple[Status, int, bytes, bytes]
_WON = {DEFENDER: Status.DEFENDER_WON, CHALLENGER: Status.CHALLENGER_WON}


@dataclass(frozen=True, slots=True)
class Due:
    """A dispute whose ruling is due, as this node prepared it once."""

    since: int  # the height this node first saw the ruling due
    reads: bytes  # the call's reads with their proof (RuleDispute.reads)
    module: bytes  # the call's module if deployed from relay storage (RuleDispute.module)
    won: bool  # the replay finds for this node's side
    want: tuple[bytes, int, Address]  # app, call, the executor whose evidence serves


class CourtPlayer:
    def __init__(
        self,
        me: Address,
        store: ExecutorStore,
        submit: Callable[[Message], None],
        want: Callable[[bytes, int], None],
        watch: bool = False,
        modules: Callable[[bytes], dict[int, bytes]] = lambda _app_id: {},
    ) -> None:
        """`want(app_id, seq)` asks the other replicas for their evidence of that call;
        `watch` is `[court] watch`; `modules(app_id)` the app's modules this node fetched
        from relay storage, by version (an app deployed by root: the ruling carries them)."""
        self.me = me
        self._modules = modules
        self.watch = watch
        # Challenges sent and not yet on chain: receipt hash → (the message, the height it was
        # last sent, the last height of its window); sent again after `resend_blocks`.
        self._challenges: dict[bytes, tuple[ChallengeReceipt, int, int]] = {}
        self.store = store
        self._submit = submit
        self._want = want
        self._sent: dict[int, tuple[Stage, int]] = {}  # dispute → (its stage, height sent)
        self._due: dict[int, Due] = {}
        self._evidence: dict[tuple[bytes, int, Address], bytes] = {}  # as received, unchecked

    def evidence(self, app_id: bytes, seq: int) -> Evidence | None:
        """This executor's receipt of the call with its witness, if it signed one."""
        stored = self._stored(app_id, seq)
        if stored is None:
            return None
        return Evidence(app_id, seq, evidence_bytes(stored.receipt, stored.witness))

    def on_evidence(self, peer: Address, frame: Evidence) -> str | None:
        """Keep a peer's evidence this node asked for; the reason to blame the peer, if any."""
        key = (frame.app_id, frame.seq, peer)
        if not any(due.won and due.want == key for due in self._due.values()):
            return None  # not asked for, or from a replica not in the dispute
        found = evidence_of(frame.evidence)
        if not found or Address.from_public_key(found[0][0].executor) != peer:
            return "evidence_malformed"
        self._evidence[key] = frame.evidence
        return None

    def challenge_false(
        self, reader: StateReader, height: int, notarised: Sequence[tuple[bytes, int, Receipt]]
    ) -> None:
        """Challenge each notarised receipt of `notarised` (app, call, receipt) whose result
        differs from this executor's own receipt of the call (module docstring)."""
        if not self.watch:
            return
        owns = self._own_receipts(notarised)
        for app_id, seq, theirs in notarised:
            own = owns.get((app_id, seq))
            # The checks that read no LogBlock come first: almost every receipt agrees with
            # this executor's own, and `notary.receipt` decodes and hashes the whole LogBlock
            # (up to 512 leaves) for each, which was 60% of a loaded node's event loop at
            # commit (py-spy, bench/apps.py; docs/performance.md).
            if (
                own is None
                or Address.from_public_key(theirs.executor) == self.me
                or own.result_hash() == theirs.result_hash()
            ):
                continue
            receipt_hash = theirs.hash()
            found = notary.receipt(reader, receipt_hash)
            if (
                found is None
                or receipt_hash in self._challenges
                or notary.receipt(reader, own.hash()) is not None
                or queries.of_receipt(reader, receipt_hash) is not None
            ):
                continue
            params = queries.params(reader)
            bond = params.bond
            if bank.balance(reader, self.me, Denom.FLX) < bond:
                log.warning(
                    "court: cannot fund a challenge's bond",
                    extra={"app": app_id.hex()[:16], "seq": seq, "bond": bond},
                )
                continue
            log.info(
                "court challenge",
                extra={"app": app_id.hex()[:16], "seq": seq, "receipt": receipt_hash.hex()},
            )
            message = ChallengeReceipt(theirs.encode(), own.encode(), bond)
            self._submit(message)
            window_end = found.height + params.dispute_window_blocks
            self._challenges[receipt_hash] = (message, height, window_end)

    def _resend_challenges(self, reader: StateReader, height: int) -> None:
        """Forget the challenges the chain took (or whose window closed); send again those
        still not on chain `resend_blocks` after they were sent (the transaction may have been
        lost)."""
        for receipt_hash, (message, sent, window_end) in list(self._challenges.items()):
            if queries.of_receipt(reader, receipt_hash) is not None or height >= window_end:
                del self._challenges[receipt_hash]
            elif height >= sent + resend_blocks:
                log.info("court challenge resent", extra={"receipt": receipt_hash.hex()})
                self._submit(message)
                self._challenges[receipt_hash] = (message, height, window_end)

    def _own_receipts(
        self, notarised: Sequence[tuple[bytes, int, Receipt]]
    ) -> dict[tuple[bytes, int], Receipt]:
        """This executor's receipts of the calls `notarised` names, read per app in one pass
        over the range they span: read one by one, with their witnesses decoded, they were
        most of the watch's time at commit (docs/performance.md)."""
        seqs: dict[bytes, list[int]] = {}
        for app_id, seq, _receipt in notarised:
            seqs.setdefault(app_id, []).append(seq)
        found: dict[tuple[bytes, int], Receipt] = {}
        for app_id in sorted(seqs):
            first, last = min(seqs[app_id]), max(seqs[app_id])
            for seq, receipt in self.store.signed(app_id, first, last - first + 1).items():
                found[(app_id, seq)] = receipt
        return found

    def _stored(self, app_id: bytes, seq: int) -> StoredReceipt | None:
        """What this executor stored of the call, if it ran it."""
        stored = self.store.receipts(app_id, seq, 1)
        return stored[0] if stored and stored[0].seq == seq else None

    def on_committed(self, reader: StateReader, height: int) -> None:
        opened = queries.open_ids(reader)
        self._resend_challenges(reader, height)
        self._sent = {key: value for key, value in self._sent.items() if key in opened}
        self._due = {key: value for key, value in self._due.items() if key in opened}
        wanted = {due.want for due in self._due.values()}
        self._evidence = {key: value for key, value in self._evidence.items() if key in wanted}
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
            side = dispute.sides.index(self.me)
            message = self._move(reader, dispute_id, dispute, side, height)
            if message is None:
                continue
            log.info(
                "court move",
                extra={"dispute": dispute_id, "move": type(message).__name__, "height": height},
            )
            self._submit(message)
            self._sent[dispute_id] = (stage, height)

    def _move(
        self, reader: StateReader, dispute_id: int, dispute: Dispute, side: int, height: int
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
            return self._rule(reader, dispute_id, dispute, side, height)
        return None

    def _rule(
        self, reader: StateReader, dispute_id: int, dispute: Dispute, side: int, height: int
    ) -> Message | None:
        due = self._due.get(dispute_id) or self._prepare(reader, dispute_id, dispute, side, height)
        if due is None:
            return None
        if due.won:
            evidence = self._evidence.get(due.want)
            waited = min(due.since + evidence_wait_blocks, dispute.deadline - 2)
            if evidence is None and height < waited:
                return None
        elif height < min(due.since + concede_blocks, dispute.deadline - 1):
            return None
        else:
            own = self.evidence(dispute.app_id, dispute.lo)
            evidence = None if own is None else own.evidence
        found = None if evidence is None else evidence_of(evidence)
        proven = ProvenState.check(dispute.agreed_root, due.reads)
        if found is None or isinstance(rule(reader, dispute, proven, found, due.module), int):
            evidence = None  # the replay would refuse it: ask without, naming the end of the run
        log.info(
            "court ruling asked",
            extra={"dispute": dispute_id, "won": due.won, "evidence": evidence is not None},
        )
        return RuleDispute(dispute_id, due.reads, evidence or b"", due.module)

    def _prepare(
        self, reader: StateReader, dispute_id: int, dispute: Dispute, side: int, height: int
    ) -> Due | None:
        modules = self._modules(dispute.app_id)
        state = state_before(reader, dispute.app_id, dispute.lo, modules)
        module = carried_module(reader, dispute.app_id, dispute.lo, modules)
        reads = None if state is None else reads_for(reader, dispute, state, module)
        if not isinstance(reads, bytes):
            return None
        # The chain's own check of the reads and replay from them, so what is sent is taken.
        # The reads fail it when the state recomputed from the chain is not the agreed one
        # (both sides agreed to a false root): then the chain cannot be asked.
        try:
            proven = ProvenState.check(dispute.agreed_root, reads)
            judged = rule(reader, dispute, proven, [], module)
        except (VerificationError, Incomplete):
            judged = errors.STATE_MISMATCH
        if isinstance(judged, int):
            log.warning(
                "court: the call cannot be judged", extra={"dispute": dispute_id, "code": judged}
            )
            return None
        won = judged[0] is _WON[side]
        other = dispute.sides[CHALLENGER if side == DEFENDER else DEFENDER]
        due = Due(height, reads, module, won, (dispute.app_id, dispute.lo, other))
        self._due[dispute_id] = due
        if won:
            self._want(dispute.app_id, dispute.lo)
        return due

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
            stored = self._stored(app_id, seq)
            if stored is None:
                return None
            roots.append(stored.receipt.state_root_after)
        return tuple(roots)
