"""auth's stateless checks of a transaction envelope: the first rungs of the guard ladder.

They read no state, only the block's chain and height and the chain's fee floor, so the
mempool can run them at admission and `machine.py` again in a block (same code, same answer).
"""

from __future__ import annotations

from metanode.state.auth import errors
from metanode.state.codes import OK
from metanode.types import Transaction


def check_envelope(tx: Transaction, chain_id: str, height: int, fee_min: int) -> int:
    """Chain, then expiry, then fee floor: the ladder's first three rungs, in that order."""
    if tx.chain_id != chain_id:
        return errors.WRONG_CHAIN
    # A transaction names the last height it may be included at.
    if tx.expiry_height < height:
        return errors.EXPIRED
    if tx.fee < fee_min:
        return errors.FEE_TOO_LOW
    return OK
