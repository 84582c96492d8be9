"""faucet invariants, named, checked after every block in tests.

- `claims_within_daily_limit`: no address has claimed more of a denomination on its last day
  than `daily_coins_max` coins, and only FLX and NEX were ever claimed.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state import constants
from metanode.state.faucet import keys
from metanode.state.faucet.messages import DENOMS
from metanode.state.faucet.records import read_params
from metanode.state.values import decode_uints
from metanode.state.view import StateReader


def claims_within_daily_limit(reader: StateReader) -> None:
    limit = read_params(reader).daily_coins_max * constants.base_units_per_coin
    for key, value in reader.scan(keys.CLAIMS):
        _last, _day, claimed = decode_uints(value, key, 3)
        check(key[-1] in DENOMS, f"faucet.claims_within_daily_limit: denom {key[-1]} claimed")
        check(
            claimed <= limit,
            f"faucet.claims_within_daily_limit: {key.hex()} claimed {claimed} > {limit}",
        )


INVARIANTS = (claims_within_daily_limit,)
