"""governance's stored records: parameters, proposals, deposits and votes, each with its
encoder and strict decoder (a stored value of the wrong shape is a bug).

A proposal's life (`Status`): DEPOSIT_PERIOD until its deposit reaches `min_deposit` (then
VOTING_PERIOD) or its deposit period ends (EXPIRED); at the end of its voting period the tally
makes it PASSED (awaiting execution), REJECTED, VETOED or NO_QUORUM; a PASSED proposal runs at
the next end of block and becomes EXECUTED or EXECUTION_FAILED (its effect could no longer
apply: the treasury spent meanwhile, the node changed). Closed proposals keep their record and
final tally; their votes and deposits are gone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from metanode.errors import DecodeError, InvariantViolation, check
from metanode.state import constants
from metanode.state.governance import keys
from metanode.state.values import decode_array, decode_uints, decode_value, encode_value, in_ranges
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, ProposalContent, VoteOption
from metanode.types import constants as types_constants
from metanode.types.messages import content_from_wire, content_to_wire

COIN = constants.base_units_per_coin


class Status(enum.IntEnum):
    DEPOSIT_PERIOD = 1
    VOTING_PERIOD = 2
    PASSED = 3  # tallied, executes at the next end of block
    REJECTED = 4  # deposit refunded
    VETOED = 5  # deposit burned
    NO_QUORUM = 6  # deposit burned
    EXECUTED = 7
    EXECUTION_FAILED = 8
    EXPIRED = 9  # deposit period ended below min_deposit; deposit burned

    @property
    def is_open(self) -> bool:
        return self in (Status.DEPOSIT_PERIOD, Status.VOTING_PERIOD, Status.PASSED)


@dataclass(frozen=True, slots=True)
class GovernanceParams:
    # GEN a proposal's deposit must reach before its voting period starts.
    min_deposit: int = 1_000 * COIN
    # The share of min_deposit (basis points) its submitter must put up at once: a proposal
    # nobody funds costs its submitter something (x/gov's min_initial_deposit_ratio).
    min_initial_deposit_bps: int = 2_500
    deposit_period_blocks: int = 20_000
    voting_period_blocks: int = 20_000
    # x/gov's defaults: 33.4% of bonded stake must vote, more than half of the non-abstaining
    # power must say yes, and more than 33.4% of all votes cast vetoing rejects and burns.
    quorum_bps: int = 3_340
    threshold_bps: int = 5_000
    veto_threshold_bps: int = 3_340

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "min_deposit": (1, constants.supply_max),
        "min_initial_deposit_bps": (0, constants.basis_points),
        "deposit_period_blocks": (1, constants.governance_period_blocks_max),
        "voting_period_blocks": (1, constants.governance_period_blocks_max),
        "quorum_bps": (0, constants.basis_points),
        "threshold_bps": (0, constants.basis_points),
        "veto_threshold_bps": (0, constants.basis_points),
    }

    def __post_init__(self) -> None:
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"governance parameters: {problem}")

    def to_wire(self) -> list[int]:
        return [getattr(self, field) for field in self.RANGES]

    @property
    def min_initial_deposit(self) -> int:
        # Ceiling: a ratio above 0 never rounds down to a free proposal.
        return -(-self.min_deposit * self.min_initial_deposit_bps // constants.basis_points)


@dataclass(frozen=True, slots=True)
class Tally:
    """Bonded GEN (base units) behind each option, and all bonded GEN counted."""

    yes: int = 0
    abstain: int = 0
    no: int = 0
    veto: int = 0
    bonded: int = 0

    def to_wire(self) -> list[int]:
        return [self.yes, self.abstain, self.no, self.veto, self.bonded]

    @property
    def voted(self) -> int:
        return self.yes + self.abstain + self.no + self.veto


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    id: int
    proposer: Address
    title: str
    content: ProposalContent
    status: Status
    submit_height: int
    deposit_end_height: int
    voting_start_height: int  # 0 until the voting period starts
    voting_end_height: int  # 0 until then; the tally runs at the end of this block
    total_deposit: int  # GEN held for it in `governance/deposits` while it is open
    tally: Tally  # the final tally once tallied, zeros before
    tally_height: int  # 0 until tallied

    def to_wire(self) -> list[object]:
        return [
            self.id,
            self.proposer.raw,
            self.title,
            content_to_wire(self.content),
            int(self.status),
            self.submit_height,
            self.deposit_end_height,
            self.voting_start_height,
            self.voting_end_height,
            self.total_deposit,
            self.tally.to_wire(),
            self.tally_height,
        ]


def _uint(value: object, key: bytes) -> int:
    check(type(value) is int and 0 <= value <= constants.uint64_max, f"{key.hex()}: not a uint")
    return value  # type: ignore[return-value]


def read_params(reader: StateReader) -> GovernanceParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "governance parameters missing from state (genesis not loaded?)")
    return GovernanceParams(*decode_uints(data, keys.PARAMS, len(GovernanceParams.RANGES)))  # type: ignore[arg-type]


def write_params(writer: Overlay, params: GovernanceParams) -> None:
    writer.put(keys.PARAMS, encode_value(params.to_wire()))


def proposal_from_wire(value: object, key: bytes) -> ProposalRecord:
    check(type(value) is tuple and len(value) == 12, f"proposal at {key.hex()} is malformed")
    (
        proposal_id,
        proposer,
        title,
        content,
        status,
        submitted,
        deposit_end,
        voting_start,
        voting_end,
        total,
        tally,
        tally_height,
    ) = value  # type: ignore[misc]
    check(
        type(proposer) is bytes
        and len(proposer) == types_constants.address_bytes
        and type(title) is str
        and _uint(status, key) in set(Status)
        and type(tally) is tuple
        and len(tally) == 5,
        f"proposal at {key.hex()} is malformed",
    )
    try:
        decoded = content_from_wire(content, "stored proposal content")
    except DecodeError as error:
        raise InvariantViolation(f"proposal at {key.hex()}: {error}") from error
    return ProposalRecord(
        _uint(proposal_id, key),
        Address(proposer),
        title,
        decoded,
        Status(status),
        _uint(submitted, key),
        _uint(deposit_end, key),
        _uint(voting_start, key),
        _uint(voting_end, key),
        _uint(total, key),
        Tally(*(_uint(item, key) for item in tally)),
        _uint(tally_height, key),
    )


def read_proposal(reader: StateReader, proposal_id: int) -> ProposalRecord | None:
    key = keys.proposal(proposal_id)
    data = reader.get(key)
    return None if data is None else proposal_from_wire(decode_value(data, key), key)


def write_proposal(writer: Overlay, record: ProposalRecord) -> None:
    writer.put(keys.proposal(record.id), encode_value(record.to_wire()))
    if record.status.is_open:
        writer.put(keys.open_marker(record.id), b"")
    else:
        writer.delete(keys.open_marker(record.id))


def read_option(data: bytes, key: bytes) -> VoteOption:
    option = _uint(decode_value(data, key), key)
    check(option in set(VoteOption), f"vote at {key.hex()}: unknown option {option}")
    return VoteOption(option)


def read_upgrade(reader: StateReader) -> tuple[str, int, int] | None:
    """The last software upgrade signal that passed: (name, height, proposal id)."""
    data = reader.get(keys.UPGRADE)
    if data is None:
        return None
    name, height, proposal_id = decode_array(data, keys.UPGRADE, 3)
    check(type(name) is str, "governance upgrade signal is malformed")
    return name, _uint(height, keys.UPGRADE), _uint(proposal_id, keys.UPGRADE)  # type: ignore[return-value]


def write_upgrade(writer: Overlay, name: str, height: int, proposal_id: int) -> None:
    writer.put(keys.UPGRADE, encode_value([name, height, proposal_id]))
