"""keys parameters: genesis writes them (`parameters.keys` of the genesis document, each
field defaulting to `DEFAULT`); governance changes a field (parameters 52–54,
`governance/parameters.py`), checked against `RANGES`. Each is a flag, 0 or 1.
- `hybrid_links_required`: peers that offer classical link keys only are refused
  (net/hybrid.py); otherwise they are linked and counted.
- `hybrid_accounts_required`: an Ed25519 account that has never sent a transaction may send
  only its migration to hybrid keys (message 37).
- `hybrid_validators_required`: a node identity registers as a validator only once it has
  added its ML-DSA-65 key (message 38).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metanode.errors import check
from metanode.state.keys import keys
from metanode.state.values import decode_uints, encode_uints, in_ranges
from metanode.state.view import Overlay, StateReader


@dataclass(frozen=True, slots=True)
class KeysParams:
    hybrid_links_required: int = 0
    hybrid_accounts_required: int = 0
    hybrid_validators_required: int = 0

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "hybrid_links_required": (0, 1),
        "hybrid_accounts_required": (0, 1),
        "hybrid_validators_required": (0, 1),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"keys parameters: {problem}")

    def to_wire(self) -> list[int]:
        return [getattr(self, field) for field in self.RANGES]


DEFAULT = KeysParams()


def read_params(reader: StateReader) -> KeysParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "keys parameters missing from state (genesis not loaded?)")
    return KeysParams(*decode_uints(data, keys.PARAMS, len(KeysParams.RANGES)))  # type: ignore[arg-type]


def write_params(writer: Overlay, params: KeysParams) -> None:
    writer.put(keys.PARAMS, encode_uints(params.to_wire()))
