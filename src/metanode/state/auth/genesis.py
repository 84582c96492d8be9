"""auth genesis: its parameters in and out (nonces travel with the accounts, in bank)."""

from __future__ import annotations

from metanode.state.auth.params import AuthParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: AuthParams) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> AuthParams:
    return read_params(reader)
