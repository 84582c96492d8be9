"""The notary committee: who may sign a LogBlock, with what power. One function, so that when
the registry has notary nodes it alone decides, and the rules never ask twice.

Rule: the active registry nodes with the notary role, each with its registry voting power
(state/registry/queries.py), the `notary_committee_max` most powerful (address breaks ties);
while the registry has fewer than `notary_committee_min` of them, the validator set that signs
the next block, with its consensus power. Members are ordered by address: bit i of a
LogBlock's signer bitmap is member i.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.state.registry import queries as registry
from metanode.state.registry.records import Status
from metanode.state.staking import queries as staking
from metanode.state.view import StateReader
from metanode.types import Address, Role
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class Member:
    address: Address
    bls_public_key: bytes
    power: int


def notary_committee(reader: StateReader) -> tuple[Member, ...]:
    params = registry.params(reader)
    notaries = [
        Member(
            address,
            record.bls_public_key,
            registry.voting_power(params, registry.node_stake(reader, address, record), record),
        )
        for address, record in registry.nodes(reader)
        if Role.NOTARY in record.roles and record.status is Status.ACTIVE
    ]
    if len(notaries) < types_constants.notary_committee_min:
        notaries = [
            Member(member.address, member.bls_public_key, member.power)
            for member in staking.validator_set(reader)
        ]
    strongest = sorted(notaries, key=lambda member: (-member.power, member.address.raw))
    return tuple(
        sorted(
            strongest[: types_constants.notary_committee_max],
            key=lambda member: member.address.raw,
        )
    )


def quorum_reached(signed_power: int, total_power: int) -> bool:
    """ceil(2n/3) of the committee's power, as consensus counts a quorum."""
    return total_power > 0 and 3 * signed_power >= 2 * total_power
