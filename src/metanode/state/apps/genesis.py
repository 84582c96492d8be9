"""apps genesis: the parameters, in and out. A chain starts with no apps; exporting a state
that holds apps is not built yet (their records, modules and escrowed calls would need a place
in the genesis document), so `export_genesis` refuses it with NotBuiltError instead of writing a
document that silently drops them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metanode.errors import NotBuiltError
from metanode.state.apps import keys
from metanode.state.apps.records import AppsParams, read_params, write_params
from metanode.state.genesis.fields import ranged_params, table
from metanode.state.staking.records import read_uint, write_uint
from metanode.state.view import Overlay, StateReader


@dataclass(frozen=True, slots=True)
class AppsGenesis:
    params: AppsParams = field(default_factory=AppsParams)


def import_genesis(writer: Overlay, genesis: AppsGenesis) -> None:
    write_params(writer, genesis.params)
    write_uint(writer, keys.APP_COUNT, 0)


def export_genesis(reader: StateReader) -> AppsGenesis:
    if read_uint(reader, keys.APP_COUNT):
        raise NotBuiltError("exporting deployed apps into a genesis document is not built yet")
    return AppsGenesis(read_params(reader))


def to_wire(genesis: AppsGenesis) -> list[object]:
    return [genesis.params.to_wire()]


def to_json(genesis: AppsGenesis) -> dict[str, Any]:
    return {
        "parameters": {
            item: str(value)
            for item, value in zip(AppsParams.RANGES, genesis.params.to_wire(), strict=True)
        }
    }


def from_json(value: Any) -> AppsGenesis:
    tree = table(value, "apps", {"parameters"}, set())
    return AppsGenesis(ranged_params(AppsParams, tree.get("parameters", {}), "apps.parameters"))
