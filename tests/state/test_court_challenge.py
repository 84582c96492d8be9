"""state/court/challenge.py: a challenge that carries the challenger's own signed receipt of
the call (message 39), so an output-only lie, whose state root is right, is caught; its
refusals in ladder order, each changing nothing but the fee."""

from __future__ import annotations

import functools
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.docklock.appstate import state_root
from metanode.docklock.receipt import Receipt
from metanode.state.codes import OK
from metanode.state.court import errors, queries
from metanode.state.court.consequences import BONDS
from metanode.state.court.records import Kind, Status
from metanode.types import ChallengeReceipt, Denom, Transfer
from tests.state.support import FEE, Wallet
from tests.state.test_court import BOND, CHALLENGER, OWNER, STAKE, Court, Lie, evidence_of
from tests.state.test_court import rule_message as ruling

LIAR, HONEST = 0, 1


def challenge(receipt: Receipt, own: Receipt, bond: int = BOND) -> ChallengeReceipt:
    return ChallengeReceipt(encode(receipt.to_wire()), encode(own.to_wire()), bond)


def funded(court: Court, wallet: Wallet) -> None:
    assert court.send(OWNER, Transfer(wallet.address, 2 * BOND, Denom.FLX)) == OK


def test_an_output_lie_with_the_right_root_is_challenged_and_loses() -> None:
    court = Court()
    lying = court.executions(LIAR, Lie(1, "output"))
    honest = court.executions(HONEST)
    court.notarise(lying)
    challenger = court.wallet(HONEST)
    funded(court, challenger)
    truth = court.truth(court.calls)
    flx = court.balance(challenger.address, Denom.FLX)
    assert lying[1].receipt.state_root_after == honest[1].receipt.state_root_after
    assert court.send(challenger, challenge(lying[1].receipt, honest[1].receipt)) == OK
    opened = court.dispute()
    assert (opened.kind, opened.status, opened.lo, opened.hi) == (
        Kind.CHALLENGE,
        Status.RULING_DUE,
        1,
        1,
    )
    assert opened.agreed_root == state_root(truth[1])
    assert opened.receipts == (lying[1].receipt.hash(), honest[1].receipt.hash())
    assert court.balance(BONDS, Denom.FLX) == BOND
    assert court.send(challenger, ruling(0, truth[1], evidence_of(lying[1]))) == OK
    ruled = court.dispute()
    assert ruled.status is Status.CHALLENGER_WON
    assert ruled.ruling is not None and ruled.ruling.what == "output"
    assert court.stake(LIAR) < STAKE
    # The bond came back: the challenger paid at most its two fees (a validator, it may have
    # been paid back part of them as block fees).
    assert court.balance(BONDS, Denom.FLX) == 0
    assert court.balance(challenger.address, Denom.FLX) >= flx - 2 * FEE


def test_receipts_that_name_different_states_before_are_bisected_from_the_start() -> None:
    court = Court()
    lying = court.executions(LIAR, Lie(3, "copy"))  # call 2's receipt, so call 2's state before
    honest = court.executions(HONEST)
    court.notarise(lying)
    funded(court, court.wallet(HONEST))
    assert lying[3].receipt.state_root_before != honest[3].receipt.state_root_before
    sent = challenge(lying[3].receipt, honest[3].receipt)
    assert court.send(court.wallet(HONEST), sent) == OK
    copied = court.dispute()
    assert (copied.status, copied.lo, copied.hi) == (Status.BISECT, 0, 3)


def test_challenge_refusals_in_ladder_order_change_nothing_but_the_fee() -> None:
    court = Court(window=12)  # the LogBlock's height + 12: the block before the last refusal
    lying = court.executions(LIAR, Lie(1, "output"))
    honest = court.executions(HONEST)
    unnotarised = court.executions(LIAR, Lie(1, "root"))
    own_lie = court.executions(LIAR)
    wrong_too = court.executions(HONEST, Lie(2, "output"))
    court.notarise(lying)
    challenger = court.wallet(HONEST)
    target, own = lying[1].receipt, honest[1].receipt
    forged = replace(own, signature=bytes(64))
    refusals = [
        (challenger, ChallengeReceipt(encode(target.to_wire()), b"\x00", BOND)),
        (CHALLENGER, challenge(target, own)),  # not the sender's receipt
        (court.wallet(LIAR), challenge(target, own_lie[1].receipt)),  # suing itself
        (challenger, challenge(target, forged)),
        (challenger, challenge(lying[0].receipt, honest[0].receipt)),  # both true
        (challenger, challenge(unnotarised[1].receipt, own)),
        (challenger, challenge(target, honest[2].receipt)),  # call 2's receipt
        (challenger, challenge(target, own, BOND - 1)),
        (challenger, challenge(target, own)),  # one coin of FLX
    ]
    flx = court.balance(challenger.address, Denom.FLX)
    codes = [court.send(wallet, message) for wallet, message in refusals]
    assert codes == [
        errors.RECEIPT_MALFORMED,
        errors.CHALLENGE_NOT_SENDERS,
        errors.CHALLENGE_OWN_RECEIPT,
        errors.CHALLENGE_SIGNATURE_INVALID,
        errors.RECEIPTS_AGREE,
        errors.RECEIPT_NOT_NOTARISED,
        errors.CHALLENGE_OTHER_CALL,
        errors.BOND_TOO_SMALL,
        errors.BOND_UNFUNDED,
    ]
    assert queries.open_ids(court.chain.state.reader) == []
    assert court.balance(BONDS, Denom.FLX) == 0
    challenger_sent = sum(1 for wallet, _message in refusals if wallet == challenger)
    assert court.balance(challenger.address, Denom.FLX) >= flx - challenger_sent * FEE
    funded(court, challenger)
    assert court.send(challenger, challenge(target, own)) == OK
    assert court.send(challenger, challenge(target, own)) == errors.RECEIPT_ALREADY_DISPUTED
    late = challenge(lying[2].receipt, wrong_too[2].receipt)
    assert court.send(challenger, late) == errors.WINDOW_CLOSED


@functools.cache
def notarised_lie() -> tuple[Court, ChallengeReceipt]:
    """One chain for every example: a notarised output lie and a good challenge of it."""
    court = Court(calls=2)
    lying = court.executions(LIAR, Lie(1, "output"))
    court.notarise(lying)
    funded(court, court.wallet(HONEST))
    return court, challenge(lying[1].receipt, court.executions(HONEST)[1].receipt)


@settings(max_examples=25, deadline=None)
@given(
    garbage=st.binary(max_size=200),
    field=st.sampled_from(["receipt", "own_receipt"]),
)
def test_garbage_in_either_receipt_is_refused_and_opens_nothing(garbage: bytes, field: str) -> None:
    court, good = notarised_lie()
    sent = replace(good, **{field: garbage})
    assert court.send(court.wallet(HONEST), sent) == errors.RECEIPT_MALFORMED
    assert queries.open_ids(court.chain.state.reader) == []
    assert court.balance(BONDS, Denom.FLX) == 0
