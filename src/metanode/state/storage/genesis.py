"""storage genesis: its parameters in and out. Placements are not exported: a chain restarted
from an export starts with no blobs placed (the chunks stay on the nodes, and their owners
place them again)."""

from __future__ import annotations

from metanode.state.storage.params import StorageParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: StorageParams) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> StorageParams:
    return read_params(reader)
