"""staking genesis: parameters, validators (keys and proof of possession), delegations and
unbondings in flight, in and out (round-trip tested in tests/state/test_genesis.py).

Stake at genesis is newly created GEN: importing credits the pools directly and bank's
`finish_genesis` counts it into the GEN supply. A validator's own stake is its `stake`;
`delegations` holds only what others bonded to it, so each amount has one place in the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.errors import InvariantViolation, check
from metanode.state.bank.rules import credit
from metanode.state.staking import keys
from metanode.state.staking.records import (
    StakingParams,
    ValidatorRecord,
    decode_validator,
    encode_set,
    read_params,
    read_uint,
    read_unbondings,
    read_validator,
    write_params,
    write_uint,
    write_unbondings,
    write_validator,
)
from metanode.state.staking.rules import BONDED_POOL, UNBONDING_POOL, compute_set, record_set
from metanode.state.values import decode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Denom


@dataclass(frozen=True, slots=True)
class GenesisValidator:
    public_key: bytes
    bls_public_key: bytes
    bls_proof_of_possession: bytes
    vrf_public_key: bytes
    stake: int = 0  # its own bonded GEN, base units
    # The identity it serves when its node key was rotated (message 43; the document reads it
    # from its `keys.rotated`), else None: the identity is the hash of the key.
    identity: Address | None = None

    @property
    def address(self) -> Address:
        return self.identity or Address.from_public_key(self.public_key)


@dataclass(frozen=True, slots=True)
class GenesisDelegation:
    delegator: Address
    validator: Address
    amount: int


@dataclass(frozen=True, slots=True)
class GenesisUnbonding:
    delegator: Address
    amount: int
    completion_height: int


@dataclass(frozen=True, slots=True)
class StakingGenesis:
    params: StakingParams
    validators: tuple[GenesisValidator, ...]
    delegations: tuple[GenesisDelegation, ...] = ()
    unbondings: tuple[GenesisUnbonding, ...] = ()
    jailed: tuple[tuple[Address, int], ...] = ()  # (validator, height jailed), by address
    retired: tuple[tuple[Address, int], ...] = ()  # (validator, height its node left), by address


def import_genesis(writer: Overlay, genesis: StakingGenesis) -> None:
    """Write staking's state; the document loader has already checked every field (keys, proofs
    of possession, references), so a failure here is a bug."""
    write_params(writer, genesis.params)
    for entry in genesis.validators:
        record = ValidatorRecord(
            entry.public_key,
            entry.bls_public_key,
            entry.bls_proof_of_possession,
            entry.vrf_public_key,
            0,
        )
        write_validator(writer, entry.address, record)
        writer.put(keys.bls_key(entry.bls_public_key), entry.address.raw)
    write_uint(writer, keys.VALIDATOR_COUNT, len(genesis.validators))
    stakes = [(entry.address, entry.address, entry.stake) for entry in genesis.validators]
    stakes += [(d.delegator, d.validator, d.amount) for d in genesis.delegations]
    for delegator, validator, amount in stakes:
        if amount == 0:
            continue
        record = read_validator(writer, validator)
        if record is None:
            raise InvariantViolation(f"genesis delegation to unknown validator {validator}")
        write_validator(
            writer,
            validator,
            ValidatorRecord(
                record.public_key,
                record.bls_public_key,
                record.bls_proof_of_possession,
                record.vrf_public_key,
                record.stake + amount,
            ),
        )
        key = keys.delegation(delegator, validator)
        write_uint(writer, key, read_uint(writer, key) + amount)
        credit(writer, BONDED_POOL, Denom.GEN, amount)
    by_height: dict[int, list[tuple[Address, int]]] = {}
    for unbonding in genesis.unbondings:
        by_height.setdefault(unbonding.completion_height, []).append(
            (unbonding.delegator, unbonding.amount)
        )
        credit(writer, UNBONDING_POOL, Denom.GEN, unbonding.amount)
    for height in sorted(by_height):
        write_unbondings(writer, height, tuple(by_height[height]))
    for address, height in genesis.jailed:
        write_uint(writer, keys.jailed(address), height)
    for address, height in genesis.retired:
        write_uint(writer, keys.retired(address), height)
    members = compute_set(writer, genesis.params)
    check(bool(members), "genesis needs an unjailed validator with at least one whole GEN bonded")
    encoded = encode_set(members)
    writer.put(keys.SET_NEXT, encoded)
    writer.put(keys.SET_AFTER_NEXT, encoded)
    record_set(writer, 1, encoded)


def export_genesis(reader: StateReader) -> StakingGenesis:
    validators = []
    for key, value in reader.scan(keys.VALIDATOR):
        record = decode_validator(value, key)
        address = Address(key[len(keys.VALIDATOR) :])
        own = read_uint(reader, keys.delegation(address, address))
        rotated = address != Address.from_public_key(record.public_key)
        validators.append(
            GenesisValidator(
                record.public_key,
                record.bls_public_key,
                record.bls_proof_of_possession,
                record.vrf_public_key,
                own,
                address if rotated else None,
            )
        )
    delegations = []
    width = len(keys.DELEGATION)
    for key, value in reader.scan(keys.DELEGATION):
        delegator, validator = Address(key[width : width + 20]), Address(key[width + 20 :])
        if delegator == validator:
            continue
        amount = decode_value(value, key)
        delegations.append(GenesisDelegation(delegator, validator, amount))
    unbondings = []
    for key, _value in reader.scan(keys.UNBONDING):
        height = int.from_bytes(key[len(keys.UNBONDING) :], "big")
        unbondings.extend(
            GenesisUnbonding(delegator, amount, height)
            for delegator, amount in read_unbondings(reader, height)
        )
    return StakingGenesis(
        read_params(reader),
        tuple(validators),
        tuple(delegations),
        tuple(unbondings),
        _marked(reader, keys.JAILED),
        _marked(reader, keys.RETIRED),
    )


def _marked(reader: StateReader, table: bytes) -> tuple[tuple[Address, int], ...]:
    """The validators a table of `address → height` marks, by address."""
    return tuple(
        (Address(key[len(table) :]), read_uint(reader, key)) for key, _value in reader.scan(table)
    )
