"""shadow genesis: a chain starts with no shadows and no grants. Exporting a state that holds
any is not built yet (they would need a place in the genesis document), so `check_exportable`
refuses it with NotBuiltError instead of letting an export drop them silently."""

from __future__ import annotations

from metanode.errors import NotBuiltError
from metanode.state.shadow import keys
from metanode.state.view import StateReader


def check_exportable(reader: StateReader) -> None:
    for _key, _value in reader.scan(keys.PREFIX):
        raise NotBuiltError("exporting shadows and grants into a genesis document is not built yet")
