"""staking rules: the only code that writes validators, delegations, unbondings and sets.

Rules:
- Bonded GEN sits in the module account `staking/bonded`, unbonding GEN in
  `staking/unbonding`; coins move only through bank's `move`, so bank's supply invariant
  covers them and staking's invariants check the pools against its own records.
- An unbonding completes at the end of block `height + unbonding_delay_blocks`.
- Every set change is recorded by the height it signs from (`record_set`, never
  overwritten; genesis records the set of height 1), so `queries.validator_set_at` finds
  the set of any past height.
- Validator sets (keys.py): during block h, `SET_NEXT` is the set that signs h and
  `SET_AFTER_NEXT` the one that signs h + 1 (the header commits to both). At the end of h,
  `SET_NEXT ← SET_AFTER_NEXT`, and if h ends an epoch (`StakingParams.is_epoch_end`: h + 1 is
  a multiple of `epoch_blocks`) `SET_AFTER_NEXT ←` the set computed from the stakes as they
  stand. So the set changes only at the first height of an epoch (kE + 1), fixed two heights
  ahead as before: the consensus engine's assumption (the header of h names the sets of h and
  h + 1, both known before h runs) holds for every E. With E = 1 a change made in block h
  takes effect at h + 2.
- A set is the `validators_max` registered validators, neither jailed nor retired, of highest
  power (power = whole GEN bonded; ties by address), then sorted by address. A set is never
  empty: if every validator unbonded, was jailed or retired, the last non-empty set stays (the
  chain cannot lose all its signers by a vote of stake alone).
- `retire`, `unbond` and `queue_unbonding` are the registry's for a node that leaves: it
  retires from every later set and its stake waits out the same unbonding queue.
- `jail` and `slash` are staking's narrow interface for the registry's evidence rule (the way
  Cosmos' x/slashing calls x/staking): a slash cuts every delegation to the validator by the
  same fraction, floored, so the stake stays the sum of its delegations.
Each message handler returns its failure code before writing anything.
"""

from __future__ import annotations

from dataclasses import replace

from metanode.crypto import bls
from metanode.errors import InvariantViolation, check
from metanode.state import constants
from metanode.state.bank.accounts import module_address, read_account
from metanode.state.bank.rules import burn, move
from metanode.state.codes import OK
from metanode.state.context import BlockContext, TxContext
from metanode.state.keys import queries as keys_queries
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
    write_params,
    write_uint,
    write_unbondings,
    write_validator,
)
from metanode.state.values import decode_value
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


def set_node_key(writer: Overlay, block: BlockContext, address: Address, public_key: bytes) -> None:
    """The keys module's narrow interface (message 43): the validator's consensus key from the
    next computed set on. Sets already fixed, and the recorded sets of past heights, keep the
    key they were computed with, which is what verifies their heights' messages."""
    record = read_validator(writer, address)
    if record is None:
        raise InvariantViolation(f"set_node_key({address}) on no validator")
    write_validator(writer, address, replace(record, public_key=public_key))
    block.changed.add(CHANGED)


def move_delegations(writer: Overlay, block: BlockContext, source: Address, target: Address) -> int:
    """The keys module's narrow interface (message 37): every bond `source` holds becomes
    `target`'s, validator by validator in key order, added to any bond `target` holds to the
    same validator; the validators' stakes do not change. The number of bonds moved."""
    prefix = keys.DELEGATION + source.raw
    moved = list(writer.scan(prefix))
    for key, _value in moved:
        validator = Address(key[len(prefix) :])
        amount = read_uint(writer, key)
        target_key = keys.delegation(target, validator)
        write_uint(writer, target_key, read_uint(writer, target_key) + amount)
        writer.delete(key)
    if moved:
        block.changed.add(CHANGED)
    return len(moved)


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
    if read_validator(writer, message.validator) is None:
        return errors.VALIDATOR_NOT_FOUND
    if read_uint(writer, keys.delegation(context.sender, message.validator)) < message.amount:
        return errors.INSUFFICIENT_DELEGATION
    completion = unbond(writer, context.block, context.sender, message.validator, message.amount)
    if completion is None:
        return errors.UNBONDING_QUEUE_FULL
    context.events.append(
        Event("unbonding", (("completion_height", completion.to_bytes(8, "big")),))
    )
    return OK


def unbonding_completion(reader: StateReader, height: int) -> int:
    """The height at whose end an unbonding started in block `height` is paid out."""
    return height + read_params(reader).unbonding_delay_blocks


def unbond(
    writer: Overlay, block: BlockContext, delegator: Address, validator: Address, amount: int
) -> int | None:
    """Start unbonding `amount` of `delegator`'s bond to `validator` (the caller has checked
    that the bond holds it). Returns the completion height, or None, having written nothing,
    if that height's queue is full. The registry's `ExitNode` uses it for a validator node."""
    record = read_validator(writer, validator)
    key = keys.delegation(delegator, validator)
    delegated = read_uint(writer, key)
    if record is None or delegated < amount:
        raise InvariantViolation(f"unbond of {amount} from {delegator} to {validator} unchecked")
    completion = queue_unbonding(writer, block, delegator, BONDED_POOL, amount)
    if completion is None:
        return None
    write_validator(
        writer,
        validator,
        ValidatorRecord(
            record.public_key,
            record.bls_public_key,
            record.bls_proof_of_possession,
            record.vrf_public_key,
            record.stake - amount,
        ),
    )
    write_uint(writer, key, delegated - amount)
    block.changed.add(CHANGED)
    return completion


def queue_unbonding(
    writer: Overlay, block: BlockContext, owner: Address, source: Address, amount: int
) -> int | None:
    """Lock `amount` GEN from the module account `source` in the unbonding pool, paid to
    `owner` at the end of the completion height (`unbonding_completion`). Returns that height,
    or None, having written nothing, if its queue is full. The registry locks a leaving node's
    stake through it, so unbonding has one queue and one payout."""
    completion = unbonding_completion(writer, block.height)
    queue = read_unbondings(writer, completion)
    if len(queue) >= constants.unbondings_per_height_max:
        return None
    check(
        move(writer, source, UNBONDING_POOL, Denom.GEN, amount) == OK,
        "the source pool holds what unbonds",
    )
    write_unbondings(writer, completion, (*queue, (owner, amount)))
    return completion


def is_jailed(reader: StateReader, address: Address) -> bool:
    return reader.get(keys.jailed(address)) is not None


def jail(writer: Overlay, block: BlockContext, address: Address) -> None:
    """Keep `address` out of every set computed from now on (it leaves at the next epoch)."""
    check(read_validator(writer, address) is not None, "jail names a registered validator")
    write_uint(writer, keys.jailed(address), block.height)
    block.changed.add(CHANGED)


def unjail(writer: Overlay, block: BlockContext, address: Address) -> None:
    """Let `address` into the sets computed from now on again (the registry's `Unjail`, after a
    jail for missed commits)."""
    check(is_jailed(writer, address), "unjail names a jailed validator")
    writer.delete(keys.jailed(address))
    block.changed.add(CHANGED)


def is_retired(reader: StateReader, address: Address) -> bool:
    return reader.get(keys.retired(address)) is not None


def retire(writer: Overlay, block: BlockContext, address: Address) -> None:
    """Keep `address` out of every set computed from now on, as `jail` does but as no
    punishment: its registry node left (`ExitNode`). Delegators may still unbond from it."""
    check(read_validator(writer, address) is not None, "retire names a registered validator")
    check(not is_retired(writer, address), "a validator retires once")
    write_uint(writer, keys.retired(address), block.height)
    block.changed.add(CHANGED)


def slash(
    writer: Overlay, block: BlockContext, address: Address, fraction_bps: int, to: Address | None
) -> int:
    """Cut `fraction_bps` / 10,000 of every delegation to `address`, floored; the GEN goes to
    `to`, or is burned if `to` is None. Returns the amount cut.

    Delegations are keyed by delegator first, so this scans the table: slashing is rare and
    each evidence is usable once (registry), which bounds how often it runs."""
    record = read_validator(writer, address)
    if record is None:
        raise InvariantViolation(f"slash names {address}, which is not a registered validator")
    check(0 <= fraction_bps <= constants.basis_points, "slash fraction within 0..10,000 bp")
    width = len(keys.DELEGATION)
    cuts = []
    for key, value in writer.scan(keys.DELEGATION):
        if key[width + 20 :] == address.raw:
            amount = decode_value(value, key)
            cuts.append((key, amount, amount * fraction_bps // constants.basis_points))
    total = sum(cut for _, _, cut in cuts)
    if total == 0:
        return 0
    for key, amount, cut in cuts:
        write_uint(writer, key, amount - cut)
    write_validator(
        writer,
        address,
        ValidatorRecord(
            record.public_key,
            record.bls_public_key,
            record.bls_proof_of_possession,
            record.vrf_public_key,
            record.stake - total,
        ),
    )
    if to is None:
        burn(writer, BONDED_POOL, Denom.GEN, total)
    else:
        check(move(writer, BONDED_POOL, to, Denom.GEN, total) == OK, "the pool holds the stake")
    block.changed.add(CHANGED)
    return total


def set_params(writer: Overlay, params: StakingParams) -> None:
    """Governance's narrow interface: new parameters, read from the next block on; the next
    epoch end recomputes the set whatever moved."""
    write_params(writer, params)
    writer.put(keys.PARAMS_CHANGED, b"")


def end_block(writer: Overlay, block: BlockContext) -> None:
    """Return matured unbondings, then rotate the validator sets."""
    matured = read_unbondings(writer, block.height)
    for delegator, amount in matured:
        # An account that migrated to hybrid keys (message 37) while unbonding can sign
        # nothing more: its unbonding is paid where its coins went.
        payee = keys_queries.migrated_to(writer, delegator) or delegator
        check(
            move(writer, UNBONDING_POOL, payee, Denom.GEN, amount) == OK,
            "the unbonding pool holds every unbonding",
        )
    if matured:
        write_unbondings(writer, block.height, ())
    after_next = writer.get(keys.SET_AFTER_NEXT)
    if after_next is None:
        raise InvariantViolation("validator sets missing from state (genesis not loaded?)")
    if writer.get(keys.SET_NEXT) != after_next:
        writer.put(keys.SET_NEXT, after_next)
    params = read_params(writer)
    # With epochs longer than one block, stakes may have moved in any block since the last
    # boundary; `changed` only covers this one, so the boundary always recomputes. So does the
    # first boundary after governance changed the parameters (`set_params`): a new
    # validators_max, or epochs shortened to one block after stakes moved mid-epoch.
    changed_params = writer.get(keys.PARAMS_CHANGED) is not None
    if params.is_epoch_end(block.height) and (
        CHANGED in block.changed or params.epoch_blocks > 1 or changed_params
    ):
        if changed_params:
            writer.delete(keys.PARAMS_CHANGED)
        members = compute_set(writer, params)
        if members:
            encoded = encode_set(members)
            if encoded != after_next:
                writer.put(keys.SET_AFTER_NEXT, encoded)
                record_set(writer, block.height + 2, encoded)


def record_set(writer: Overlay, first_height: int, encoded: bytes) -> None:
    """Keep the set that signs from `first_height` on, for the heights to come: evidence
    checks, block sync of old heights and light clients ask which set signed a height."""
    check(writer.get(keys.set_from(first_height)) is None, "a recorded set is never replaced")
    count = read_uint(writer, keys.SET_CHANGE_COUNT)
    if count:
        last = read_uint(writer, keys.set_change(count - 1))
        check(last < first_height, "set changes are recorded in height order")
    writer.put(keys.set_from(first_height), encoded)
    write_uint(writer, keys.set_change(count), first_height)
    write_uint(writer, keys.SET_CHANGE_COUNT, count + 1)


def compute_set(reader: StateReader, params: StakingParams) -> tuple[SetMember, ...]:
    """The set the current stakes call for (empty if no unjailed validator has a whole GEN
    bonded)."""
    candidates = []
    for key, value in reader.scan(keys.VALIDATOR):
        record = decode_validator(value, key)
        address = Address(key[len(keys.VALIDATOR) :])
        if record.power > 0 and not (is_jailed(reader, address) or is_retired(reader, address)):
            candidates.append((address, record))
    candidates.sort(key=lambda item: (-item[1].power, item[0]))
    chosen = sorted(candidates[: params.validators_max], key=lambda item: item[0])
    return tuple(
        SetMember(
            address, record.power, record.public_key, record.bls_public_key, record.vrf_public_key
        )
        for address, record in chosen
    )
