"""staking queries: read-only. `validator_set` and `next_validator_set` are what consensus
commits to in a header (`validator_set_hash`, `next_validator_set_hash`) before executing it."""

from __future__ import annotations

from metanode.errors import InvariantViolation
from metanode.state.genesis.chain import read_tip
from metanode.state.staking import keys
from metanode.state.staking.records import (
    SetMember,
    StakingParams,
    ValidatorRecord,
    decode_set,
    read_params,
    read_uint,
    read_unbondings,
    read_validator,
    set_hash,
)
from metanode.state.view import StateReader
from metanode.types import Address


def _stored_set(reader: StateReader, key: bytes) -> bytes:
    data = reader.get(key)
    if data is None:
        raise InvariantViolation("validator sets missing from state (genesis not loaded?)")
    return data


def validator_set(reader: StateReader) -> tuple[SetMember, ...]:
    """The set that signs the next block (height of the committed state + 1)."""
    return decode_set(_stored_set(reader, keys.SET_NEXT), keys.SET_NEXT)


def next_validator_set(reader: StateReader) -> tuple[SetMember, ...]:
    """The set that signs the block after that (already fixed: changes wait two heights)."""
    return decode_set(_stored_set(reader, keys.SET_AFTER_NEXT), keys.SET_AFTER_NEXT)


def validator_set_hash(reader: StateReader) -> bytes:
    return set_hash(_stored_set(reader, keys.SET_NEXT))


def next_validator_set_hash(reader: StateReader) -> bytes:
    return set_hash(_stored_set(reader, keys.SET_AFTER_NEXT))


def validator(reader: StateReader, address: Address) -> ValidatorRecord | None:
    return read_validator(reader, address)


def delegation(reader: StateReader, delegator: Address, validator_address: Address) -> int:
    return read_uint(reader, keys.delegation(delegator, validator_address))


def unbondings_at(reader: StateReader, height: int) -> tuple[tuple[Address, int], ...]:
    return read_unbondings(reader, height)


def params(reader: StateReader) -> StakingParams:
    return read_params(reader)


def set_start(reader: StateReader, height: int) -> int | None:
    """The first height of the set that signs block `height` (the set change at or below it,
    a binary search: about log2(changes) reads); None for height 0 (genesis is not signed) and
    for a height past the one after next, whose set is not fixed yet."""
    tip, _time = read_tip(reader)
    if height == 0 or height > tip + 2:
        return None
    # The last change at or below `height`; genesis recorded height 1, so there is one.
    low, high = 0, read_uint(reader, keys.SET_CHANGE_COUNT)
    while low < high:
        middle = (low + high) // 2
        if read_uint(reader, keys.set_change(middle)) <= height:
            low = middle + 1
        else:
            high = middle
    if low == 0:
        raise InvariantViolation("no validator set recorded for height 1 (genesis not loaded?)")
    return read_uint(reader, keys.set_change(low - 1))


def validator_set_at(reader: StateReader, height: int) -> tuple[SetMember, ...] | None:
    """The set that signs block `height` (None where `set_start` is None)."""
    start = set_start(reader, height)
    if start is None:
        return None
    key = keys.set_from(start)
    return decode_set(_stored_set(reader, key), key)
