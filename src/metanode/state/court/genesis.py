"""court genesis: the parameters, from the genesis document's `parameters.court` (each field
defaults to `params.DEFAULT`). A chain starts with no disputes."""

from __future__ import annotations

from metanode.state.court.params import CourtParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: CourtParams) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> CourtParams:
    return read_params(reader)
