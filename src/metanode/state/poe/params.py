"""poe parameters: the formula's weights and scales, its reward and adjustment, and the
conversions from a receipt to usage. Genesis writes `DEFAULT`; governance changes a field
through `governance/parameters.py`, checked against `RANGES`.

All are integers, so a proposal can carry them: a weight is in basis points (3,500 = 0.35), a
scale is in the usage's unit (1,000 cpu_ms), `reward_coins` is the 1,000 of `NEX = 1000·Γ·A`
and `adjustment_ppm` is A in millionths. A is the issue's free factor: the architecture
reference names no value and no rule for it, so it is governance's lever on the emission rate,
1 at genesis (the golden vector's value). `fuel_per_cpu_ms` converts fuel (one unit per wasm
instruction, docklock) to the cpu_ms the formula counts; 1,000,000 is about what wasmtime runs
per millisecond on the reference machine (docs/economics.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metanode.errors import check
from metanode.state import constants
from metanode.state.poe import keys
from metanode.state.values import decode_uints, encode_uints, in_ranges
from metanode.state.view import Overlay, StateReader

_SCALE_MAX = 10**12


@dataclass(frozen=True, slots=True)
class PoeParams:
    weight_cpu_bps: int = 3_500
    weight_memory_bps: int = 1_500
    weight_storage_bps: int = 1_500
    weight_egress_bps: int = 1_500
    weight_receipts_bps: int = 2_000
    scale_cpu_ms: int = 1_000
    scale_memory_mb_s: int = 1_000
    scale_storage_gb_day: int = 1
    scale_egress_mb: int = 10
    scale_receipts: int = 100
    reward_coins: int = 1_000
    adjustment_ppm: int = 1_000_000
    fuel_per_cpu_ms: int = 1_000_000

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "weight_cpu_bps": (0, constants.basis_points),
        "weight_memory_bps": (0, constants.basis_points),
        "weight_storage_bps": (0, constants.basis_points),
        "weight_egress_bps": (0, constants.basis_points),
        "weight_receipts_bps": (0, constants.basis_points),
        "scale_cpu_ms": (1, _SCALE_MAX),
        "scale_memory_mb_s": (1, _SCALE_MAX),
        "scale_storage_gb_day": (1, _SCALE_MAX),
        "scale_egress_mb": (1, _SCALE_MAX),
        "scale_receipts": (1, _SCALE_MAX),
        # Γ < 1, so one LogBlock mints under reward_coins · A per executor: the ceilings keep
        # that far below the uint64 supply.
        "reward_coins": (0, 1_000_000),
        "adjustment_ppm": (0, 100_000_000),
        "fuel_per_cpu_ms": (1, _SCALE_MAX),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"poe parameters: {problem}")

    def to_wire(self) -> list[int]:
        return [getattr(self, field) for field in self.RANGES]


DEFAULT = PoeParams()


def read_params(reader: StateReader) -> PoeParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "poe parameters missing from state (genesis not loaded?)")
    return PoeParams(*decode_uints(data, keys.PARAMS, len(PoeParams.RANGES)))  # type: ignore[arg-type]


def write_params(writer: Overlay, params: PoeParams) -> None:
    writer.put(keys.PARAMS, encode_uints(params.to_wire()))
