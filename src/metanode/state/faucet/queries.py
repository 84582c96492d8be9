"""faucet queries: read-only; what an address may still claim is for the CLI and the API."""

from __future__ import annotations

from metanode.state import constants
from metanode.state.faucet.records import Claims, FaucetParams, read_claims, read_params
from metanode.state.view import StateReader
from metanode.types import Address, Denom


def params(reader: StateReader) -> FaucetParams:
    return read_params(reader)


def claims(reader: StateReader, address: Address, denom: Denom) -> Claims | None:
    return read_claims(reader, address, denom)


def claimable(reader: StateReader, address: Address, denom: Denom, timestamp_ms: int) -> int:
    """Base units `address` could claim in a block at `timestamp_ms` (0 while cooling down)."""
    settings = read_params(reader)
    if not settings.enabled:
        return 0
    coin = constants.base_units_per_coin
    previous = read_claims(reader, address, denom)
    claimed = 0
    if previous is not None:
        if timestamp_ms < previous.last_claim_ms + settings.cooldown_ms:
            return 0
        if previous.day == timestamp_ms // constants.day_ms:
            claimed = previous.claimed
    return max(0, min(settings.request_coins_max * coin, settings.daily_coins_max * coin - claimed))
