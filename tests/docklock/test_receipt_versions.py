"""Execution receipts of both versions: version 1 (executor origin only), as signed before
split-origin receipts existed, and version 2, which carries the client's signed request."""

from __future__ import annotations

from dataclasses import replace

import cbor2
import pytest

from metanode.codec import decode, encode, tags
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Receipt, Request
from metanode.errors import DecodeError, VerificationError

from .test_docklock import COUNTER, KEY

REQUEST = Request(b"\x01" * 32, b"\x02" * 32, b"\x03" * 64)
# The hash of counter_bundle()'s version 1 receipt, whose body is as signed before version 2
# existed; its state roots are the state tree's since the court's per-key proofs (the RFC 6962
# roots before gave 9421b9d2…).
VERSION_1_HASH = "c95f6ac528ca045b90311bfef3eb83ab5ae2e16dce088471fb7605594189e866"


def counter_receipt(request: Request | None) -> Receipt:
    state = {b"count": (5).to_bytes(8, "little")}
    bundle, _ = execute(
        COUNTER, "increment", b"", state, KEY, block_time=7, seed=bytes(32), request=request
    )
    return bundle.receipt


def test_a_receipt_without_request_is_the_version_1_receipt_signed_before() -> None:
    receipt = counter_receipt(None)
    assert receipt.version == 1 and receipt.hash().hex() == VERSION_1_HASH
    again = Receipt.from_wire(decode(receipt.encode()))
    assert again == receipt
    again.verify_signature()


def test_a_split_origin_receipt_round_trips_and_signs_the_request() -> None:
    receipt = counter_receipt(REQUEST)
    assert receipt.version == 2 and receipt.request == REQUEST
    assert receipt.hash().hex() != VERSION_1_HASH
    again = Receipt.from_wire(decode(receipt.encode()))
    assert again == receipt
    again.verify_signature()
    # The executor's signature covers the request: another client's breaks it.
    other = replace(receipt, request=replace(REQUEST, client=b"\x09" * 32))
    with pytest.raises(VerificationError):
        other.verify_signature()


@pytest.mark.parametrize(
    ("version", "drop"),
    [(3, 0), (2, 3), (1, -3), (True, 3)],
    ids=["unknown-version", "version-2-short", "version-1-long", "bool-version"],
)
def test_a_receipt_of_a_wrong_version_or_length_is_refused(version: object, drop: int) -> None:
    fields = list(counter_receipt(REQUEST).to_wire().value)
    fields[0] = version
    if drop > 0:
        fields = fields[: len(fields) - drop - 1] + fields[-1:]
    elif drop < 0:
        fields = list(counter_receipt(None).to_wire().value)[:-1] + [b"\x00" * 32] * 3 + fields[-1:]
        fields[0] = version
    with pytest.raises(DecodeError):
        Receipt.from_wire(decode(encode(cbor2.CBORTag(tags.EXEC_RECEIPT.number, fields))))
