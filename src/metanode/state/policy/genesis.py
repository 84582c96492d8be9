"""policy genesis. A chain starts with no policies, regions or containment; exporting a state
that holds any is not built yet (they would need a place in the genesis document), so
`export_genesis` refuses it with NotBuiltError instead of writing a document that silently
drops them (policies name apps, whose export is refused too: apps/genesis.py)."""

from __future__ import annotations

from metanode.errors import NotBuiltError
from metanode.state.policy import keys
from metanode.state.view import StateReader


def check_exportable(reader: StateReader) -> None:
    if next(iter(reader.scan(keys.PREFIX)), None) is not None:
        raise NotBuiltError(
            "exporting BISO policies, declared regions or containment into a genesis document"
            " is not built yet"
        )
