"""Stored state values: deterministic CBOR arrays, read back strictly.

Rules: every value in state is the deterministic CBOR encoding (RFC 8949 §4.2.1, the bytes
`metanode.codec.encode` writes) of a positional array or an unsigned integer; nothing else is
ever written. A stored value that does not decode to the shape its key promises is not bad
input but a corrupt store or a bug, so it raises `InvariantViolation` and the node halts rather
than compute on it.

Arrays of unsigned integers (accounts, supplies, parameters: the hot path of every block) take
a direct route through cbor2: for a list of uint64s cbor2 writes exactly the deterministic
encoding (shortest heads, definite lengths), and a decoded value is accepted only if encoding
it again gives back the same bytes, which is the strictness `codec.decode` offers, at a
quarter of its cost (tests/state/test_values.py checks both against the codec).
"""

from __future__ import annotations

from typing import Any

import cbor2

from metanode.codec import decode, encode
from metanode.errors import DecodeError, InvariantViolation, check

_UINT64_MAX = 2**64 - 1


def encode_value(value: Any) -> bytes:
    return encode(value)


def decode_value(data: bytes, key: bytes) -> Any:
    try:
        return decode(data)
    except DecodeError as error:
        raise InvariantViolation(f"state value at key {key.hex()} is corrupt: {error}") from None


def encode_uints(values: list[int] | tuple[int, ...]) -> bytes:
    """The deterministic encoding of an array of uint64s."""
    if min(values, default=0) < 0 or max(values, default=0) > _UINT64_MAX:
        raise InvariantViolation(f"{values!r} is not an array of uint64s")
    return cbor2.dumps(list(values))


def encode_plain(value: list[Any]) -> bytes:
    """The deterministic encoding of a value built only of uint64s, byte strings, text strings
    and arrays (a receipt's wire form), without the codec's per-type hooks. For such values
    cbor2 writes the RFC 8949 §4.2.1 bytes: shortest heads, definite lengths, no maps to sort.
    The caller guarantees the shape; tests compare with `codec.encode`."""
    return cbor2.dumps(value)


def decode_uints(data: bytes, key: bytes, count: int) -> tuple[int, ...]:
    """A stored array of `count` unsigned integers, in its deterministic encoding only."""
    try:
        value = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError) as error:
        raise InvariantViolation(f"state value at key {key.hex()} is corrupt: {error}") from None
    # Not `check(...)`: this runs for every account read, and its message is built only on
    # failure (7% of the call, measured).
    if (
        type(value) is not list
        or len(value) != count
        or cbor2.dumps(value) != data
        or not set(map(type, value)) <= {int}
        or min(value, default=0) < 0
        or max(value, default=0) > _UINT64_MAX
    ):
        raise InvariantViolation(
            f"state value at key {key.hex()} is not an array of {count} unsigned integers"
        )
    return tuple(value)


def decode_array(data: bytes, key: bytes, count: int) -> tuple[Any, ...]:
    value = decode_value(data, key)
    check(
        type(value) is tuple and len(value) == count,
        f"state value at key {key.hex()} is not an array of {count} fields",
    )
    return value  # type: ignore[no-any-return]


def in_ranges(params: object, ranges: dict[str, tuple[int, int]]) -> str | None:
    """The first field of `params` outside its inclusive range in `ranges`, or None. A module's
    parameters declare their ranges once; their constructor checks them, and governance checks
    a proposed value against the same table before it changes one."""
    for field, (low, high) in ranges.items():
        value = getattr(params, field)
        if type(value) is not int or not low <= value <= high:
            return f"{field} = {value!r} is outside {low}..{high}"
    return None
