"""court queries: read-only. Disputes by id (newest first for lists), a receipt's dispute,
whether the court proved it false, and what it took back of the receipt's mint."""

from __future__ import annotations

from collections.abc import Iterator

from metanode.errors import InvariantViolation
from metanode.state.court import keys
from metanode.state.court.params import CourtParams, read_params
from metanode.state.court.records import (
    AppDisputes,
    Clawback,
    Dispute,
    read_app_disputes,
    read_clawback,
    read_dispute,
    read_id,
)
from metanode.state.staking.records import read_uint
from metanode.state.view import StateReader


def dispute(reader: StateReader, dispute_id: int) -> Dispute | None:
    return read_dispute(reader, dispute_id)


def disputes(
    reader: StateReader, limit: int, before: int | None = None
) -> Iterator[tuple[int, Dispute]]:
    """Up to `limit` disputes, newest first, with ids below `before` (all if None)."""
    last = read_uint(reader, keys.NEXT_ID) if before is None else before
    for dispute_id in range(last - 1, max(last - 1 - limit, -1), -1):
        found = read_dispute(reader, dispute_id)
        if found is None:
            raise InvariantViolation(f"dispute {dispute_id} is missing below the next id")
        yield dispute_id, found


def of_app(reader: StateReader, app_id: bytes) -> AppDisputes:
    """How many of the app's disputes are open and settled."""
    return read_app_disputes(reader, app_id)


def app_dispute_ids(reader: StateReader, app_id: bytes, limit: int) -> list[int]:
    """The first `limit` of the app's disputes' ids, in id order (the per-app index)."""
    found = []
    for key, _value in reader.scan(keys.app_disputes(app_id)):
        if len(found) >= limit:
            break
        found.append(int.from_bytes(key[-8:], "big"))
    return found


def open_ids(reader: StateReader) -> list[int]:
    """The open disputes' ids, by deadline (each open dispute has one deadline record)."""
    return [int.from_bytes(key[-8:], "big") for key, _value in reader.scan(keys.DEADLINE)]


def of_receipt(reader: StateReader, receipt_hash: bytes) -> int | None:
    """The dispute that challenged the receipt, if any."""
    return read_id(reader, keys.challenged(receipt_hash))


def proven_false(reader: StateReader, receipt_hash: bytes) -> int | None:
    """The dispute whose ruling (or a missed deadline) proved the receipt false, if any."""
    return read_id(reader, keys.false_receipt(receipt_hash))


def clawback(reader: StateReader, receipt_hash: bytes) -> Clawback | None:
    """What the court took back of the PoE mint of a receipt it proved false, if it was
    notarised (a withheld range's receipts were never minted for)."""
    return read_clawback(reader, receipt_hash)


def count(reader: StateReader) -> int:
    """Disputes ever opened: ids run 0 … count − 1."""
    return read_uint(reader, keys.NEXT_ID)


def open_count(reader: StateReader) -> int:
    return read_uint(reader, keys.OPEN_COUNT)


def params(reader: StateReader) -> CourtParams:
    return read_params(reader)
