"""notary messages and their stateless checks (the LogBlock type is `metanode.types.logblock`;
its decoder fixes every hash length, the leaf count and the bitmap's size)."""

from __future__ import annotations

from itertools import pairwise

from metanode.crypto import merkle
from metanode.state.codes import OK
from metanode.state.notary import errors
from metanode.types import LogBlock, SubmitLogBlock

MESSAGES = (SubmitLogBlock,)


def check_logblock(logblock: LogBlock) -> int:
    """Range, order and coverage: every call of [first_seq, last_seq] has at least one leaf,
    and no leaf lies outside it."""
    leaves = logblock.leaves
    if logblock.first_seq > logblock.last_seq or any(
        not logblock.first_seq <= leaf.call_seq <= logblock.last_seq for leaf in leaves
    ):
        return errors.RANGE_INVALID
    if any(left.order >= right.order for left, right in pairwise(leaves)):
        return errors.LEAVES_NOT_IN_ORDER
    covered = {leaf.call_seq for leaf in leaves}
    if len(covered) != logblock.last_seq - logblock.first_seq + 1:
        return errors.RANGE_NOT_COVERED
    return OK


def receipts_root(logblock: LogBlock) -> bytes:
    """The RFC 6962 root whose leaf hashes are the receipt hashes, in leaf order."""
    return merkle.root_from_leaf_hashes([leaf.receipt_hash for leaf in logblock.leaves])
