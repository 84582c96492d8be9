"""auth parameters: chosen in the genesis file, stored at `keys.PARAMS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metanode.errors import check
from metanode.state import constants
from metanode.state.auth import keys
from metanode.state.values import decode_uints, encode_value, in_ranges
from metanode.state.view import Overlay, StateReader

# The treasury's share of fees each chain kind starts with (a genesis file may set another):
# a dev chain pays its proposers everything, a testnet rehearses the mainnet's split at a
# fifth of its rate.
TREASURY_FEE_BPS_BY_KIND = {"dev": 0, "testnet": 100, "mainnet": 500}


@dataclass(frozen=True, slots=True)
class AuthParams:
    # The smallest fee (FLX base units) a transaction may offer: a free transaction would let
    # anyone bump nonces and store accounts at no cost.
    fee_min: int = 1_000
    # The share of every block's fees (basis points) that goes to the treasury module account
    # instead of the block's proposer.
    treasury_fee_bps: int = 0

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "fee_min": (0, constants.uint64_max),
        "treasury_fee_bps": (0, constants.basis_points),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"auth parameters: {problem}")

    def split_fees(self, fees: int) -> tuple[int, int]:
        """(treasury's, proposer's) shares of `fees`: the treasury's is floored and the
        proposer gets the rest, so the two always sum to `fees` exactly."""
        treasury = fees * self.treasury_fee_bps // constants.basis_points
        return treasury, fees - treasury


def read_params(reader: StateReader) -> AuthParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "auth parameters missing from state (genesis not loaded?)")
    fee_min, treasury_fee_bps = decode_uints(data, keys.PARAMS, 2)  # type: ignore[arg-type]
    return AuthParams(fee_min, treasury_fee_bps)


def write_params(writer: Overlay, params: AuthParams) -> None:
    writer.put(keys.PARAMS, encode_value([params.fee_min, params.treasury_fee_bps]))
