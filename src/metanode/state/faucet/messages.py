"""faucet messages and their stateless checks."""

from __future__ import annotations

from metanode.state.codes import OK
from metanode.state.faucet import errors
from metanode.types import Denom, FaucetClaim

MESSAGES = (FaucetClaim,)
DENOMS = (Denom.FLX, Denom.NEX)


def check_claim(message: FaucetClaim) -> int:
    if message.denom not in DENOMS:
        return errors.DENOM_NOT_ALLOWED
    if message.amount == 0:
        return errors.AMOUNT_MUST_NOT_BE_ZERO
    return OK
