"""keys genesis: the parameters, from the genesis document's `parameters.keys` (each field
defaults to `params.DEFAULT`). A chain starts with no account migrated."""

from __future__ import annotations

from metanode.state.keys.params import KeysParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: KeysParams) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> KeysParams:
    return read_params(reader)
