"""The strict decoder names each broken rule at its offset; encode and decode are inverse;
no input, however hostile, gets anything from the decoder but a value or a DecodeError."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metanode.codec import Profile, constants, decode, encode, tags, validate
from metanode.errors import DecodeError, EncodeError
from tests.conftest import examples

REGISTERED = tags.TX.number


@pytest.mark.parametrize(
    ("hex_input", "rule", "offset"),
    [
        ("", "empty_input", 0),
        ("1817", "non_shortest_integer", 0),
        ("190017", "non_shortest_integer", 0),
        ("3800", "non_shortest_integer", 0),
        ("1b00000000ffffffff", "non_shortest_integer", 0),
        ("8218ff5801ff", "non_shortest_length", 3),
        ("780161", "non_shortest_length", 0),
        ("9800", "non_shortest_length", 0),
        ("b800", "non_shortest_length", 0),
        ("d81801", "tag_not_registered", 0),
        ("d90001", "non_shortest_tag", 0),
        ("5f40ff", "indefinite_length", 0),
        ("9fff", "indefinite_length", 0),
        ("bfff", "indefinite_length", 0),
        ("1f", "reserved_additional_info", 0),
        ("1c", "reserved_additional_info", 0),
        ("ff", "unexpected_break", 0),
        ("0000", "trailing_bytes", 1),
        ("820102ff", "trailing_bytes", 3),
        ("a2010102", "truncated", 0),
        ("820143", "truncated", 2),
        ("a202010102", "unsorted_map_keys", 3),
        ("a201010102", "duplicate_map_key", 3),
        ("a2616201616101", "unsorted_map_keys", 4),
        ("a22001181800", "unsorted_map_keys", 3),
        ("f93c00", "float_not_allowed", 0),
        ("fb3ff0000000000000", "float_not_allowed", 0),
        ("f7", "simple_value_not_allowed", 0),
        ("f0", "simple_value_not_allowed", 0),
        ("62c328", "invalid_utf8", 1),
        ("43", "truncated", 0),
        ("19", "truncated", 0),
        ("9a000fffff", "truncated", 0),
        ("9a00ffffff", "item_too_large", 0),
        ("c249010000000000000000", "tag_not_registered", 0),
    ],
)
def test_each_rule_is_named_at_its_offset(hex_input: str, rule: str, offset: int) -> None:
    with pytest.raises(DecodeError) as refused:
        decode(bytes.fromhex(hex_input))
    assert refused.value.rule == rule
    assert refused.value.offset == offset
    assert rule in str(refused.value)


@pytest.mark.parametrize(
    ("hex_input", "rule"),
    [
        ("fa3f800000", "non_shortest_float"),
        ("fb3ff0000000000000", "non_shortest_float"),
        ("fa7fc00000", "non_shortest_float"),
        ("f97e01", "non_shortest_float"),
        ("f81f", "invalid_simple_value"),
        ("c24101", "non_shortest_bignum"),
        ("c249000100000000000000", "non_shortest_bignum"),
        ("c201", "invalid_bignum"),
    ],
)
def test_data_profile_rules(hex_input: str, rule: str) -> None:
    with pytest.raises(DecodeError, match=rule):
        decode(bytes.fromhex(hex_input), profile=Profile.DATA)


def test_nesting_limit() -> None:
    deep_ok = bytes.fromhex("81") * constants.nesting_depth_max + b"\x00"
    assert decode(deep_ok) is not None
    too_deep = bytes.fromhex("81") * (constants.nesting_depth_max + 1) + b"\x00"
    with pytest.raises(DecodeError, match="nesting_too_deep"):
        decode(too_deep)


def test_size_limits() -> None:
    with pytest.raises(DecodeError, match="input_too_large"):
        decode(b"\x40" + bytes(constants.input_bytes_max))
    oversize = constants.item_bytes_max + 1
    header = b"\x5a" + oversize.to_bytes(4, "big")
    with pytest.raises(DecodeError, match="item_too_large"):
        decode(header + bytes(oversize))
    many = constants.item_count_max + 1
    with pytest.raises(DecodeError, match="item_too_large"):
        decode(b"\x9a" + many.to_bytes(4, "big") + bytes(many))


def test_non_bytes_input_is_refused() -> None:
    with pytest.raises(DecodeError, match="not_bytes"):
        decode("a0")  # type: ignore[arg-type]


def test_registered_tag_roundtrips() -> None:
    value = cbor2.CBORTag(REGISTERED, [1, b"x"])
    data = encode(value)
    assert decode(data) == cbor2.CBORTag(REGISTERED, (1, b"x"))


def test_map_keys_sort_bytewise_not_length_first() -> None:
    # RFC 8949 §4.2.1: 24 (0x1818) sorts before -1 (0x20); RFC 7049's length-first rule would
    # put -1 first. cbor2's canonical mode uses the latter, our encoder the former.
    assert encode({-1: 0, 24: 0}) == bytes.fromhex("a21818002000")
    assert decode(bytes.fromhex("a21818002000")) == {24: 0, -1: 0}


@pytest.mark.parametrize(
    "value",
    [1.5, float("nan"), {1, 2}, cbor2.CBORTag(1, 0), cbor2.undefined, object(), {"a": 1.0}],
    ids=["float", "nan", "set", "tag", "undefined", "object", "nested-float"],
)
def test_encoder_refuses_what_consensus_cannot_hold(value: Any) -> None:
    with pytest.raises(EncodeError):
        encode(value)


def test_encoder_refuses_keys_that_collide() -> None:
    with pytest.raises(EncodeError, match="two keys"):
        encode({float("nan"): "a", float("nan"): "b"}, profile=Profile.DATA)


consensus_scalars = (
    st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=64)
    | st.text(max_size=32)
    | st.booleans()
    | st.none()
)
consensus_values = st.recursive(
    consensus_scalars,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.integers(-1000, 1000) | st.text(max_size=8), children, max_size=6)
        | st.builds(cbor2.CBORTag, st.sampled_from([tag.number for tag in tags.ALL]), children)
    ),
    max_leaves=30,
)


def frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(frozen(item) for item in value)
    if isinstance(value, dict):
        return cbor2.frozendict({frozen(k): frozen(v) for k, v in value.items()})
    if isinstance(value, cbor2.CBORTag):
        return cbor2.CBORTag(value.tag, frozen(value.value))
    return value


@given(consensus_values)
@settings(max_examples=examples(400), suppress_health_check=[HealthCheck.too_slow])
def test_consensus_roundtrip(value: Any) -> None:
    data = encode(value)
    decoded = decode(data)
    assert decoded == frozen(value)
    assert encode(decoded) == data


data_values = st.recursive(
    consensus_scalars
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-100, 100) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)


@given(data_values)
@settings(max_examples=examples(300))
def test_data_roundtrip(value: Any) -> None:
    data = encode(value, profile=Profile.DATA)
    decoded = decode(data, profile=Profile.DATA)
    assert encode(decoded, profile=Profile.DATA) == data


def decode_or_refuse(data: bytes, profile: Profile) -> None:
    """Anything other than a value or a DecodeError fails the test."""
    try:
        value = decode(data, profile=profile)
    except DecodeError as refused:
        assert refused.rule
        return
    # Accepted input must be the one deterministic encoding of its value.
    assert encode(value, profile=profile) == data


@given(st.binary(max_size=64), st.sampled_from(list(Profile)))
@settings(max_examples=examples(3000))
@example(bytes.fromhex("9b00000000000000ff"), Profile.CONSENSUS)
@example(bytes.fromhex("c1c1c1c1c1c1c1c1c1c1c1"), Profile.DATA)
@example(bytes.fromhex("c0f5"), Profile.DATA)
def test_fuzz_random_bytes(data: bytes, profile: Profile) -> None:
    decode_or_refuse(data, profile)


@given(consensus_values, st.data())
@settings(max_examples=examples(1500), suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_mutated_valid_encodings(value: Any, draw: st.DataObject) -> None:
    data = bytearray(encode(value))
    for _ in range(draw.draw(st.integers(1, 4))):
        action = draw.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        position = draw.draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[position] ^= 1 << draw.draw(st.integers(0, 7))
        elif action == "insert":
            data.insert(position, draw.draw(st.integers(0, 255)))
        elif action == "delete" and len(data) > 1:
            del data[position]
        elif action == "truncate":
            del data[position:]
    decode_or_refuse(bytes(data), draw.draw(st.sampled_from(list(Profile))))


def test_validate_is_decode_without_the_value() -> None:
    validate(encode([1, 2, 3]))
    with pytest.raises(DecodeError):
        validate(bytes.fromhex("1801"))


def validator_accepts(data: bytes, profile: Profile) -> bool:
    try:
        validate(data, profile=profile)
    except DecodeError:
        return False
    return True


def decoder_accepts(data: bytes, profile: Profile) -> bool:
    try:
        decode(data, profile=profile)
    except DecodeError:
        return False
    return True


@given(consensus_values, st.data())
@settings(max_examples=examples(1500), suppress_health_check=[HealthCheck.too_slow])
def test_fast_path_and_validator_accept_the_same_inputs(value: Any, draw: st.DataObject) -> None:
    # decode() first tries cbor2 plus a re-encoding; validate() is the explicit rule set.
    data = bytearray(encode(value))
    for _ in range(draw.draw(st.integers(0, 3))):
        position = draw.draw(st.integers(0, len(data) - 1))
        data[position] = draw.draw(st.integers(0, 255))
    profile = draw.draw(st.sampled_from(list(Profile)))
    assert decoder_accepts(bytes(data), profile) == validator_accepts(bytes(data), profile)


@pytest.mark.parametrize(
    "hex_input",
    ["c249010000000000000000", "c11a514b67b0", "d9d9f700", "a2616201616101", "fa3f800000"],
)
def test_fast_path_refusals_match_the_validator(hex_input: str) -> None:
    # Inputs that cbor2 decodes and re-encodes identically but a profile forbids (bignums,
    # standard tags, floats in consensus) or that are not deterministic.
    data = bytes.fromhex(hex_input)
    for profile in Profile:
        assert decoder_accepts(data, profile) == validator_accepts(data, profile)
