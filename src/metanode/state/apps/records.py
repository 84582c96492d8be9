"""apps' stored records: parameters, apps, versions and calls, each with its encoder and strict
decoder (a stored value of the wrong shape is a bug).

Parameters (genesis; governance may change them within RANGES): the largest module a deploy
or upgrade may carry (at most what fits in a transaction), the most replicas an app may ask
for, the largest per-call fuel limit (the cage's own `fuel_max`), the lowest fuel price and
the most versions one app keeps. All amounts are FLX base units.

Within a block the app and version records travel decoded (`Overlay.get_object` /
`put_object`): every call reads both and writes the app record (its call count), and decoding
and encoding them per call was most of a call's cost to the block after its signature
(docs/performance.md, "Apps, w13").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from metanode.docklock import constants as cage_constants
from metanode.errors import check
from metanode.state import constants
from metanode.state.apps import keys
from metanode.state.values import decode_array, encode_plain, encode_value, in_ranges
from metanode.state.view import Overlay, StateReader
from metanode.types import Address
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class AppsParams:
    module_bytes_max: int = types_constants.app_module_bytes_max
    replicas_max: int = 8
    fuel_limit_max: int = cage_constants.fuel_max
    fuel_price_min: int = 1
    versions_max: int = 64

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "module_bytes_max": (1, types_constants.app_module_bytes_max),
        "replicas_max": (1, constants.app_replicas_max),
        "fuel_limit_max": (1, cage_constants.fuel_max),
        "fuel_price_min": (1, constants.uint64_max),
        "versions_max": (1, constants.app_versions_max),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"apps parameters: {problem}")

    def to_wire(self) -> list[int]:
        return [
            self.module_bytes_max,
            self.replicas_max,
            self.fuel_limit_max,
            self.fuel_price_min,
            self.versions_max,
        ]


class CallStatus(enum.IntEnum):
    ESCROWED = 1  # the fee for fuel_limit is held in `apps/escrow`
    SETTLED = 2  # charged for fuel_used, the rest refunded (settle_call)


@dataclass(frozen=True, slots=True)
class AppRecord:
    owner: Address
    version: int  # the current version (1 = the deployed module)
    versions: int  # versions recorded, 1..versions; each stays, so receipts naming it stay valid
    replicas: int
    fuel_price: int  # FLX base units per unit of fuel
    fuel_limit: int  # per call
    calls: int  # calls made: the next call's sequence number
    deployed_height: int

    def to_wire(self) -> list[Any]:
        return [
            self.owner.raw,
            self.version,
            self.versions,
            self.replicas,
            self.fuel_price,
            self.fuel_limit,
            self.calls,
            self.deployed_height,
        ]

    def encode(self) -> bytes:
        return encode_value(self.to_wire())


@dataclass(frozen=True, slots=True)
class VersionRecord:
    module_hash: bytes  # BLAKE3; keys.module(module_hash) holds the bytes
    functions: tuple[str, ...]  # exported functions a call may name, sorted
    height: int

    def to_wire(self) -> list[Any]:
        return [self.module_hash, list(self.functions), self.height]


@dataclass(frozen=True, slots=True)
class CallRecord:
    caller: Address
    version: int
    function: str
    input: bytes
    fuel_limit: int
    fuel_price: int  # the app's price when the call was included
    height: int
    status: CallStatus
    fuel_used: int  # 0 until settled
    epoch: int  # the executor draw's epoch at inclusion: keys.assigned(app, epoch) serve it
    tx_hash: bytes  # the CallApp transaction's: a split-origin receipt must name it

    @property
    def escrow(self) -> int:
        return self.fuel_limit * self.fuel_price

    def settled(self, fuel_used: int) -> CallRecord:
        """The record settled for `fuel_used`: built field by field, not by
        `dataclasses.replace` (2.5 us, for each call of a LogBlock's range)."""
        return CallRecord(
            self.caller,
            self.version,
            self.function,
            self.input,
            self.fuel_limit,
            self.fuel_price,
            self.height,
            CallStatus.SETTLED,
            fuel_used,
            self.epoch,
            self.tx_hash,
        )

    def to_wire(self) -> list[Any]:
        return [
            self.caller.raw,
            self.version,
            self.function,
            self.input,
            self.fuel_limit,
            self.fuel_price,
            self.height,
            int(self.status),
            self.fuel_used,
            self.epoch,
            self.tx_hash,
        ]


def _uint(value: Any, key: bytes) -> int:
    check(
        type(value) is int and 0 <= value <= constants.uint64_max,
        f"state value at {key.hex()}: not a uint64",
    )
    return value  # type: ignore[no-any-return]


def _bytes(value: Any, key: bytes, length: int | None = None) -> bytes:
    check(
        type(value) is bytes and (length is None or len(value) == length),
        f"state value at {key.hex()}: malformed byte string",
    )
    return value  # type: ignore[no-any-return]


def read_params(reader: StateReader) -> AppsParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "apps parameters missing from state (genesis not loaded?)")
    fields = decode_array(data, keys.PARAMS, 5)
    return AppsParams(*(_uint(value, keys.PARAMS) for value in fields))


def write_params(writer: Overlay, params: AppsParams) -> None:
    writer.put(keys.PARAMS, encode_value(params.to_wire()))


def decode_app(data: bytes, key: bytes) -> AppRecord:
    owner, *numbers = decode_array(data, key, 8)
    version, versions, replicas, price, limit, calls, height = (_uint(n, key) for n in numbers)
    check(1 <= version <= versions, f"app record at {key.hex()}: version outside 1..versions")
    return AppRecord(
        Address(_bytes(owner, key, types_constants.address_bytes)),
        version,
        versions,
        replicas,
        price,
        limit,
        calls,
        height,
    )


def read_app(reader: StateReader, app_id: bytes) -> AppRecord | None:
    key = keys.app(app_id)
    if type(reader) is Overlay:
        return reader.get_object(key, decode_app)
    data = reader.get(key)
    return None if data is None else decode_app(data, key)


def write_app(writer: Overlay, app_id: bytes, record: AppRecord) -> None:
    writer.put_object(keys.app(app_id), record)


def read_version(reader: StateReader, app_id: bytes, number: int) -> VersionRecord | None:
    key = keys.version(app_id, number)
    if type(reader) is Overlay:
        return reader.get_object(key, decode_version)
    data = reader.get(key)
    return None if data is None else decode_version(data, key)


def decode_version(data: bytes, key: bytes) -> VersionRecord:
    module_hash, functions, height = decode_array(data, key, 3)
    check(
        type(functions) is tuple and all(type(name) is str for name in functions),
        f"version record at {key.hex()}: functions are not texts",
    )
    return VersionRecord(
        _bytes(module_hash, key, types_constants.hash_bytes), functions, _uint(height, key)
    )


def write_version(writer: Overlay, app_id: bytes, number: int, record: VersionRecord) -> None:
    writer.put(keys.version(app_id, number), encode_value(record.to_wire()))


# Call records decoded, by (bytes, key): a node decoded the same records again and again: its
# notary's range cut reads every call of an open range at each height, the receipts it checks
# read their calls, and a LogBlock's checks and settlement read them all once more per block,
# ~17 µs each (docs/performance.md, "Apps, w16"). A record is immutable and a function of its
# bytes, so the decoded one is shared; a record rewritten (settled) is other bytes. A record
# written is kept with its bytes too: the node's hosting reads every call a block includes
# back from the committed state (10.5 µs a call to decode; "Apps, w22"), and the record
# written is the one those bytes decode to (tests/state/test_apps_records.py).
decoded_calls_cached_max = 16_384
_STATUSES = frozenset(CallStatus)
_decoded_calls: dict[tuple[bytes, bytes], CallRecord] = {}


def decode_call(data: bytes, key: bytes) -> CallRecord:
    found = _decoded_calls.get((data, key))
    if found is None:
        found = _decode_call(data, key)
        _keep_call(data, key, found)
    return found


def _keep_call(data: bytes, key: bytes, record: CallRecord) -> None:
    if len(_decoded_calls) >= decoded_calls_cached_max:
        # The oldest first (a dict keeps insertion order): an open range's records were kept
        # last.
        _decoded_calls.pop(next(iter(_decoded_calls)), None)
    _decoded_calls[data, key] = record


def _decode_call(data: bytes, key: bytes) -> CallRecord:
    caller, version, function, input_, limit, price, height, status, used, epoch, tx_hash = (
        decode_array(data, key, 11)
    )
    check(type(function) is str, f"call record at {key.hex()}: function is not text")
    check(_uint(status, key) in _STATUSES, f"call record at {key.hex()}: unknown status")
    return CallRecord(
        Address(_bytes(caller, key, types_constants.address_bytes)),
        _uint(version, key),
        function,  # type: ignore[arg-type]
        _bytes(input_, key),
        _uint(limit, key),
        _uint(price, key),
        _uint(height, key),
        CallStatus(status),
        _uint(used, key),
        _uint(epoch, key),
        _bytes(tx_hash, key, types_constants.hash_bytes),
    )


def read_call(reader: StateReader, app_id: bytes, seq: int) -> CallRecord | None:
    key = keys.call(app_id, seq)
    if type(reader) is Overlay:
        # Decoded once per block: a LogBlock's commit reads each of its calls in the notary's
        # checks and again to settle it (docs/performance.md).
        return reader.get_object(key, decode_call)
    data = reader.get(key)
    return None if data is None else decode_call(data, key)


def write_call(writer: Overlay, app_id: bytes, seq: int, record: CallRecord) -> None:
    """The record is uint64s, byte and text strings only: `encode_plain` writes the codec's
    bytes without its per-type hooks, 2.8 -> 0.9 us, twice a call (its CallApp and its
    settlement; tests/state/test_apps_records.py compares them)."""
    key, data = keys.call(app_id, seq), encode_plain(record.to_wire())
    writer.put(key, data)
    _keep_call(data, key, record)
