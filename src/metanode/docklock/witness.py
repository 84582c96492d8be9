"""The witness log: every host call an app makes and what it got back, in order.

A record is deterministic CBOR `[step, call, arguments, result]` (step from 0, call a name
such as `state_get`, arguments and result byte strings or integers). The witness root is the
RFC 6962 Merkle root over the encoded records, so one record can be proven without the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metanode.codec import decode_typed
from metanode.crypto import merkle
from metanode.errors import DecodeError
from metanode.state.values import encode_plain
from metanode.types.fields import expect_array, expect_text, expect_uint

Value = bytes | int | None


@dataclass(frozen=True, slots=True)
class Record:
    step: int
    call: str
    arguments: tuple[Value, ...]
    result: Value

    def encode(self) -> bytes:
        """Integers, byte and text strings, null and arrays only: `encode_plain` writes the
        codec's bytes without its per-type hooks, 2.8 -> 1.1 us a record, three a counter
        call (tests/docklock/test_witness.py compares them; docs/performance.md, "Apps,
        w25")."""
        return encode_plain([self.step, self.call, list(self.arguments), self.result])

    @classmethod
    def decode(cls, data: bytes) -> Record:
        """A record from its deterministic encoding. Every field is type-checked by
        `from_wire` (integers, byte and text strings, null and arrays: values cbor2 writes
        deterministically as they are), so the check that `data` is that encoding needs none
        of the codec's per-type hooks (`codec.decode_typed`): a gateway decodes three a counter
        receipt it serves (docs/performance.md, "Apps, w20")."""
        return decode_typed(data, cls.from_wire)

    @classmethod
    def from_wire(cls, value: Any) -> Record:
        step, call, arguments, result = expect_array(value, "witness record", 4)
        if not isinstance(arguments, tuple):
            raise DecodeError("wrong_type", "witness record arguments must be an array")
        return cls(
            expect_uint(step, "record.step"),
            expect_text(call, "record.call", 64),
            tuple(_value(item) for item in arguments),
            _value(result),
        )

    def describe(self) -> str:
        def show(value: Any) -> str:
            return value.hex() if isinstance(value, bytes) else repr(value)

        arguments = ", ".join(show(item) for item in self.arguments)
        return f"{self.call}({arguments}) -> {show(self.result)}"


def _value(item: Any) -> Value:
    if item is None or isinstance(item, bytes) or (type(item) is int):
        return item
    raise DecodeError("wrong_type", "witness values are byte strings, integers or null")


def logged(records: Sequence[Record]) -> list[bytes]:
    """The lines an app logged, in order: its `log` host calls."""
    return [
        record.arguments[0]
        for record in records
        if record.call == "log" and isinstance(record.arguments[0], bytes)
    ]


def root(records: list[Record]) -> bytes:
    return merkle.root([record.encode() for record in records])
