"""faucet's stored records: parameters and per-(address, denomination) claims."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.errors import check
from metanode.state import constants
from metanode.state.faucet import keys
from metanode.state.values import decode_uints, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom


@dataclass(frozen=True, slots=True)
class FaucetParams:
    enabled: bool = False
    request_coins_max: int = constants.faucet_request_coins_max
    daily_coins_max: int = constants.faucet_daily_coins_max
    cooldown_ms: int = constants.faucet_cooldown_ms

    def __post_init__(self) -> None:
        check(
            0 < self.request_coins_max <= constants.faucet_request_coins_max,
            "faucet.request_coins_max out of range",
        )
        check(
            self.request_coins_max <= self.daily_coins_max <= constants.faucet_daily_coins_max,
            "faucet.daily_coins_max out of range",
        )
        check(0 <= self.cooldown_ms <= constants.day_ms, "faucet.cooldown_ms out of range")


@dataclass(frozen=True, slots=True)
class Claims:
    last_claim_ms: int
    day: int  # timestamp_ms // day_ms of the last claim
    claimed: int  # base units claimed on `day`


def read_params(reader: StateReader) -> FaucetParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "faucet parameters missing from state (genesis not loaded?)")
    enabled, request, daily, cooldown = decode_uints(data, keys.PARAMS, 4)  # type: ignore[arg-type]
    check(enabled in (0, 1), "faucet.enabled stored as neither 0 nor 1")
    return FaucetParams(bool(enabled), request, daily, cooldown)


def write_params(writer: Overlay, params: FaucetParams) -> None:
    writer.put(
        keys.PARAMS,
        encode_value(
            [
                int(params.enabled),
                params.request_coins_max,
                params.daily_coins_max,
                params.cooldown_ms,
            ]
        ),
    )


def read_claims(reader: StateReader, address: Address, denom: Denom) -> Claims | None:
    key = keys.claims(address, denom)
    data = reader.get(key)
    if data is None:
        return None
    return Claims(*decode_uints(data, key, 3))


def write_claims(writer: Overlay, address: Address, denom: Denom, claims: Claims) -> None:
    writer.put(
        keys.claims(address, denom),
        encode_value([claims.last_claim_ms, claims.day, claims.claimed]),
    )
