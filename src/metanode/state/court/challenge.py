"""Challenging a notarised receipt with one's own receipt of the same call (message 39).

Why: `OpenDispute` claims a state root, so an executor that lies in its output alone, with the
right root, cannot be challenged by it. Here the challenger brings its own signed receipt of the
call instead, and the dispute is set up as a replicas' dispute whose sides have revealed: each
side's claim is its receipt's whole result (state root, output, outcome, fuel), so the one-step
ruling (ruling.py) finds against a wrong output too. If both receipts name the same state
before the call, the dispute is that call alone; else it is bisected from the app's empty state
before call 0. The challenger is bonded as for `OpenDispute`, and answers for its receipt:
if the replay matches neither, both lose.

The ladder (tests/state/test_court.py pins its order) returns its code before writing anything.
"""

from __future__ import annotations

from dataclasses import replace

from metanode.crypto.hashing import blake3_hash
from metanode.errors import VerificationError
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.court import errors
from metanode.state.court.rules import admit, after_reveal, against, decode_receipt, open_challenge
from metanode.state.court.ruling import call_context
from metanode.state.notary import queries as notary
from metanode.state.view import Overlay
from metanode.types import Address, ChallengeReceipt


def on_challenge_receipt(writer: Overlay, context: TxContext, message: ChallengeReceipt) -> int:
    receipt = decode_receipt(message.receipt)
    own = decode_receipt(message.own_receipt)
    if receipt is None or own is None:
        return errors.RECEIPT_MALFORMED
    if Address.from_public_key(own.executor) != context.sender:
        return errors.CHALLENGE_NOT_SENDERS
    if own.executor == receipt.executor:
        return errors.CHALLENGE_OWN_RECEIPT
    try:
        own.verify_signature()
    except VerificationError:
        return errors.CHALLENGE_SIGNATURE_INVALID
    if own.result_hash() == receipt.result_hash():
        return errors.RECEIPTS_AGREE
    found = notary.receipt(writer, receipt.hash())
    if found is None:
        return errors.RECEIPT_NOT_NOTARISED
    seq = found.leaf.call_seq
    call = call_context(writer, found.app_id, seq)
    if isinstance(call, int):
        return call
    fixed = (found.app_id, call.call.function, blake3_hash(call.call.input), call.block_time)
    if (own.app_id, own.function, own.input_hash, own.block_time, own.seed) != (*fixed, call.seed):
        return errors.CHALLENGE_OTHER_CALL
    code = admit(writer, context, found, message.bond)
    if code != OK:
        return code
    challenged = against(writer, context, found, receipt, message.bond)
    revealed = replace(
        challenged,
        receipts=(found.leaf.receipt_hash, own.hash()),
        results=(receipt.result_hash(), own.result_hash()),
        posts=(receipt.state_root_after, own.state_root_after),
    )
    dispute = after_reveal(revealed, receipt.state_root_before, own.state_root_before)
    open_challenge(writer, context, dispute)
    return OK
