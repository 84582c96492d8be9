"""staking's stored records: parameters, validators, delegations, unbonding lists and validator
sets, each with its encoder and strict decoder (a stored value of the wrong shape is a bug)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import check
from metanode.state import constants
from metanode.state.staking import keys
from metanode.state.values import (
    decode_array,
    decode_uints,
    decode_value,
    encode_value,
    in_ranges,
)
from metanode.state.view import Overlay, StateReader
from metanode.types import Address
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class StakingParams:
    unbonding_delay_blocks: int = 100
    validators_max: int = 100
    # Sets change only at epoch boundaries (rules.py), and apps' executors are drawn anew per
    # epoch (apps/assignment.py). A redraw costs the newly drawn executors a state catch-up (a
    # run of the app's calls, or a hand-over), so an epoch spans many blocks; 1 = every block.
    epoch_blocks: int = 100

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "unbonding_delay_blocks": (1, constants.unbonding_delay_blocks_max),
        "validators_max": (1, constants.validators_max),
        "epoch_blocks": (1, constants.epoch_blocks_max),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"staking parameters: {problem}")

    def is_epoch_end(self, height: int) -> bool:
        """Whether the end of block `height` fixes the set of the next epoch: the set it
        computes signs from `height + 2` on, the first height of an epoch (kE + 1)."""
        return (height + 1) % self.epoch_blocks == 0


@dataclass(frozen=True, slots=True)
class ValidatorRecord:
    public_key: bytes  # Ed25519: the account key, signs consensus messages
    bls_public_key: bytes
    bls_proof_of_possession: bytes
    vrf_public_key: bytes
    stake: int  # GEN base units bonded to it, by everyone

    @property
    def power(self) -> int:
        # Whole GEN: power stays a small integer and dust cannot buy a seat.
        return self.stake // constants.base_units_per_coin


@dataclass(frozen=True, slots=True)
class SetMember:
    """One validator of a set, as consensus sees it (same fields, same order)."""

    address: Address
    power: int
    public_key: bytes
    bls_public_key: bytes
    vrf_public_key: bytes


def read_params(reader: StateReader) -> StakingParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "staking parameters missing from state (genesis not loaded?)")
    delay, seats, epoch = decode_uints(data, keys.PARAMS, 3)  # type: ignore[arg-type]
    return StakingParams(delay, seats, epoch)


def write_params(writer: Overlay, params: StakingParams) -> None:
    writer.put(
        keys.PARAMS,
        encode_value([params.unbonding_delay_blocks, params.validators_max, params.epoch_blocks]),
    )


def read_validator(reader: StateReader, address: Address) -> ValidatorRecord | None:
    key = keys.validator(address)
    data = reader.get(key)
    return None if data is None else decode_validator(data, key)


def node_keys_well_formed(
    public_key: object, bls_key: object, pop: object, vrf_key: object
) -> bool:
    """A stored node's keys as decoded: byte strings of their exact sizes (staking's validator
    records and the registry's node records hold the same four)."""
    sizes = (
        (public_key, types_constants.ed25519_public_key_bytes),
        (bls_key, types_constants.bls_public_key_bytes),
        (pop, types_constants.bls_signature_bytes),
        (vrf_key, types_constants.ed25519_public_key_bytes),
    )
    return all(type(value) is bytes and len(value) == size for value, size in sizes)


def decode_validator(data: bytes, key: bytes) -> ValidatorRecord:
    public_key, bls_key, pop, vrf_key, stake = decode_array(data, key, 5)
    check(
        node_keys_well_formed(public_key, bls_key, pop, vrf_key)
        and type(stake) is int
        and stake >= 0,
        f"validator record at {key.hex()} is malformed",
    )
    return ValidatorRecord(public_key, bls_key, pop, vrf_key, stake)


def write_validator(writer: Overlay, address: Address, record: ValidatorRecord) -> None:
    writer.put(
        keys.validator(address),
        encode_value(
            [
                record.public_key,
                record.bls_public_key,
                record.bls_proof_of_possession,
                record.vrf_public_key,
                record.stake,
            ]
        ),
    )


def read_uint(reader: StateReader, key: bytes) -> int:
    data = reader.get(key)
    if data is None:
        return 0
    value = decode_value(data, key)
    check(type(value) is int and value >= 0, f"state value at {key.hex()} is not a uint")
    return value  # type: ignore[no-any-return]


def write_uint(writer: Overlay, key: bytes, value: int) -> None:
    check(0 <= value <= constants.uint64_max, f"value {value} for {key.hex()} out of range")
    if value == 0:
        writer.delete(key)
    else:
        writer.put(key, encode_value(value))


def read_unbondings(reader: StateReader, height: int) -> tuple[tuple[Address, int], ...]:
    key = keys.unbonding(height)
    data = reader.get(key)
    if data is None:
        return ()
    entries = decode_value(data, key)
    check(type(entries) is tuple, f"unbonding list at {key.hex()} is not an array")
    result = []
    for entry in entries:
        check(
            type(entry) is tuple
            and len(entry) == 2
            and type(entry[0]) is bytes
            and type(entry[1]) is int
            and entry[1] > 0,
            f"unbonding entry at {key.hex()} is malformed",
        )
        result.append((Address(entry[0]), entry[1]))
    return tuple(result)


def write_unbondings(
    writer: Overlay, height: int, entries: tuple[tuple[Address, int], ...]
) -> None:
    key = keys.unbonding(height)
    if not entries:
        writer.delete(key)
    else:
        writer.put(key, encode_value([[address.raw, amount] for address, amount in entries]))


def encode_set(members: tuple[SetMember, ...]) -> bytes:
    check(
        [m.address for m in members] == sorted(m.address for m in members),
        "a validator set is stored sorted by address",
    )
    return encode_value(
        [
            [m.address.raw, m.power, m.public_key, m.bls_public_key, m.vrf_public_key]
            for m in members
        ]
    )


def decode_set(data: bytes, key: bytes) -> tuple[SetMember, ...]:
    entries = decode_value(data, key)
    check(type(entries) is tuple, f"validator set at {key.hex()} is not an array")
    members = []
    for entry in entries:
        check(
            type(entry) is tuple and len(entry) == 5, f"validator set at {key.hex()} is malformed"
        )
        address, power, public_key, bls_key, vrf_key = entry
        members.append(SetMember(Address(address), power, public_key, bls_key, vrf_key))
    return tuple(members)


def set_hash(encoded_set: bytes) -> bytes:
    return tagged_hash(tags.VALIDATOR_SET, encoded_set)
