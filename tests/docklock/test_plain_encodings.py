"""The executor's per-call encodings written by `encode_plain` (cbor2 without the codec's
hooks): a witness record and a call's seed must be the codec's bytes exactly, for every value
their fields can hold, including negative and 64-bit integers, null and empty arrays."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metanode.codec import encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.docklock.receipt import call_seed
from metanode.docklock.witness import Record

uint64 = st.integers(min_value=0, max_value=2**64 - 1)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.binary(max_size=40),
    st.integers(min_value=-(2**64), max_value=2**64 - 1),
)
records = st.builds(
    Record,
    uint64,
    st.text(max_size=64),
    st.lists(values, max_size=4).map(tuple),
    values,
)


@given(records)
def test_a_witness_record_encodes_as_the_codec_does(record: Record) -> None:
    wire = [record.step, record.call, list(record.arguments), record.result]
    assert record.encode() == encode(wire)


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), uint64, uint64)
def test_a_call_seed_hashes_the_codecs_bytes(
    block_seed: bytes, app_id: bytes, version: int, seq: int
) -> None:
    expected = tagged_hash(tags.EXEC_SEED, encode([1, block_seed, app_id, version, seq]))
    assert call_seed(block_seed, app_id, version, seq) == expected
