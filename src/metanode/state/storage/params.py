"""storage parameters: genesis writes them (`parameters.storage`, each field defaulting to
`DEFAULT`); governance changes a field (parameters 39–41, 57–58), checked against `RANGES`.

- `account_bytes_max`: the blob bytes one account may own on storage nodes.
- `node_bytes_max`: the share bytes one node may be asked to hold; a node at its quota is left
  out of new placements (and of moves), so the next-ranked node takes the share.
- `fee_per_kib`: FLX base units per KiB (rounded up) of a share, paid by the owner to the
  share's holder when the blob is placed.
- `epoch_fee_per_kib`: FLX base units per KiB (rounded up) of a share, paid by the owner to the
  share's holder at each epoch boundary while the blob stays placed (rules.py `end_block`).
- `grace_epochs`: epoch fees an owner may fail to pay in a row; at the next it cannot pay, the
  blob expires (is removed as a deletion removes it), unless an app's module is stored in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metanode.errors import check
from metanode.state import constants
from metanode.state.storage import keys
from metanode.state.values import decode_uints, encode_uints, in_ranges
from metanode.state.view import Overlay, StateReader

_BYTES_MAX = 2**50
_GRACE_EPOCHS_MAX = 1_000_000


@dataclass(frozen=True, slots=True)
class StorageParams:
    account_bytes_max: int = 1024**3
    node_bytes_max: int = 16 * 1024**3
    fee_per_kib: int = 1_000
    epoch_fee_per_kib: int = 1
    grace_epochs: int = 3

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "account_bytes_max": (1, _BYTES_MAX),
        "node_bytes_max": (1, _BYTES_MAX),
        "fee_per_kib": (0, constants.base_units_per_coin),
        "epoch_fee_per_kib": (0, constants.base_units_per_coin),
        "grace_epochs": (0, _GRACE_EPOCHS_MAX),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"storage parameters: {problem}")

    def to_wire(self) -> list[int]:
        return [getattr(self, field) for field in self.RANGES]


DEFAULT = StorageParams()


def read_params(reader: StateReader) -> StorageParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "storage parameters missing from state (genesis not loaded?)")
    return StorageParams(*decode_uints(data, keys.PARAMS, len(StorageParams.RANGES)))  # type: ignore[arg-type]


def write_params(writer: Overlay, params: StorageParams) -> None:
    writer.put(keys.PARAMS, encode_uints(params.to_wire()))
