"""court rules: the only code that writes disputes, their deadlines, bonds and rulings.

Rules:
- Opening (message 24) is a flat guard ladder (tests/state/test_court.py pins the order),
  returning its code before writing anything. The receipt must be one a committed LogBlock
  holds (its hash is the leaf's, so its body is the notarised one), challenged within
  `dispute_window_blocks` of that LogBlock's height, once; the claim is the app's state root
  after the receipt's call as the challenger holds it. The bond moves from the sender to the
  module account `court/bonds`. The range starts at the receipt's own `state_root_before`
  (which the executor signed, so it cannot contest it) or, with `from_start`, at the empty
  state before the app's call 0.
- A challenge may carry the challenger's own receipt of the call instead of a claimed root
  (message 39, challenge.py), which shares the opening rungs (`admit`) and the record
  (`against`) and compares the two receipts' whole results, so a wrong output is caught too.
- Replicas that disagree (state/notary records the withheld LogBlock) open a dispute by
  themselves (`open_from_notary`): side 0 is the first leaf's executor of the disputed call,
  side 1 the first whose result differs. Each reveals its receipt of that call (message 25) by
  the deadline; the range is that call alone if both name the same state before it, else it
  runs from call 0. A side that does not reveal loses; if neither does, nobody is judged.
- Bisection (message 26): the side to move answers the roots the other side posted last with
  its own at the same points, which narrows the range (game.py), then posts its roots at the
  points of the range left; the turn passes with a new deadline of `turn_blocks`. A side that
  misses its deadline loses, decided in `end_block` of the deadline's height, by height alone.
- One call left: anyone may ask for the ruling (message 27, ruling.py) by the deadline; if
  nobody does, the dispute ends undecided (bond back, no one slashed).
- Every open dispute has one deadline record, so `end_block` reads only the disputes due at
  its height; at most `constants.disputes_open_max` are open.
"""

from __future__ import annotations

from dataclasses import replace

from metanode.codec import decode
from metanode.docklock.appstate import EMPTY_ROOT
from metanode.docklock.receipt import Receipt
from metanode.errors import DecodeError, check
from metanode.state import constants
from metanode.state.bank.accounts import read_account
from metanode.state.bank.rules import move
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.court import errors, game, keys
from metanode.state.court.consequences import BONDS, finish
from metanode.state.court.params import read_params
from metanode.state.court.records import (
    CHALLENGER,
    DEFENDER,
    ZERO,
    Dispute,
    Kind,
    Status,
    read_app_disputes,
    read_dispute,
    write_app_disputes,
    write_dispute,
    write_id,
)
from metanode.state.notary import queries as notary
from metanode.state.staking.records import read_uint, write_uint
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom, Event, LogBlock, MoveDispute, OpenDispute, RevealReceipt


def decode_receipt(data: bytes) -> Receipt | None:
    try:
        return Receipt.from_wire(decode(data))
    except DecodeError:
        return None


def on_open_dispute(writer: Overlay, context: TxContext, message: OpenDispute) -> int:
    receipt = decode_receipt(message.receipt)
    if receipt is None:
        return errors.RECEIPT_MALFORMED
    if message.claim_root == receipt.state_root_after:
        return errors.CLAIM_MATCHES_RECEIPT
    found = notary.receipt(writer, receipt.hash())
    if found is None:
        return errors.RECEIPT_NOT_NOTARISED
    code = admit(writer, context, found, message.bond)
    if code != OK:
        return code
    seq = found.leaf.call_seq
    lo, agreed = (0, EMPTY_ROOT) if message.from_start else (seq, receipt.state_root_before)
    challenged = against(writer, context, found, receipt, message.bond)
    dispute = replace(
        challenged,
        lo=lo,
        agreed_root=agreed,
        posts=(receipt.state_root_after, message.claim_root),
        status=Status.BISECT if lo < seq else Status.RULING_DUE,
    )
    open_challenge(writer, context, dispute)
    return OK


def against(
    reader: StateReader,
    context: TxContext,
    found: notary.NotarisedReceipt,
    receipt: Receipt,
    bond: int,
) -> Dispute:
    """A challenge of the notarised `receipt` by the sender, before its claim is filled in:
    the receipt's call alone, from the receipt's own state before it, the ruling due."""
    height = context.block.height
    return Dispute(
        app_id=found.app_id,
        kind=Kind.CHALLENGE,
        sides=(Address.from_public_key(receipt.executor), context.sender),
        bond=bond,
        opened_height=height,
        call_seq=found.leaf.call_seq,
        first_seq=0,
        receipts=(found.leaf.receipt_hash, ZERO),
        results=(receipt.result_hash(), ZERO),
        lo=found.leaf.call_seq,
        hi=found.leaf.call_seq,
        agreed_root=receipt.state_root_before,
        posts=(receipt.state_root_after, ZERO),
        pending=(),
        mover=DEFENDER,
        deadline=height + read_params(reader).turn_blocks,
        turns=0,
        status=Status.RULING_DUE,
    )


def open_challenge(writer: Overlay, context: TxContext, dispute: Dispute) -> None:
    """Open a challenge and mark the defender's receipt challenged, so it is challenged once."""
    dispute_id = open_dispute(writer, context, dispute)
    write_id(writer, keys.challenged(dispute.receipts[DEFENDER]), dispute_id)


def admit(writer: Overlay, context: TxContext, found: notary.NotarisedReceipt, bond: int) -> int:
    """The rungs every challenge of a notarised receipt shares, after which it cannot fail:
    within the window, once, a bond large enough and funded, room for one more dispute; on OK
    the bond is escrowed."""
    params = read_params(writer)
    if context.block.height > found.height + params.dispute_window_blocks:
        return errors.WINDOW_CLOSED
    if writer.get(keys.challenged(found.leaf.receipt_hash)) is not None:
        return errors.RECEIPT_ALREADY_DISPUTED
    if bond < params.bond:
        return errors.BOND_TOO_SMALL
    if read_account(writer, context.sender).balance(Denom.FLX) < bond:
        return errors.BOND_UNFUNDED
    if read_uint(writer, keys.OPEN_COUNT) >= constants.disputes_open_max:
        return errors.DISPUTES_FULL
    check(move(writer, context.sender, BONDS, Denom.FLX, bond) == OK, "bond funded")
    return OK


def open_from_notary(writer: Overlay, context: TxContext, logblock: LogBlock, seq: int) -> None:
    """The notary recorded replicas disagreeing on call `seq` of `logblock` (withheld): open
    the dispute between the first leaf of the call and the first whose result differs."""
    leaves = [leaf for leaf in logblock.leaves if leaf.call_seq == seq]
    first = leaves[0]
    other = next(leaf for leaf in leaves if leaf.result_hash != first.result_hash)
    height = context.block.height
    dispute = Dispute(
        app_id=logblock.app_id,
        kind=Kind.REPLICAS,
        sides=(Address.from_public_key(first.executor), Address.from_public_key(other.executor)),
        bond=0,
        opened_height=height,
        call_seq=seq,
        first_seq=logblock.first_seq,
        receipts=(first.receipt_hash, other.receipt_hash),
        results=(first.result_hash, other.result_hash),
        lo=seq,
        hi=seq,
        agreed_root=ZERO,
        posts=(ZERO, ZERO),
        pending=(),
        mover=DEFENDER,
        deadline=height + read_params(writer).turn_blocks,
        turns=0,
        status=Status.REVEAL,
    )
    open_dispute(writer, context, dispute)


def open_dispute(writer: Overlay, context: TxContext, dispute: Dispute) -> int:
    dispute_id = read_uint(writer, keys.NEXT_ID)
    write_uint(writer, keys.NEXT_ID, dispute_id + 1)
    write_uint(writer, keys.OPEN_COUNT, read_uint(writer, keys.OPEN_COUNT) + 1)
    write_dispute(writer, dispute_id, dispute)
    writer.put(keys.deadline(dispute.deadline, dispute_id), b"")
    writer.put(keys.app_dispute(dispute.app_id, dispute_id), b"")
    counts = read_app_disputes(writer, dispute.app_id)
    write_app_disputes(writer, dispute.app_id, replace(counts, open=counts.open + 1))
    context.events.append(
        Event(
            "court_dispute_opened",
            (
                ("dispute", dispute_id.to_bytes(8, "big")),
                ("app", dispute.app_id),
                ("call_seq", dispute.call_seq.to_bytes(8, "big")),
            ),
        )
    )
    return dispute_id


def _advance(writer: Overlay, dispute_id: int, old: Dispute, new: Dispute) -> None:
    writer.delete(keys.deadline(old.deadline, dispute_id))
    writer.put(keys.deadline(new.deadline, dispute_id), b"")
    write_dispute(writer, dispute_id, new)


def staged(reader: StateReader, dispute_id: int, stage: Status) -> tuple[int, Dispute | None]:
    """The dispute, if it exists and waits for a message of `stage`; else the code why not.
    The first two rungs of every playing message's ladder."""
    dispute = read_dispute(reader, dispute_id)
    if dispute is None:
        return errors.DISPUTE_UNKNOWN, None
    if dispute.status is not stage:
        return errors.WRONG_STAGE, None
    return OK, dispute


def on_reveal_receipt(writer: Overlay, context: TxContext, message: RevealReceipt) -> int:
    code, dispute = staged(writer, message.dispute_id, Status.REVEAL)
    if dispute is None:
        return code
    side = dispute.sides.index(context.sender) if context.sender in dispute.sides else None
    if side is None or dispute.posts[side] != ZERO:
        return errors.NOT_YOUR_TURN
    receipt = decode_receipt(message.receipt)
    if receipt is None:
        return errors.RECEIPT_MALFORMED
    if receipt.hash() != dispute.receipts[side]:
        return errors.RECEIPT_NOT_THE_SIDES
    posts = list(dispute.posts)
    posts[side] = receipt.state_root_after
    befores = list(_befores(dispute))
    befores[side] = receipt.state_root_before
    revealed = replace(dispute, posts=(posts[0], posts[1]))
    if ZERO not in posts:
        revealed = after_reveal(revealed, befores[0], befores[1])
        revealed = replace(
            revealed, deadline=context.block.height + read_params(writer).turn_blocks
        )
    else:
        # The first reveal keeps its `state_root_before` where the range's start will go.
        revealed = replace(revealed, agreed_root=receipt.state_root_before)
    _advance(writer, message.dispute_id, dispute, revealed)
    return OK


def _befores(dispute: Dispute) -> tuple[bytes, bytes]:
    """The revealed sides' roots before the call (kept in `agreed_root` until both reveal)."""
    revealed = dispute.agreed_root
    return (
        revealed if dispute.posts[DEFENDER] != ZERO else ZERO,
        revealed if dispute.posts[CHALLENGER] != ZERO else ZERO,
    )


def after_reveal(dispute: Dispute, before_0: bytes, before_1: bytes) -> Dispute:
    if before_0 == before_1:
        return replace(dispute, agreed_root=before_0, status=Status.RULING_DUE)
    status = Status.BISECT if dispute.call_seq > 0 else Status.RULING_DUE
    return replace(dispute, lo=0, agreed_root=EMPTY_ROOT, status=status)


def on_move_dispute(writer: Overlay, context: TxContext, message: MoveDispute) -> int:
    code, dispute = staged(writer, message.dispute_id, Status.BISECT)
    if dispute is None:
        return code
    if context.sender != dispute.sides[dispute.mover]:
        return errors.NOT_YOUR_TURN
    params = read_params(writer)
    at = game.points(dispute.lo, dispute.hi, params.points_per_turn) if dispute.pending else ()
    if len(message.answers) != len(at):
        return errors.MOVE_SHAPE_INVALID
    by_side = [dispute.pending, message.answers]
    if dispute.mover == DEFENDER:
        by_side.reverse()
    narrowed = game.narrow(
        dispute.lo, dispute.hi, dispute.agreed_root, dispute.posts, at, (by_side[0], by_side[1])
    )
    if len(message.roots) != len(game.points(narrowed.lo, narrowed.hi, params.points_per_turn)):
        return errors.MOVE_SHAPE_INVALID
    moved = replace(
        dispute,
        lo=narrowed.lo,
        hi=narrowed.hi,
        agreed_root=narrowed.agreed_root,
        posts=narrowed.posts,
        pending=message.roots,
        mover=1 - dispute.mover,
        deadline=context.block.height + params.turn_blocks,
        turns=dispute.turns + 1,
        status=Status.BISECT if narrowed.lo < narrowed.hi else Status.RULING_DUE,
    )
    _advance(writer, message.dispute_id, dispute, moved)
    return OK


def end_block(writer: Overlay, block: BlockContext) -> None:
    """Decide every dispute whose deadline is this height: the side that had to move loses."""
    due = [
        int.from_bytes(key[-8:], "big")
        for key, _value in writer.scan(keys.deadlines_at(block.height))
    ]
    for dispute_id in due:
        dispute = read_dispute(writer, dispute_id)
        check(dispute is not None and dispute.status.is_open, "a deadline names an open dispute")
        if dispute is not None:
            finish(writer, block, dispute_id, dispute, _missed(dispute), None)


def _missed(dispute: Dispute) -> Status:
    if dispute.status is Status.BISECT:
        return Status.CHALLENGER_WON if dispute.mover == DEFENDER else Status.DEFENDER_WON
    if dispute.status is Status.REVEAL and dispute.posts.count(ZERO) == 1:
        return Status.DEFENDER_WON if dispute.posts[DEFENDER] != ZERO else Status.CHALLENGER_WON
    return Status.UNDECIDED
