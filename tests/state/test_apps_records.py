"""Call records decoded once per distinct bytes (state/apps/records.py `decode_call`): the
notary's range cut, its receipt checks and a LogBlock's checks read the same records again and
again, so a record read twice is the same object, and a rewritten one is decoded anew. A record
written is read back as itself, which must be what its bytes decode to on a node that did not
write it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.errors import InvariantViolation
from metanode.state.apps import keys
from metanode.state.apps import records as call_records
from metanode.state.apps.records import CallRecord, CallStatus, decode_call, write_call
from metanode.state.values import encode_value
from metanode.state.view import MemoryReader, Overlay
from metanode.types import Address, constants

KEY = keys.call(bytes(range(32)), 7)
RECORD = CallRecord(
    Address(bytes(range(20))), 1, "increment", b"\x01", 100_000, 2, 55, CallStatus.ESCROWED, 0, 3,
    bytes(32),
)  # fmt: skip


def test_a_record_read_twice_is_decoded_once() -> None:
    first = decode_call(encode_value(RECORD.to_wire()), KEY)
    again = decode_call(encode_value(RECORD.to_wire()), KEY)  # other bytes objects, same bytes
    assert first == RECORD
    assert again is first


def test_a_rewritten_record_is_decoded_anew() -> None:
    before = decode_call(encode_value(RECORD.to_wire()), KEY)
    settled = replace(RECORD, status=CallStatus.SETTLED, fuel_used=900)
    assert decode_call(encode_value(settled.to_wire()), KEY) == settled
    assert decode_call(encode_value(RECORD.to_wire()), KEY) is before == RECORD


def test_a_malformed_record_is_refused_at_every_read() -> None:
    malformed = encode_value([*RECORD.to_wire()[:7], 9, *RECORD.to_wire()[8:]])  # no status 9
    for _read in range(2):
        with pytest.raises(InvariantViolation, match="unknown status"):
            decode_call(malformed, KEY)


uints = st.integers(min_value=0, max_value=constants.uint64_max)
records = st.builds(
    CallRecord,
    st.binary(min_size=20, max_size=20).map(Address),
    uints,
    st.text(max_size=128),
    st.binary(max_size=256),
    uints,
    uints,
    uints,
    st.sampled_from(CallStatus),
    uints,
    uints,
    st.binary(min_size=32, max_size=32),
)


@given(records)
def test_a_written_record_is_the_codecs_bytes(record: CallRecord) -> None:
    """`write_call` encodes without the codec's hooks: the same bytes, read back the same."""
    writer = Overlay(MemoryReader())
    write_call(writer, bytes(32), 7, record)
    data = writer.get(keys.call(bytes(32), 7))
    assert data == encode_value(record.to_wire())
    assert decode_call(data, keys.call(bytes(32), 7)) == record


@given(records, uints)
def test_a_settled_record_is_the_record_with_its_status_and_fuel_replaced(
    record: CallRecord, fuel_used: int
) -> None:
    settled = record.settled(fuel_used)
    assert settled == replace(record, status=CallStatus.SETTLED, fuel_used=fuel_used)


@given(records)
def test_a_written_record_is_read_back_as_what_its_bytes_decode_to(record: CallRecord) -> None:
    writer = Overlay(MemoryReader())
    write_call(writer, bytes(32), 7, record)
    key = keys.call(bytes(32), 7)
    data = writer.get(key)
    assert data is not None
    assert decode_call(data, key) is record  # kept at the write, not decoded
    decoded = call_records._decode_call(data, key)  # a node that did not write it
    assert decoded == record
    assert [type(value) for value in decoded.to_wire()] == [
        type(value) for value in record.to_wire()
    ]
