"""privacy parameters: genesis writes them (`parameters.privacy` of the genesis document, each
field defaulting to `DEFAULT`); governance changes a field (parameters 49–50,
`governance/parameters.py`), checked against `RANGES`.

- `proof_fee_min`: the fee (FLX base units) a `ProveKyc` transaction must offer at least.
  Every validator verifies each proof (~0.2–0.5 s of CPU here, bench/privacy.py), so a proof
  pays for that work whether it verifies or not.
- `proofs_per_block_max`: proofs one block verifies at most; later ones are refused
  (`privacy.block_proofs_full`) without being verified, which bounds a block's CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metanode.errors import check
from metanode.state import constants
from metanode.state.privacy import keys
from metanode.state.values import decode_uints, encode_uints, in_ranges
from metanode.state.view import Overlay, StateReader


@dataclass(frozen=True, slots=True)
class PrivacyParams:
    proof_fee_min: int = 1_000_000
    proofs_per_block_max: int = 4

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "proof_fee_min": (0, constants.supply_max),
        "proofs_per_block_max": (0, 64),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"privacy parameters: {problem}")

    def to_wire(self) -> list[int]:
        return [getattr(self, field) for field in self.RANGES]


DEFAULT = PrivacyParams()


def read_params(reader: StateReader) -> PrivacyParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "privacy parameters missing from state (genesis not loaded?)")
    return PrivacyParams(*decode_uints(data, keys.PARAMS, len(PrivacyParams.RANGES)))  # type: ignore[arg-type]


def write_params(writer: Overlay, params: PrivacyParams) -> None:
    writer.put(keys.PARAMS, encode_uints(params.to_wire()))
