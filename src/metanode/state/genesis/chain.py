"""The chain record and the tip record: who the chain is, and where its state stands."""

from __future__ import annotations

import functools

from metanode.errors import check
from metanode.state.context import ChainInfo
from metanode.state.genesis import keys
from metanode.state.values import decode_array, decode_uints, encode_value
from metanode.state.view import Overlay, StateReader

KINDS = ("dev", "testnet", "mainnet")


def read_chain(reader: StateReader) -> ChainInfo:
    data = reader.get(keys.CHAIN)
    check(data is not None, "chain record missing from state (genesis not loaded?)")
    return _decode_chain(data)  # type: ignore[arg-type]


# Every call included before the first epoch's end draws its executors from the chain id
# (state/apps/assignment.py), twice a call: decoding the record each time was most of what
# the draw cost a call (docs/performance.md, "Apps, w22"). The record is fixed at genesis and
# the decoded value immutable, so it is shared by its bytes.
@functools.lru_cache(maxsize=4)
def _decode_chain(data: bytes) -> ChainInfo:
    chain_id, kind = decode_array(data, keys.CHAIN, 2)
    check(type(chain_id) is str and kind in KINDS, "chain record is malformed")
    return ChainInfo(chain_id, kind)


def write_chain(writer: Overlay, chain: ChainInfo) -> None:
    writer.put(keys.CHAIN, encode_value([chain.chain_id, chain.kind]))


def read_tip(reader: StateReader) -> tuple[int, int]:
    """(height, timestamp_ms) of the last applied block."""
    data = reader.get(keys.TIP)
    check(data is not None, "tip record missing from state (genesis not loaded?)")
    height, timestamp_ms = decode_uints(data, keys.TIP, 2)  # type: ignore[arg-type]
    return height, timestamp_ms


def write_tip(writer: Overlay, height: int, timestamp_ms: int) -> None:
    writer.put(keys.TIP, encode_value([height, timestamp_ms]))
