"""faucet rules: mint FLX or NEX to the sender within the faucet's limits.

Rules (in ladder order): the faucet is enabled (genesis enables it on dev and testnet chains
only); the denomination is FLX or NEX; the amount is not zero and at most `request_coins_max`
coins; at least `cooldown_ms` has passed since this address's last claim of this
denomination; the address's claims of it on this day stay within `daily_coins_max` coins; the
supply stays within uint64. A day is `timestamp_ms // 86,400,000` of the block's timestamp
(UTC days); the block timestamp is the only clock, so every node decides the same.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state import constants
from metanode.state.bank.rules import can_mint, mint
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.faucet import errors
from metanode.state.faucet.messages import check_claim
from metanode.state.faucet.records import Claims, read_claims, read_params, write_claims
from metanode.state.view import Overlay
from metanode.types import FaucetClaim

_COIN = constants.base_units_per_coin


def on_faucet_claim(writer: Overlay, context: TxContext, message: FaucetClaim) -> int:
    params = read_params(writer)
    if not params.enabled:
        return errors.FAUCET_DISABLED
    code = check_claim(message)
    if code != OK:
        return code
    if message.amount > params.request_coins_max * _COIN:
        return errors.AMOUNT_ABOVE_REQUEST_MAX
    now = context.block.timestamp_ms
    today = now // constants.day_ms
    previous = read_claims(writer, context.sender, message.denom)
    claimed_today = 0
    if previous is not None:
        if now < previous.last_claim_ms + params.cooldown_ms:
            return errors.COOLDOWN_ACTIVE
        if previous.day == today:
            claimed_today = previous.claimed
    if claimed_today + message.amount > params.daily_coins_max * _COIN:
        return errors.DAILY_LIMIT_REACHED
    if can_mint(writer, message.denom, message.amount) != OK:
        return errors.SUPPLY_OVERFLOW
    check(mint(writer, context.sender, message.denom, message.amount) == OK, "mint after check")
    write_claims(
        writer, context.sender, message.denom, Claims(now, today, claimed_today + message.amount)
    )
    return OK
