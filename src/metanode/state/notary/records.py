"""notary's stored records, each with its encoder and strict decoder (a stored value of the
wrong shape is a bug: `InvariantViolation`). The records a LogBlock's commit writes (one
LogBlock, a receipt index per leaf, a tip per executor) hold only uint64s, byte strings and
arrays, so they are written with `encode_plain`: the codec's bytes without its per-type hooks
(a receipt index 1.6 -> 0.7 us; tests/state/test_notary.py compares them)."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.errors import DecodeError, InvariantViolation, check
from metanode.state.notary import keys
from metanode.state.values import (
    decode_array,
    decode_uints,
    encode_plain,
    encode_uints,
    encode_value,
)
from metanode.state.view import Overlay, StateReader
from metanode.types import LogBlock
from metanode.types import constants as types_constants

_PAIR_HEAD = encode_plain([None, None])[:1]  # the CBOR head of a two-item array

ZERO_HASH = bytes(types_constants.hash_bytes)


@dataclass(frozen=True, slots=True)
class AppTip:
    count: int = 0  # LogBlocks committed; the next one gets this number
    next_seq: int = 0  # the first call the next LogBlock must cover


@dataclass(frozen=True, slots=True)
class ExecutorTip:
    receipt_hash: bytes = ZERO_HASH  # DockLock's `previous` of an executor's first receipt
    block_time: int = 0
    state_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Stored:
    height: int
    logblock: LogBlock


def _logblock(value: object, key: bytes) -> LogBlock:
    try:
        return LogBlock.from_wire(value)
    except DecodeError as error:
        raise InvariantViolation(f"LogBlock at {key.hex()} is corrupt: {error}") from None


def _height(value: object, key: bytes) -> int:
    check(type(value) is int and value >= 0, f"notary record at {key.hex()}: bad height")
    return value  # type: ignore[return-value]


def read_app_tip(reader: StateReader, app_id: bytes) -> AppTip:
    key = keys.app_tip(app_id)
    data = reader.get(key)
    return AppTip() if data is None else AppTip(*decode_uints(data, key, 2))


def write_app_tip(writer: Overlay, app_id: bytes, tip: AppTip) -> None:
    writer.put(keys.app_tip(app_id), encode_uints([tip.count, tip.next_seq]))


def read_executor_tip(reader: StateReader, app_id: bytes, executor: bytes) -> ExecutorTip:
    key = keys.executor_tip(app_id, executor)
    data = reader.get(key)
    if data is None:
        return ExecutorTip()
    receipt_hash, block_time, state_bytes = decode_array(data, key, 3)
    check(
        type(receipt_hash) is bytes and len(receipt_hash) == types_constants.hash_bytes,
        f"executor tip at {key.hex()}: bad receipt hash",
    )
    return ExecutorTip(receipt_hash, _height(block_time, key), _height(state_bytes, key))


def write_executor_tip(writer: Overlay, app_id: bytes, executor: bytes, tip: ExecutorTip) -> None:
    writer.put(
        keys.executor_tip(app_id, executor),
        encode_plain([tip.receipt_hash, tip.block_time, tip.state_bytes]),
    )


def read_logblock(reader: StateReader, app_id: bytes, number: int) -> Stored | None:
    key = keys.logblock(app_id, number)
    data = reader.get(key)
    if data is None:
        return None
    height, wire = decode_array(data, key, 2)
    return Stored(_height(height, key), _logblock(wire, key))


def write_logblock(writer: Overlay, number: int, stored: Stored, wire: bytes | None = None) -> None:
    """`wire`: the encoding of `stored.logblock.to_wire()`, if the caller holds it (the chain's
    check made it with the signing message: `LogBlock.signing_message_and_wire`), so that 512
    leaves are not encoded again: the stored array is its head, the height's encoding and it."""
    key = keys.logblock(stored.logblock.app_id, number)
    if wire is None:
        wire = encode_plain(stored.logblock.to_wire())
    writer.put(key, _PAIR_HEAD + encode_plain([stored.height])[1:] + wire)


def read_receipt_index(reader: StateReader, receipt_hash: bytes) -> tuple[bytes, int, int] | None:
    """(app id, LogBlock number, leaf index) of a notarised receipt."""
    key = keys.receipt(receipt_hash)
    data = reader.get(key)
    if data is None:
        return None
    app_id, number, index = decode_array(data, key, 3)
    check(type(app_id) is bytes and len(app_id) == 32, f"receipt index {key.hex()}: bad app id")
    return app_id, _height(number, key), _height(index, key)


def write_receipt_index(
    writer: Overlay, receipt_hash: bytes, app_id: bytes, number: int, index: int
) -> None:
    writer.put(keys.receipt(receipt_hash), encode_plain([app_id, number, index]))


@dataclass(frozen=True, slots=True)
class Dispute:
    """Replicas' receipts of `call_seq` disagree: the range is withheld until the court (its
    issue) replays the witness. The whole LogBlock is kept, as the court's evidence."""

    height: int
    call_seq: int
    logblock: LogBlock


def read_dispute(reader: StateReader, app_id: bytes, first_seq: int) -> Dispute | None:
    key = keys.dispute(app_id, first_seq)
    data = reader.get(key)
    if data is None:
        return None
    height, call_seq, wire = decode_array(data, key, 3)
    return Dispute(_height(height, key), _height(call_seq, key), _logblock(wire, key))


def write_dispute(writer: Overlay, dispute: Dispute) -> None:
    logblock = dispute.logblock
    writer.put(
        keys.dispute(logblock.app_id, logblock.first_seq),
        encode_value([dispute.height, dispute.call_seq, logblock.to_wire()]),
    )


def delete_dispute(writer: Overlay, app_id: bytes, first_seq: int) -> None:
    """The court settled the dispute (state/court): the range is open to a LogBlock again."""
    key = keys.dispute(app_id, first_seq)
    check(writer.get(key) is not None, f"no notary dispute at {key.hex()} to release")
    writer.delete(key)
