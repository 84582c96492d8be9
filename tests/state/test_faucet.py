"""faucet: dev and testnet only; FLX and NEX; per-request, per-day and cooldown limits measured
by block timestamps."""

from __future__ import annotations

from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK
from metanode.state.constants import day_ms
from metanode.state.faucet import errors
from metanode.state.faucet import queries as faucet_queries
from metanode.types import Denom, FaucetClaim
from tests.state.support import COIN, Chain, Wallet, make_genesis

HOUR_MS = 3_600_000


def test_claims_mint_and_count_in_supply() -> None:
    chain = Chain()
    wallet = Wallet.of(0)
    nex = bank_queries.balance(chain.state.reader, wallet.address, Denom.NEX)
    changes = chain.run([wallet.tx(0, FaucetClaim(100_000 * COIN, Denom.NEX))])
    assert changes.receipts[0].code == OK
    assert (
        bank_queries.balance(chain.state.reader, wallet.address, Denom.NEX) == nex + 100_000 * COIN
    )
    assert bank_queries.supply(chain.state.reader, Denom.NEX).minted == 100_000 * COIN


def test_limits_in_ladder_order() -> None:
    chain = Chain()
    wallet = Wallet.of(0)
    nonce = iter(range(100))

    def claim(amount: int, denom: Denom = Denom.FLX, step_ms: int = 1_000) -> int:
        tx = wallet.tx(next(nonce), FaucetClaim(amount, denom))
        return chain.run([tx], step_ms=step_ms).receipts[0].code

    assert claim(1, Denom.GEN) == errors.DENOM_NOT_ALLOWED
    assert claim(1, Denom.AUR) == errors.DENOM_NOT_ALLOWED
    assert claim(0) == errors.AMOUNT_MUST_NOT_BE_ZERO
    assert claim(100_000 * COIN + 1) == errors.AMOUNT_ABOVE_REQUEST_MAX
    # Start at the beginning of a day so the day does not roll over during the test.
    chain.time_ms = (chain.time_ms // day_ms + 1) * day_ms - 1_000
    assert claim(100_000 * COIN) == OK
    assert claim(1, step_ms=HOUR_MS - 2_000) == errors.COOLDOWN_ACTIVE
    assert claim(1, step_ms=2_000) == OK  # exactly one hour after the first claim
    # Other denominations have their own cooldown and limit.
    assert claim(5, Denom.NEX, step_ms=0) == OK
    for _ in range(8):
        assert claim(100_000 * COIN, step_ms=HOUR_MS) == OK
    assert claim(100_000 * COIN, step_ms=HOUR_MS) == errors.DAILY_LIMIT_REACHED
    remaining = faucet_queries.claimable(
        chain.state.reader, wallet.address, Denom.FLX, chain.time_ms + HOUR_MS
    )
    assert remaining == 100_000 * COIN - 1
    assert claim(remaining, step_ms=HOUR_MS) == OK
    # The next day (by block time) the limit starts over.
    chain.time_ms = (chain.time_ms // day_ms + 1) * day_ms
    assert claim(100_000 * COIN, step_ms=0) == OK


def test_faucet_is_off_on_mainnet_and_when_disabled() -> None:
    for document in (
        make_genesis(kind="mainnet"),
        make_genesis(parameters={"faucet": {"enabled": False}}),
    ):
        chain = Chain(document)
        tx = Wallet.of(0).tx(0, FaucetClaim(1, Denom.FLX))
        assert chain.run([tx]).receipts[0].code == errors.FAUCET_DISABLED
        assert faucet_queries.claimable(chain.state.reader, Wallet.of(0).address, Denom.FLX, 0) == 0
