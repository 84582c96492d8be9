"""court result codes (range 1200–1299), stable forever: stored in receipts.

Opening (message 24): `receipt_malformed`: the bytes are not a tagged execution receipt.
`claim_matches_receipt`: the claim is the receipt's own root, so nothing is disputed.
`receipt_not_notarised`: no committed LogBlock holds the receipt. `window_closed`: its LogBlock
committed more than `dispute_window_blocks` ago. `receipt_already_disputed`: a receipt is
challenged once. `bond_too_small`: under the `bond` parameter. `bond_unfunded`: the sender's
FLX cannot cover it. `disputes_full`: `constants.disputes_open_max` are open.

Playing (messages 25–27): `dispute_unknown`; `wrong_stage`: the dispute is not waiting for
this kind of message (or is closed); `not_your_turn`: the sender is not the side that must move
now (for a reveal: not a side that has yet to reveal); `receipt_not_the_sides`: the revealed
receipt's hash is not the sender's leaf of the disputed call; `move_shape_invalid`: a turn
posts a root for each point the other side posted and one for each point of the range that
is left, no more and no fewer; `replay_fuel_exceeded`:
the call needs more fuel than `replay_fuel_max` lets a validator spend; `evidence_invalid`:
the evidence is not the losing executor's receipt of the call, with its witness;
`call_not_replayable`: the court has no record of the call's block (a call included before
the court existed) or its VRF proof yields no seed.

The ruling's reads (message 27's `reads`, docs/court.md "The ruling"), checked in this order:
`reads_malformed`: they do not decode as [[key, value or null]…, entry count, multiproof];
`state_mismatch`: the multiproof does not lead to the agreed root; `reads_not_proven`: a
listed key's value (or absence), or the entry count, is not what the proof shows, or a key is
listed twice; `proof_incomplete`: the proof leaves closed a node a listed key's path or the
call's writes need (a delete that leaves a node one child needs that child opened);
`read_unproven`: the replay touched a key the reads do not list. Each refusal writes nothing
but the fee; the dispute waits for a ruling with complete reads until its deadline.

Challenging with one's own receipt (message 39; after `receipt_malformed` for either receipt,
and before the opening rungs from `receipt_not_notarised` on): `challenge_not_senders`: the
challenger's receipt was not signed by the sender's key; `challenge_signature_invalid`: its
signature does not verify; `challenge_own_receipt`: both receipts are the sender's (an
executor cannot sue itself); `receipts_agree`: both receipts name the same result (state root,
output, outcome, fuel), so nothing is disputed; `challenge_other_call`: the challenger's
receipt is not of the challenged receipt's call as the chain fixes it (app, function, input,
block time and seed).
"""

from __future__ import annotations

from metanode.state.codes import register

DISPUTE_UNKNOWN = register("court", 1, "dispute_unknown")
RECEIPT_MALFORMED = register("court", 2, "receipt_malformed")
CLAIM_MATCHES_RECEIPT = register("court", 3, "claim_matches_receipt")
RECEIPT_NOT_NOTARISED = register("court", 4, "receipt_not_notarised")
WINDOW_CLOSED = register("court", 5, "window_closed")
RECEIPT_ALREADY_DISPUTED = register("court", 6, "receipt_already_disputed")
BOND_TOO_SMALL = register("court", 7, "bond_too_small")
BOND_UNFUNDED = register("court", 8, "bond_unfunded")
DISPUTES_FULL = register("court", 9, "disputes_full")
WRONG_STAGE = register("court", 10, "wrong_stage")
NOT_YOUR_TURN = register("court", 11, "not_your_turn")
RECEIPT_NOT_THE_SIDES = register("court", 12, "receipt_not_the_sides")
MOVE_SHAPE_INVALID = register("court", 13, "move_shape_invalid")
STATE_MISMATCH = register("court", 14, "state_mismatch")
REPLAY_FUEL_EXCEEDED = register("court", 15, "replay_fuel_exceeded")
EVIDENCE_INVALID = register("court", 16, "evidence_invalid")
CALL_NOT_REPLAYABLE = register("court", 17, "call_not_replayable")
CHALLENGE_NOT_SENDERS = register("court", 18, "challenge_not_senders")
CHALLENGE_SIGNATURE_INVALID = register("court", 19, "challenge_signature_invalid")
RECEIPTS_AGREE = register("court", 20, "receipts_agree")
CHALLENGE_OTHER_CALL = register("court", 21, "challenge_other_call")
CHALLENGE_OWN_RECEIPT = register("court", 22, "challenge_own_receipt")
READS_MALFORMED = register("court", 23, "reads_malformed")
READS_NOT_PROVEN = register("court", 24, "reads_not_proven")
PROOF_INCOMPLETE = register("court", 25, "proof_incomplete")
READ_UNPROVEN = register("court", 26, "read_unproven")
