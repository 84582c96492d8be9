"""auth: the guard ladder's order is pinned; failing it keeps a transaction out of any block;
passing it charges the fee and bumps the nonce whatever the message rule decides."""

from __future__ import annotations

import pytest

from metanode.state.auth import errors
from metanode.state.auth import queries as auth_queries
from metanode.state.auth.params import AuthParams
from metanode.state.auth.rules import guard_ladder
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK
from metanode.state.machine import InvalidBlock, apply_block, build_block
from metanode.types import Block, Denom, Transaction, Transfer
from tests.state.support import CHAIN_ID, COIN, FEE, Chain, Wallet, make_genesis

LADDER = [
    errors.WRONG_CHAIN,
    errors.EXPIRED,
    errors.FEE_TOO_LOW,
    errors.BAD_SIGNATURE,
    errors.NONCE_TOO_LOW,
    errors.NONCE_TOO_HIGH,
    errors.INSUFFICIENT_FEE_BALANCE,
]


def test_ladder_codes_are_numbered_in_ladder_order() -> None:
    assert sorted(LADDER) == LADDER
    assert [code - 100 for code in LADDER] == list(range(1, 8))


def _tx(
    wallet: Wallet,
    *,
    chain: bool = True,
    expired: bool = False,
    fee: int = FEE,
    signature_ok: bool = True,
    nonce: int = 0,
) -> Transaction:
    tx = wallet.tx(
        nonce,
        Transfer(Wallet.of(9).address, 1, Denom.GEN),
        fee=fee,
        expiry=0 if expired else 1_000,
        chain_id=CHAIN_ID if chain else "other-chain",
    )
    if not signature_ok:
        tx = tx.with_signature(bytes(64))
    return tx


def _ladder(chain: Chain, tx: Transaction, height: int = 5) -> int:
    return guard_ladder(
        chain.state.reader, AuthParams(FEE), CHAIN_ID, height, tx, tx.sender_address, False
    )


@pytest.fixture
def chain() -> Chain:
    chain = Chain()
    # Wallet 0 has sent one transaction (nonce is now 1); wallet 5 holds no FLX at all.
    chain.run([Wallet.of(0).tx(0, Transfer(Wallet.of(1).address, 1, Denom.GEN))])
    return chain


def test_each_rung_wins_over_every_later_one(chain: Chain) -> None:
    poor = Wallet.of(5)  # no account: nonce 0, no FLX
    spent = Wallet.of(0)  # nonce 1
    # Fail every rung from the first one on; then repair rungs one at a time, in order.
    cases = [
        (_tx(poor, chain=False, expired=True, fee=1, signature_ok=False, nonce=9), LADDER[0]),
        (_tx(poor, expired=True, fee=1, signature_ok=False, nonce=9), LADDER[1]),
        (_tx(poor, fee=1, signature_ok=False, nonce=9), LADDER[2]),
        (_tx(poor, signature_ok=False, nonce=9), LADDER[3]),
        (_tx(spent, nonce=0, fee=10**18), LADDER[4]),
        (_tx(poor, nonce=9), LADDER[5]),
        (_tx(poor, nonce=0), LADDER[6]),
        (_tx(spent, nonce=1), OK),
    ]
    for tx, expected in cases:
        assert _ladder(chain, tx) == expected


def test_expiry_height_is_the_last_height_allowed(chain: Chain) -> None:
    tx = Wallet.of(1).tx(0, Transfer(Wallet.of(2).address, 1, Denom.GEN), expiry=5)
    assert _ladder(chain, tx, height=5) == OK
    assert _ladder(chain, tx, height=6) == errors.EXPIRED


def test_a_block_holding_a_ladder_failure_is_invalid(chain: Chain) -> None:
    good = Wallet.of(1).tx(0, Transfer(Wallet.of(2).address, 1, Denom.GEN))
    bad = Wallet.of(2).tx(7, Transfer(Wallet.of(3).address, 1, Denom.GEN))  # nonce too high
    proposal = chain.propose([good, bad])
    assert proposal.block.txs == (good,)
    assert [code for _, code in proposal.dropped] == [errors.NONCE_TOO_HIGH]
    # Same header; apply must refuse before anything else matters.
    forged = Block(proposal.block.header, (good, bad), (), proposal.block.last_certificate)
    with pytest.raises(InvalidBlock) as raised:
        apply_block(chain.state, forged)
    assert raised.value.reason == "transaction_fails_ladder"
    assert raised.value.tx_index == 1
    assert "nonce_too_high" in str(raised.value)


def test_a_forged_signature_is_refused_unless_already_verified(chain: Chain) -> None:
    forged = _tx(Wallet.of(1), signature_ok=False)
    proposal = chain.propose([forged])
    assert proposal.dropped[0][1] == errors.BAD_SIGNATURE
    # A hash in `verified` is trusted: the node verified it at admission.
    skipped = build_block(
        chain.state,
        [forged],
        timestamp_ms=chain.time_ms,
        proposer=chain.proposer,
        verified={forged.hash()},
        last_certificate=chain.certificate,
    )
    assert skipped.block.txs == (forged,)
    with pytest.raises(InvalidBlock):
        apply_block(chain.state, skipped.block)
    assert apply_block(chain.state, skipped.block, verified={forged.hash()}).height == 2


def test_fee_and_nonce_are_charged_even_when_the_message_fails(chain: Chain) -> None:
    sender = Wallet.of(1)
    before = bank_queries.account(chain.state.reader, sender.address)
    too_much = sender.tx(0, Transfer(Wallet.of(2).address, 10**6 * COIN, Denom.GEN))
    changes = chain.run([too_much])
    assert changes.receipts[0].code != OK
    after = bank_queries.account(chain.state.reader, sender.address)
    assert after.nonce == before.nonce + 1
    assert after.balance(Denom.FLX) == before.balance(Denom.FLX) - FEE
    assert after.balance(Denom.GEN) == before.balance(Denom.GEN)
    view = auth_queries.account(chain.state.reader, sender.address)
    assert (view.nonce, view.flx_balance) == (after.nonce, after.balance(Denom.FLX))


def test_fees_reach_the_proposer() -> None:
    chain = Chain(make_genesis())
    start = bank_queries.balance(chain.state.reader, chain.proposer, Denom.FLX)
    txs = [Wallet.of(i).tx(0, Transfer(Wallet.of(9).address, 1, Denom.NEX)) for i in range(3)]
    chain.run(txs)
    after = bank_queries.balance(chain.state.reader, chain.proposer, Denom.FLX)
    assert after == start + 3 * FEE
