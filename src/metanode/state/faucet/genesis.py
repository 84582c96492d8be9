"""faucet genesis: its parameters in and out. Claims are rate-limit records, not balances:
an export leaves them out, so a chain restarted from an export starts with fresh limits."""

from __future__ import annotations

from metanode.state.faucet.records import FaucetParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: FaucetParams) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> FaucetParams:
    return read_params(reader)
