"""Execution receipts of both versions: version 1 (executor origin only), as signed before
split-origin receipts existed, and version 2, which carries the client's signed request."""

from __future__ import annotations

from dataclasses import replace

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import decode, encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Receipt, Request, encoded_of, signing_message_of
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


@pytest.mark.parametrize("request_", [None, REQUEST], ids=["version-1", "version-2"])
def test_a_received_receipts_message_is_cut_from_its_bytes(request_: Request | None) -> None:
    receipt = counter_receipt(request_)
    data = receipt.encode()
    assert Receipt.decode(data) == receipt
    assert signing_message_of(data) == receipt.signing_message()


@pytest.mark.parametrize("request_", [None, REQUEST], ids=["version-1", "version-2"])
def test_a_signed_receipts_bytes_are_assembled_from_its_message(request_: Request | None) -> None:
    # What an executor stores and gossips (executor/service.py), without encoding it again.
    receipt = counter_receipt(request_)
    assert encoded_of(receipt.signing_message(), receipt.signature) == receipt.encode()
    with pytest.raises(DecodeError):
        encoded_of(receipt.signing_message(), receipt.signature[:63])


def _strict(data: bytes) -> Receipt | str:
    """The codec's strict decode, then the fields: the receipt or the rule it broke."""
    try:
        return Receipt.from_wire(decode(data))
    except DecodeError as error:
        return error.rule


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_receipts_decode_as_the_codec_decodes_them(data: st.DataObject) -> None:
    # Receipt.decode checks the deterministic encoding without the codec's hooks: it must
    # accept exactly what the codec does, and a message cut from what it accepts must be the
    # one the decoded receipt signs.
    mutated = bytearray(counter_receipt(data.draw(st.sampled_from([None, REQUEST]))).encode())
    for _ in range(data.draw(st.integers(1, 3))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    raw = bytes(mutated)
    try:
        typed: Receipt | str = Receipt.decode(raw)
    except DecodeError as error:
        typed = error.rule
    assert typed == _strict(raw)
    if isinstance(typed, Receipt):
        assert signing_message_of(raw) == typed.signing_message()


digests = st.binary(min_size=32, max_size=32)
uints = st.integers(min_value=0, max_value=2**64 - 1)
receipts = st.builds(
    Receipt,
    digests, st.text(max_size=128), digests, digests, digests, uints, uints, digests, uints,
    st.text(max_size=64), digests, uints, digests, digests, digests, st.binary(max_size=64),
    st.none() | st.builds(Request, digests, digests, st.binary(max_size=128)),
)  # fmt: skip


@given(receipts)
def test_the_signing_message_and_result_hash_are_the_codecs_bytes(receipt: Receipt) -> None:
    """Both are encoded without the codec's per-type hooks: the same bytes, either version."""
    assert receipt.signing_message() == tags.EXEC_RECEIPT.name_bytes + b"\x00" + encode(
        receipt.body()
    )
    figures = [receipt.state_root_after, receipt.output_hash, receipt.outcome, receipt.fuel_used]
    assert receipt.result_hash() == tagged_hash(tags.EXEC_RESULT, encode(figures))
