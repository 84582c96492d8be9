"""billing's stored record: a statement, the same six figures for an app and an executor.

For an app: the calls settled in the epoch, their fuel, the FLX charged for it, the part paid
to executors, the treasury's part (charged = paid + treasury), and the NEX minted for its
LogBlocks. For an executor: the calls it served and their fuel, the FLX those calls were
charged and the treasury's part of it (shared with the calls' other replicas, so these two do
not add up across executors), the FLX paid to it, and the NEX minted to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.state.values import decode_uints, encode_uints
from metanode.state.view import Overlay, StateReader


@dataclass(frozen=True, slots=True)
class Statement:
    calls: int = 0
    fuel: int = 0
    charged: int = 0  # FLX base units
    paid: int = 0  # FLX base units
    treasury: int = 0  # FLX base units
    minted: int = 0  # NEX base units

    # Field by field, not through `dataclasses.fields`: a LogBlock's commit adds three
    # statements per call (docs/performance.md, "Apps, w15").
    def __add__(self, other: Statement) -> Statement:
        return Statement(
            self.calls + other.calls,
            self.fuel + other.fuel,
            self.charged + other.charged,
            self.paid + other.paid,
            self.treasury + other.treasury,
            self.minted + other.minted,
        )

    def to_wire(self) -> list[int]:
        return [self.calls, self.fuel, self.charged, self.paid, self.treasury, self.minted]


def read_statement(reader: StateReader, key: bytes) -> Statement:
    data = reader.get(key)
    return Statement() if data is None else Statement(*decode_uints(data, key, 6))


def add_to_statement(writer: Overlay, key: bytes, amounts: Statement) -> None:
    writer.put(key, encode_uints((read_statement(writer, key) + amounts).to_wire()))
