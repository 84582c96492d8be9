"""staking rules: the only code that writes validators, delegations, unbondings and sets.

Rules:
- Bonded GEN sits in the module account `staking/bonded`, unbonding GEN in
  `staking/unbonding`; coins move only through bank's `move`, so bank's supply invariant
  covers them and staking's invariants check the pools against its own records.
- An unbonding completes at the end of block `height + unbonding_delay_blocks`.
- Validator sets (keys.py): during block h, `SET_NEXT` is the set that signs h and
  `SET_AFTER_NEXT` the one that signs h + 1 (the header commits to both). At the end of h,
  `SET_NEXT ← SET_AFTER_NEXT` and `SET_AFTER_NEXT ←` the set computed from the stakes as they
  stand: a change made in block h takes effect at h + 2.
- A set is the `validators_max` registered validators of highest power (power = whole GEN
  bonded; ties by address), then sorted by address. A set is never empty: if every validator
  unbonded, the last non-empty set stays (the chain cannot lose all its signers by a vote of
  stake alone).
Each message handler returns its failure code before writing anything.
"""

from __future__ import annotations

from metanode.crypto import bls
from metanode.errors import InvariantViolation, check
from metanode.state import constants
from metanode.state.bank.accounts import module_address, read_account
from metanode.state.bank.rules import move
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.staking import errors, keys
from metanode.state.staking.messages import check_amount
from metanode.state.staking.records import (
    SetMember,
    StakingParams,
    ValidatorRecord,
    decode_validator,
    encode_set,
    read_params,
    read_uint,
    read_unbondings,
    read_validator,
    write_uint,
    write_unbondings,
    write_validator,
)
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, Bond, Denom, Event, RegisterValidator, Unbond

BONDED_POOL = module_address("staking/bonded")
UNBONDING_POOL = module_address("staking/unbonding")
CHANGED = "staking"


def on_register_validator(writer: Overlay, context: TxContext, message: RegisterValidator) -> int:
    if context.is_hybrid:
        # Consensus knows a validator by its Ed25519 key and the address that key hashes to.
        return errors.HYBRID_ACCOUNT_CANNOT_VALIDATE
    address = context.sender
    if read_validator(writer, address) is not None:
        return errors.ALREADY_REGISTERED
    if writer.get(keys.bls_key(message.bls_public_key)) is not None:
        return errors.BLS_KEY_IN_USE
    count = read_uint(writer, keys.VALIDATOR_COUNT)
    if count >= constants.validator_candidates_max:
        return errors.CANDIDATES_FULL
    # Last: the most expensive rung (a pairing check).
    if not bls.pop_is_valid(message.bls_public_key, message.bls_proof_of_possession):
        return errors.INVALID_PROOF_OF_POSSESSION
    register(writer, address, context.sender_public_key, message)
    write_uint(writer, keys.VALIDATOR_COUNT, count + 1)
    return OK


def register(
    writer: Overlay, address: Address, public_key: bytes, message: RegisterValidator
) -> None:
    record = ValidatorRecord(
        public_key,
        message.bls_public_key,
        message.bls_proof_of_possession,
        message.vrf_public_key,
        0,
    )
    write_validator(writer, address, record)
    writer.put(keys.bls_key(message.bls_public_key), address.raw)


def on_bond(writer: Overlay, context: TxContext, message: Bond) -> int:
    code = check_amount(message)
    if code != OK:
        return code
    record = read_validator(writer, message.validator)
    if record is None:
        return errors.VALIDATOR_NOT_FOUND
    if read_account(writer, context.sender).balance(Denom.GEN) < message.amount:
        return errors.INSUFFICIENT_FUNDS
    bond(writer, context.sender, message.validator, record, message.amount)
    context.block.changed.add(CHANGED)
    return OK


def bond(
    writer: Overlay,
    delegator: Address,
    validator: Address,
    record: ValidatorRecord,
    amount: int,
) -> None:
    check(move(writer, delegator, BONDED_POOL, Denom.GEN, amount) == OK, "bond after funds check")
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


def on_unbond(writer: Overlay, context: TxContext, message: Unbond) -> int:
    code = check_amount(message)
    if code != OK:
        return code
    record = read_validator(writer, message.validator)
    if record is None:
        return errors.VALIDATOR_NOT_FOUND
    delegation_key = keys.delegation(context.sender, message.validator)
    delegated = read_uint(writer, delegation_key)
    if delegated < message.amount:
        return errors.INSUFFICIENT_DELEGATION
    completion = context.block.height + read_params(writer).unbonding_delay_blocks
    queue = read_unbondings(writer, completion)
    if len(queue) >= constants.unbondings_per_height_max:
        return errors.UNBONDING_QUEUE_FULL
    check(
        move(writer, BONDED_POOL, UNBONDING_POOL, Denom.GEN, message.amount) == OK,
        "the bonded pool holds every delegation",
    )
    write_validator(
        writer,
        message.validator,
        ValidatorRecord(
            record.public_key,
            record.bls_public_key,
            record.bls_proof_of_possession,
            record.vrf_public_key,
            record.stake - message.amount,
        ),
    )
    write_uint(writer, delegation_key, delegated - message.amount)
    write_unbondings(writer, completion, (*queue, (context.sender, message.amount)))
    context.events.append(
        Event("unbonding", (("completion_height", completion.to_bytes(8, "big")),))
    )
    context.block.changed.add(CHANGED)
    return OK


def end_block(writer: Overlay, block: BlockContext) -> None:
    """Return matured unbondings, then rotate the validator sets."""
    matured = read_unbondings(writer, block.height)
    for delegator, amount in matured:
        check(
            move(writer, UNBONDING_POOL, delegator, Denom.GEN, amount) == OK,
            "the unbonding pool holds every unbonding",
        )
    if matured:
        write_unbondings(writer, block.height, ())
    after_next = writer.get(keys.SET_AFTER_NEXT)
    if after_next is None:
        raise InvariantViolation("validator sets missing from state (genesis not loaded?)")
    if writer.get(keys.SET_NEXT) != after_next:
        writer.put(keys.SET_NEXT, after_next)
    if CHANGED in block.changed:
        members = compute_set(writer, read_params(writer))
        if members:
            encoded = encode_set(members)
            if encoded != after_next:
                writer.put(keys.SET_AFTER_NEXT, encoded)


def compute_set(reader: StateReader, params: StakingParams) -> tuple[SetMember, ...]:
    """The set the current stakes call for (empty if no validator has a whole GEN bonded)."""
    candidates = []
    for key, value in reader.scan(keys.VALIDATOR):
        record = decode_validator(value, key)
        if record.power > 0:
            candidates.append((Address(key[len(keys.VALIDATOR) :]), record))
    candidates.sort(key=lambda item: (-item[1].power, item[0]))
    chosen = sorted(candidates[: params.validators_max], key=lambda item: item[0])
    return tuple(
        SetMember(
            address, record.power, record.public_key, record.bls_public_key, record.vrf_public_key
        )
        for address, record in chosen
    )
