"""The events stream's items (`node.StreamEvent`): each written once as the JSON the WebSocket
sends, a block's `txs` event from a template that must be byte for byte the JSON of its dict."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from metanode.node.node import StreamEvent
from metanode.types import Receipt


def sent_json(fields: dict[str, Any]) -> str:
    """What Starlette's `WebSocket.send_json` writes for `fields`."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


@given(
    st.integers(0, 2**64 - 1),
    st.lists(st.tuples(st.binary(min_size=32, max_size=32), st.integers(0, 2**32 - 1)), max_size=8),
)
def test_a_blocks_txs_event_is_the_json_of_its_dict(
    height: int, items: list[tuple[bytes, int]]
) -> None:
    hashes = [tx_hash for tx_hash, _ in items]
    receipts = [Receipt(tx_hash, code, 0) for tx_hash, code in items]
    event = StreamEvent.committed(height, hashes, receipts)
    fields = {
        "type": "txs",
        "height": height,
        "txs": [{"hash": tx_hash.hex(), "code": code} for tx_hash, code in items],
    }
    assert event.type == "txs"
    assert event.text == sent_json(fields)
    assert json.loads(event.text) == fields


def test_other_events_are_their_fields_as_sent_json() -> None:
    fields = {"type": "closed", "reason": "subscriber too slow ü"}
    assert StreamEvent.of(fields) == StreamEvent("closed", sent_json(fields))
