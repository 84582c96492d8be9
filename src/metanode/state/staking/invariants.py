"""staking invariants, named, checked after every block in tests.

- `pools_match_records`: the bonded pool holds exactly the sum of validator stakes, which is
  the sum of delegations, and each validator's stake is the sum of delegations to it; the
  unbonding pool holds exactly the sum of pending unbondings.
- `sets_are_well_formed`: both stored sets are non-empty, sorted by address, of positive
  power, no larger than `validators_max`, and their members are registered validators.
- `history_matches_sets`: the recorded set history gives, for the next two heights, the two
  sets the next header commits to.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.bank.accounts import read_account
from metanode.state.genesis.chain import read_tip
from metanode.state.staking import keys
from metanode.state.staking.queries import next_validator_set, validator_set, validator_set_at
from metanode.state.staking.records import (
    decode_validator,
    read_params,
    read_uint,
    read_unbondings,
    read_validator,
)
from metanode.state.staking.rules import BONDED_POOL, UNBONDING_POOL
from metanode.state.values import decode_value
from metanode.state.view import StateReader
from metanode.types import Address, Denom


def pools_match_records(reader: StateReader) -> None:
    stakes: dict[bytes, int] = {}
    for key, value in reader.scan(keys.VALIDATOR):
        stakes[key[len(keys.VALIDATOR) :]] = decode_validator(value, key).stake
    delegated: dict[bytes, int] = {}
    width = len(keys.DELEGATION)
    for key, value in reader.scan(keys.DELEGATION):
        amount = decode_value(value, key)
        check(type(amount) is int and amount > 0, f"delegation {key.hex()} is not positive")
        validator = key[width + 20 :]
        delegated[validator] = delegated.get(validator, 0) + amount
    for validator, stake in stakes.items():
        check(
            delegated.get(validator, 0) == stake,
            f"staking.pools_match_records: validator {validator.hex()} has stake {stake}, "
            f"delegations {delegated.get(validator, 0)}",
        )
    check(
        set(delegated) <= set(stakes),
        "staking.pools_match_records: a delegation names an unregistered validator",
    )
    bonded = read_account(reader, BONDED_POOL).balance(Denom.GEN)
    check(
        bonded == sum(stakes.values()),
        f"staking.pools_match_records: bonded pool {bonded} != stakes {sum(stakes.values())}",
    )
    pending = 0
    for key, _value in reader.scan(keys.UNBONDING):
        height = int.from_bytes(key[len(keys.UNBONDING) :], "big")
        pending += sum(amount for _, amount in read_unbondings(reader, height))
    unbonding = read_account(reader, UNBONDING_POOL).balance(Denom.GEN)
    check(
        unbonding == pending,
        f"staking.pools_match_records: unbonding pool {unbonding} != pending {pending}",
    )
    check(
        read_uint(reader, keys.VALIDATOR_COUNT) == len(stakes),
        "staking.pools_match_records: validator count does not match the records",
    )


def sets_are_well_formed(reader: StateReader) -> None:
    seats = read_params(reader).validators_max
    for members in (validator_set(reader), next_validator_set(reader)):
        addresses = [member.address for member in members]
        check(bool(members), "staking.sets_are_well_formed: an empty validator set")
        check(len(members) <= seats, "staking.sets_are_well_formed: more members than seats")
        check(
            addresses == sorted(set(addresses)),
            "staking.sets_are_well_formed: set not sorted by address or has a duplicate",
        )
        for member in members:
            check(member.power > 0, "staking.sets_are_well_formed: a member without power")
            record = read_validator(reader, Address(member.address.raw))
            check(
                record is not None and record.bls_public_key == member.bls_public_key,
                f"staking.sets_are_well_formed: {member.address} is not registered as stored",
            )


def history_matches_sets(reader: StateReader) -> None:
    """The recorded history answers what the header commitments say for the next two heights."""
    tip, _time = read_tip(reader)
    check(
        validator_set_at(reader, tip + 1) == validator_set(reader)
        and validator_set_at(reader, tip + 2) == next_validator_set(reader),
        "staking.history_matches_sets: the set history disagrees with the sets in force",
    )


INVARIANTS = (pools_match_records, sets_are_well_formed, history_matches_sets)
