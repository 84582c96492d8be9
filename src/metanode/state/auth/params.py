"""auth parameters: chosen in the genesis file, stored at `keys.PARAMS`."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.errors import check
from metanode.state import constants
from metanode.state.auth import keys
from metanode.state.values import decode_uints, encode_value
from metanode.state.view import Overlay, StateReader


@dataclass(frozen=True, slots=True)
class AuthParams:
    # The smallest fee (FLX base units) a transaction may offer: a free transaction would let
    # anyone bump nonces and store accounts at no cost.
    fee_min: int = 1_000

    def __post_init__(self) -> None:
        check(0 <= self.fee_min <= constants.uint64_max, "auth.fee_min out of range")


def read_params(reader: StateReader) -> AuthParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "auth parameters missing from state (genesis not loaded?)")
    (fee_min,) = decode_uints(data, keys.PARAMS, 1)  # type: ignore[arg-type]
    return AuthParams(fee_min)


def write_params(writer: Overlay, params: AuthParams) -> None:
    writer.put(keys.PARAMS, encode_value([params.fee_min]))
