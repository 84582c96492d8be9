"""staking messages and their stateless checks (the message types live in `metanode.types`;
their decoders already fix every key length)."""

from __future__ import annotations

from metanode.state.codes import OK
from metanode.state.staking import errors
from metanode.types import Bond, RegisterValidator, Unbond

MESSAGES = (Bond, Unbond, RegisterValidator)


def check_amount(message: Bond | Unbond) -> int:
    if message.amount == 0:
        return errors.AMOUNT_MUST_NOT_BE_ZERO
    return OK
