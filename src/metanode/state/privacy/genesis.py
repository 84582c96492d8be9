"""privacy genesis: the parameters, from the genesis document's `parameters.privacy` (each
field defaults to `params.DEFAULT`). A chain starts with no published issuer and no proof."""

from __future__ import annotations

from metanode.state.privacy.params import PrivacyParams, read_params, write_params
from metanode.state.view import Overlay, StateReader


def import_genesis(writer: Overlay, params: PrivacyParams) -> None:
    write_params(writer, params)


def export_genesis(reader: StateReader) -> PrivacyParams:
    return read_params(reader)
