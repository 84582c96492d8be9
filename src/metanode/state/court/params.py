"""court parameters: genesis writes them (`parameters.court` of the genesis document, each
field defaulting to `DEFAULT`); governance changes a field (parameters 32–38,
`governance/parameters.py`), checked against `RANGES`.

- `dispute_window_blocks`: how long after its LogBlock commits a receipt may be challenged.
- `bond`: the FLX base units a challenger escrows at least; forfeited to the treasury if the
  challenger loses.
- `turn_blocks`: each turn's deadline, counted from the block of the turn before; a side that
  misses it loses the dispute.
- `points_per_turn`: the k state roots a bisection turn posts, splitting the range into k + 1.
- `slash_fraction_ppm`: of the losing executor's stake; staking cuts delegations in basis
  points, so it is applied as ⌊ppm / 100⌋ basis points.
- `challenger_share_ppm`: of what is slashed, paid to the winning side; the rest to the
  treasury.
- `replay_fuel_max`: the most fuel a one-step replay may burn on every validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metanode.docklock import constants as cage_constants
from metanode.errors import check
from metanode.state import constants
from metanode.state.court import keys
from metanode.state.values import decode_uints, encode_uints, in_ranges
from metanode.state.view import Overlay, StateReader
from metanode.types import constants as types_constants

PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class CourtParams:
    dispute_window_blocks: int = 1_000
    bond: int = 10 * constants.base_units_per_coin
    turn_blocks: int = 50
    points_per_turn: int = 1
    slash_fraction_ppm: int = 100_000
    challenger_share_ppm: int = 500_000
    replay_fuel_max: int = cage_constants.fuel_max

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "dispute_window_blocks": (1, constants.dispute_blocks_max),
        "bond": (1, constants.supply_max),
        "turn_blocks": (1, constants.dispute_blocks_max),
        "points_per_turn": (1, types_constants.dispute_points_max),
        "slash_fraction_ppm": (0, PPM),
        "challenger_share_ppm": (0, PPM),
        "replay_fuel_max": (1, cage_constants.fuel_max),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"court parameters: {problem}")

    def to_wire(self) -> list[int]:
        return [getattr(self, field) for field in self.RANGES]


DEFAULT = CourtParams()


def read_params(reader: StateReader) -> CourtParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "court parameters missing from state (genesis not loaded?)")
    return CourtParams(*decode_uints(data, keys.PARAMS, len(CourtParams.RANGES)))  # type: ignore[arg-type]


def write_params(writer: Overlay, params: CourtParams) -> None:
    writer.put(keys.PARAMS, encode_uints(params.to_wire()))
