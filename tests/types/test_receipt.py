"""`Receipt` as a tuple of its four fields: the same wire bytes as the pinned form, read back
equal, immutable and hashable."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given, settings

from metanode.types import Receipt
from tests.conftest import examples
from tests.state.test_roots_core import RECEIPTS


@given(RECEIPTS)
@settings(max_examples=examples(100), deadline=None)
def test_receipts_encode_as_their_pinned_wire_form_and_read_back(receipts: list[Receipt]) -> None:
    for receipt in receipts:
        events = [[e.kind, [list(pair) for pair in e.attributes]] for e in receipt.events]
        wire = [1, receipt.tx_hash, receipt.code, receipt.fee_charged, events]
        assert receipt.encode() == cbor2.dumps(wire, canonical=True)
        assert Receipt.decode(receipt.encode()) == receipt
        assert hash(Receipt.decode(receipt.encode())) == hash(receipt)


def test_a_receipt_is_a_tuple_of_its_fields_and_cannot_change() -> None:
    receipt = Receipt(bytes(32), 5, 7)
    assert tuple(receipt) == (bytes(32), 5, 7, ())
    assert not receipt.ok and Receipt(bytes(32), 0, 7).ok
    with pytest.raises(AttributeError):
        receipt.code = 0  # type: ignore[misc]
