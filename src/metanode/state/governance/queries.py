"""governance queries: read-only. `tally` is also the rule's tally at the end of a voting
period (rules.py), so what a client reads during the period is what the chain will count if
nothing changes.

Voting power (as x/gov): GEN bonded in staking to an unjailed validator, at tally time. Each
delegation counts once: with its delegator's vote if the delegator voted, else with its
validator's vote (the validator's own account voting) if the validator voted, else not at all.
A validator's self-bond is its own delegation. Registry stake (non-validator nodes) and
unbonding GEN do not vote.
"""

from __future__ import annotations

from collections.abc import Iterator

from metanode.state.governance import keys
from metanode.state.governance.records import (
    GovernanceParams,
    ProposalRecord,
    Tally,
    proposal_from_wire,
    read_option,
    read_params,
    read_proposal,
    read_upgrade,
)
from metanode.state.staking import keys as staking_keys
from metanode.state.staking.records import read_uint, read_validator
from metanode.state.staking.rules import is_jailed
from metanode.state.values import decode_value
from metanode.state.view import StateReader
from metanode.types import Address, VoteOption


def params(reader: StateReader) -> GovernanceParams:
    return read_params(reader)


def proposal(reader: StateReader, proposal_id: int) -> ProposalRecord | None:
    return read_proposal(reader, proposal_id)


def proposals(reader: StateReader, after: int = 0) -> Iterator[ProposalRecord]:
    """Every proposal with an id above `after`, by id."""
    for key, value in reader.scan(keys.PROPOSAL):
        if keys.id_of(key, keys.PROPOSAL) > after:
            yield proposal_from_wire(decode_value(value, key), key)


def open_ids(reader: StateReader) -> list[int]:
    """Ids of the open proposals (deposit or voting period, or passed awaiting execution)."""
    return [keys.id_of(key, keys.OPEN) for key, _value in reader.scan(keys.OPEN)]


def deposits(reader: StateReader, proposal_id: int) -> list[tuple[Address, int]]:
    """(depositor, GEN) of an open proposal, by depositor; empty once it closed."""
    return [
        (keys.address_of(key, keys.DEPOSIT), read_uint(reader, key))
        for key, _value in reader.scan(keys.deposits_of(proposal_id))
    ]


def votes(reader: StateReader, proposal_id: int) -> list[tuple[Address, VoteOption]]:
    """(voter, option) cast so far, by voter; empty once the proposal is tallied."""
    return [
        (keys.address_of(key, keys.VOTE), read_option(value, key))
        for key, value in reader.scan(keys.votes_of(proposal_id))
    ]


def has_bonded_stake(reader: StateReader, voter: Address) -> bool:
    """Whether `voter` has a delegation, or is a validator with stake bonded to it: the
    accounts whose vote can carry power (so the votes of a proposal stay bounded)."""
    for _key, _value in reader.scan(staking_keys.DELEGATION + voter.raw):
        return True
    validator = read_validator(reader, voter)
    return validator is not None and validator.stake > 0


def tally(reader: StateReader, proposal_id: int) -> Tally:
    """The tally of the votes cast so far, weighted by stake bonded now (module docstring)."""
    cast = dict(votes(reader, proposal_id))
    counted = {option: 0 for option in VoteOption}
    bonded = 0
    jailed: dict[bytes, bool] = {}
    width = len(staking_keys.DELEGATION)
    for key, value in reader.scan(staking_keys.DELEGATION):
        delegator, validator = Address(key[width : width + 20]), Address(key[width + 20 :])
        if jailed.setdefault(validator.raw, is_jailed(reader, validator)):
            continue
        amount = decode_value(value, key)
        bonded += amount
        option = cast.get(delegator, cast.get(validator))
        if option is not None:
            counted[option] += amount
    return Tally(
        counted[VoteOption.YES],
        counted[VoteOption.ABSTAIN],
        counted[VoteOption.NO],
        counted[VoteOption.VETO],
        bonded,
    )


def upgrade(reader: StateReader) -> tuple[str, int, int] | None:
    """The last software upgrade signal that passed: (name, height, proposal id)."""
    return read_upgrade(reader)
