"""billing queries: read-only statements, per app and per executor, by epoch."""

from __future__ import annotations

from metanode.state.billing import keys
from metanode.state.billing.records import Statement, read_statement
from metanode.state.view import StateReader
from metanode.types import Address


def app_statement(reader: StateReader, app_id: bytes, epoch: int) -> Statement:
    """What the app's calls settled in `epoch` (zeros if none did)."""
    return read_statement(reader, keys.app_statement(app_id, epoch))


def executor_statement(reader: StateReader, executor: Address, epoch: int) -> Statement:
    """What the executor served, was paid and minted in `epoch` (zeros if nothing)."""
    return read_statement(reader, keys.executor_statement(executor.raw, epoch))
