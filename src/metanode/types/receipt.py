"""Transaction receipts: what a transaction did, as the block that holds it records.

Wire form: `[1, tx_hash, code, fee_charged, [[kind, [[key, value]…]]…]]`. `code` is 0 for
success or a module's stable result code (`metanode.state.codes`); a failed message still
charges its fee. `receipts_root` in the header is the RFC 6962 root over the encoded receipts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from metanode.codec import decode, encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.fields import (
    expect_array,
    expect_bytes,
    expect_text,
    expect_uint,
    expect_version,
)

_ATTRIBUTE = constants.event_attribute_bytes_max


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    attributes: tuple[tuple[str, bytes], ...] = ()

    def to_wire(self) -> list[Any]:
        return [self.kind, [[key, value] for key, value in self.attributes]]

    @classmethod
    def from_wire(cls, value: Any) -> Event:
        kind, attributes = expect_array(value, "event", 2)
        if not isinstance(attributes, tuple):
            raise DecodeError("wrong_type", "event.attributes must be an array")
        pairs = []
        for pair in attributes:
            key, item = expect_array(pair, "event.attribute", 2)
            pairs.append(
                (
                    expect_text(key, "event.attribute.key", _ATTRIBUTE),
                    expect_bytes(item, "event.attribute.value", maximum=_ATTRIBUTE),
                )
            )
        return cls(expect_text(kind, "event.kind", _ATTRIBUTE), tuple(pairs))


class Receipt(NamedTuple):
    """Immutable as a tuple is: a block makes one a transaction, and a frozen dataclass's
    `__init__` (an `object.__setattr__` a field) cost twice a tuple's construction."""

    tx_hash: bytes
    code: int
    fee_charged: int
    events: tuple[Event, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == 0

    def to_wire(self) -> list[Any]:
        return [
            constants.version,
            self.tx_hash,
            self.code,
            self.fee_charged,
            [event.to_wire() for event in self.events],
        ]

    def encode(self) -> bytes:
        return encode(self.to_wire())

    def hash(self) -> bytes:
        return tagged_hash(tags.RECEIPT, self.encode())

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        fields = expect_array(decode(data), "receipt", 5)
        expect_version(fields[0], "receipt")
        events = fields[4]
        if not isinstance(events, tuple) or len(events) > constants.events_per_receipt_max:
            raise DecodeError(
                "wrong_type",
                f"receipt.events must be an array of at most {constants.events_per_receipt_max}",
            )
        return cls(
            tx_hash=expect_bytes(fields[1], "receipt.tx_hash", constants.hash_bytes),
            code=expect_uint(fields[2], "receipt.code"),
            fee_charged=expect_uint(fields[3], "receipt.fee_charged"),
            events=tuple(Event.from_wire(event) for event in events),
        )
