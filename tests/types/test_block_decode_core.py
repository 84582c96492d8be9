"""`Block.decode` hands a block's transactions to `Transaction.decode_many` in one call: on
random blocks of good, mutated and non-bytes items, some held by the node, it gives what
decoding item by item gives (the same transactions, or the same first error), with the
compiled core and with the reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.errors import DecodeError
from metanode.types import Block, BlockHeader, Transaction, constants
from metanode.types.address import Address
from metanode.types.fields import expect_bytes
from tests.conftest import examples
from tests.types.test_transaction_core import encodings, mutated

HEADER = BlockHeader(
    "metanode-dev",
    5,
    1,
    1_700_000_000_000,
    *(bytes([index]) * 32 for index in range(6)),
    Address(bytes(20)),
    bytes(80),
    bytes(32),
)


def item_by_item(items: list[Any], known: dict[bytes, Transaction]) -> tuple[Transaction, ...]:
    """How a block's transactions were decoded before: one at a time, in order."""
    txs = []
    for index, item in enumerate(items):
        raw = expect_bytes(item, f"block.txs[{index}]")
        txs.append(known.get(raw) or Transaction.decode(raw))
    return tuple(txs)


def _outcome(decode: Any) -> tuple[Transaction, ...] | tuple[str, int | None, str]:
    try:
        return decode()
    except DecodeError as error:
        return (error.rule, error.offset, error.detail)


items = st.lists(
    st.one_of(encodings(), encodings(), mutated(), st.integers(0, 9), st.text(max_size=3)),
    max_size=6,
)


@pytest.mark.parametrize("choice", ["rust", "python"])
@given(items=items, held=st.lists(st.booleans(), min_size=6, max_size=6))
@settings(max_examples=examples(80), deadline=None)
def test_a_block_decodes_as_it_did_item_by_item(
    choice: str, items: list[Any], held: list[bool]
) -> None:
    known = {}
    for item, hold in zip(items, held, strict=False):
        if hold and isinstance(item, bytes):
            try:
                known[item] = Transaction.decode(item)
            except DecodeError:
                pass
    data = encode([constants.version, HEADER.to_wire(), items, [], None])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METANODE_CORE", choice)
        got = _outcome(lambda: Block.decode(data, known.get).txs)
    expected = _outcome(lambda: item_by_item(items, known))
    assert got == expected
    if isinstance(expected, tuple) and expected and isinstance(expected[0], Transaction):
        assert [tx.encoded for tx in got] == [tx.encoded for tx in expected]
        assert all(got_tx is known[got_tx.encoded] for got_tx in got if got_tx.encoded in known)
