"""poe genesis: the parameters, from the genesis document's `parameters.poe` (each field
defaults to `params.DEFAULT`)."""

from __future__ import annotations

from metanode.state.poe.params import PoeParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: PoeParams) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> PoeParams:
    return read_params(reader)
