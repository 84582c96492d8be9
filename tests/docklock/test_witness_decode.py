"""A witness record's decode takes the codec's fast way for typed values
(`codec.decode_typed`): it must accept exactly what the strict decode accepts, with the same
record, and refuse the rest by the same rule, on records and on their mutated encodings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metanode.codec import decode
from metanode.docklock.witness import Record
from metanode.errors import DecodeError

values = st.one_of(
    st.none(),
    st.binary(max_size=40),
    st.integers(min_value=-(2**64), max_value=2**64 - 1),
)
records = st.builds(
    Record,
    st.integers(min_value=0, max_value=2**64 - 1),
    st.sampled_from(["state_get", "state_set", "output_write", "log", "random_u64"]),
    st.lists(values, max_size=3).map(tuple),
    values,
)


def strict(data: bytes) -> Record | str:
    try:
        return Record.from_wire(decode(data))
    except DecodeError as error:
        return error.rule


def fast(data: bytes) -> Record | str:
    try:
        return Record.decode(data)
    except DecodeError as error:
        return error.rule


@given(records, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3))
def test_the_fast_decode_agrees_with_the_strict_one(
    record: Record, changes: list[tuple[int, int]]
) -> None:
    data = bytearray(record.encode())
    assert Record.decode(bytes(data)) == record
    for position, byte in changes:
        data[position % len(data)] = byte
    assert fast(bytes(data)) == strict(bytes(data))


def test_a_value_the_strict_decode_refuses_is_refused_alike() -> None:
    # A float, a map, an indefinite-length array and a non-shortest integer head.
    for data in (b"\x84\x00\x63log\x80\xf9\x3c\x00", b"\x84\x00\x63log\x80\xa0",
                 b"\x84\x00\x63log\x9f\xff\x00", b"\x84\x18\x00\x63log\x80\x00"):  # fmt: skip
        assert isinstance(strict(data), str)
        assert fast(data) == strict(data)
