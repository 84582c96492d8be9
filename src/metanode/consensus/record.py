"""What a validator must remember across a crash so that it never signs two conflicting
messages: its height and round, what it prepared (with the certificate), and every message it
signed at this height. The node stores it (LMDB) before sending what the record mentions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode
from metanode.errors import DecodeError
from metanode.types import Block
from metanode.types.fields import expect_array, expect_bytes, expect_uint

from .messages import Signed


@dataclass(frozen=True, slots=True)
class Durable:
    height: int
    round: int
    prepared_round: int | None = None
    prepared_block: Block | None = None
    prepared_certificate: tuple[Signed, ...] = ()
    signed: tuple[Signed, ...] = ()

    def encode(self) -> bytes:
        return encode(
            [
                1,
                self.height,
                self.round,
                self.prepared_round,
                self.prepared_block.encode() if self.prepared_block else None,
                [item.to_wire() for item in self.prepared_certificate],
                [item.to_wire() for item in self.signed],
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> Durable:
        fields = expect_array(decode(data), "consensus record", 7)
        if fields[0] != 1:
            raise DecodeError("unknown_version", "consensus record version must be 1")

        def signed_list(value: Any) -> tuple[Signed, ...]:
            if not isinstance(value, tuple):
                raise DecodeError("wrong_type", "record lists must be arrays")
            return tuple(Signed.from_wire(item) for item in value)

        block = fields[4]
        return cls(
            height=expect_uint(fields[1], "record.height"),
            round=expect_uint(fields[2], "record.round"),
            prepared_round=None if fields[3] is None else expect_uint(fields[3], "record.prepared"),
            prepared_block=None if block is None else Block.decode(expect_bytes(block, "block")),
            prepared_certificate=signed_list(fields[5]),
            signed=signed_list(fields[6]),
        )
