"""poe genesis: the parameters (the defaults until the genesis document carries a `poe`
section, which the lead adds when merging the genesis document's other new sections)."""

from __future__ import annotations

from metanode.state.poe.params import DEFAULT, PoeParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: PoeParams = DEFAULT) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> PoeParams:
    return read_params(reader)
