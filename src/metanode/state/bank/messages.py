"""bank messages and their stateless checks (the message types live in `metanode.types`)."""

from __future__ import annotations

from metanode.state.bank import errors
from metanode.state.codes import OK
from metanode.types import Transfer

MESSAGES = (Transfer,)


def check_transfer(message: Transfer) -> int:
    if message.amount == 0:
        return errors.AMOUNT_MUST_NOT_BE_ZERO
    return OK
