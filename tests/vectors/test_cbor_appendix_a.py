"""RFC 8949 Appendix A, every example: the DATA profile decodes each deterministic example to its
value and re-encodes it byte for byte; the examples that are not deterministic (indefinite
lengths, NaN and infinities in wider floats than needed) are refused with the rule they break."""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import cbor2
import pytest

from metanode.codec import Profile, decode, encode
from metanode.errors import DecodeError
from tests.conftest import load_vectors

EXAMPLES = load_vectors("cbor/appendix_a.json")
IDS = [f"{index:02d}-{example['hex'][:24]}" for index, example in enumerate(EXAMPLES)]


def plain(value: Any) -> Any:
    """Decoded containers are tuples and frozendicts; the JSON vectors use lists and dicts."""
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if isinstance(value, cbor2.frozendict | dict):
        return {plain(key): plain(item) for key, item in value.items()}
    return value


def from_diagnostic(text: str) -> Any:
    """The few diagnostic forms in Appendix A that have no JSON value."""
    simple_forms = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}
    if text in simple_forms:
        return simple_forms[text]
    if text == "undefined":
        return cbor2.undefined
    if match := re.fullmatch(r"simple\((\d+)\)", text):
        return cbor2.CBORSimpleValue(int(match.group(1)))
    if match := re.fullmatch(r"h'([0-9a-fA-F]*)'", text):
        return bytes.fromhex(match.group(1))
    if match := re.fullmatch(r"(\d+)\((.*)\)", text):
        return cbor2.CBORTag(int(match.group(1)), ast.literal_eval(from_h(match.group(2))))
    return ast.literal_eval(text)  # e.g. {1: 2, 3: 4}: a map with integer keys


def from_h(text: str) -> str:
    return re.sub(r"h'([0-9a-fA-F]*)'", lambda m: repr(bytes.fromhex(m.group(1))), text)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_appendix_a(example: dict[str, Any]) -> None:
    data = bytes.fromhex(example["hex"])
    if example["hex"] == "f818":
        # RFC 7049's Appendix A listed simple(24) as f818, against its own §2.3 (erratum 5917);
        # RFC 8949 §3.3 says a two-byte simple value below 32 is not well-formed. We follow 8949.
        with pytest.raises(DecodeError, match="invalid_simple_value"):
            decode(data, profile=Profile.DATA)
        return
    if not example["roundtrip"]:
        with pytest.raises(DecodeError) as refused:
            decode(data, profile=Profile.DATA)
        assert refused.value.rule in {"indefinite_length", "non_shortest_float"}
        assert refused.value.offset is not None
        return
    value = decode(data, profile=Profile.DATA)
    assert encode(value, profile=Profile.DATA) == data
    if "decoded" in example:
        expected = example["decoded"]
        assert plain(value) == expected
        assert type(plain(value)) is type(expected) or isinstance(expected, int | float)
        return
    expected = from_diagnostic(example["diagnostic"])
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == expected


def test_count() -> None:
    assert len(EXAMPLES) == 82
