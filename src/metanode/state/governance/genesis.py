"""governance genesis: parameters, proposals, deposits, votes, the next id and the last upgrade
signal, in and out (round-trip tested in tests/state/test_governance.py), with the genesis
file's `governance` section.

Deposits at genesis are newly created GEN credited to `governance/deposits`, which bank's
`finish_genesis` counts into the supply. The loader checks what keeps state consistent: ids
are unique and below the next id, each deposit and vote belongs to a proposal that may hold
one, each open proposal's total is the sum of its deposits, and every parameter change names a
parameter of the closed list with a value its module accepts. Import runs after identity's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from metanode.errors import DecodeError
from metanode.state import constants
from metanode.state.bank.rules import credit
from metanode.state.codes import OK
from metanode.state.genesis.fields import (
    address,
    boolean,
    enum_member,
    fail,
    listed,
    name,
    ranged_params,
    table,
    uint,
)
from metanode.state.governance import keys
from metanode.state.governance.parameters import Parameter, check_change, name_of
from metanode.state.governance.queries import deposits, proposals, votes
from metanode.state.governance.records import (
    GovernanceParams,
    ProposalRecord,
    Status,
    Tally,
    read_params,
    read_upgrade,
    write_params,
    write_proposal,
    write_upgrade,
)
from metanode.state.governance.rules import DEPOSITS_POOL
from metanode.state.staking.records import read_uint, write_uint
from metanode.state.view import Overlay, StateReader
from metanode.types import (
    Address,
    AuthorityChange,
    Denom,
    ParameterChange,
    ParameterChanges,
    ProposalContent,
    SoftwareUpgrade,
    TreasurySpend,
    VoteOption,
)
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class GovernanceGenesis:
    params: GovernanceParams = field(default_factory=GovernanceParams)
    proposals: tuple[ProposalRecord, ...] = ()  # by id
    deposits: tuple[tuple[int, Address, int], ...] = ()  # (id, depositor, GEN), sorted
    votes: tuple[tuple[int, Address, VoteOption], ...] = ()  # (id, voter, option), sorted
    next_id: int = 1
    upgrade: tuple[str, int, int] | None = None  # (name, height, proposal id)

    def to_wire(self) -> list[Any]:
        return [
            self.params.to_wire(),
            [record.to_wire() for record in self.proposals],
            [[i, depositor.raw, amount] for i, depositor, amount in self.deposits],
            [[i, voter.raw, int(option)] for i, voter, option in self.votes],
            self.next_id,
            [] if self.upgrade is None else list(self.upgrade),
        ]


def import_genesis(writer: Overlay, genesis: GovernanceGenesis) -> None:
    write_params(writer, genesis.params)
    for record in genesis.proposals:
        write_proposal(writer, record)
    for proposal_id, depositor, amount in genesis.deposits:
        write_uint(writer, keys.deposit(proposal_id, depositor), amount)
        credit(writer, DEPOSITS_POOL, Denom.GEN, amount)
    for proposal_id, voter, option in genesis.votes:
        write_uint(writer, keys.vote(proposal_id, voter), int(option))
    write_uint(writer, keys.NEXT_ID, genesis.next_id)
    if genesis.upgrade is not None:
        write_upgrade(writer, *genesis.upgrade)


def export_genesis(reader: StateReader) -> GovernanceGenesis:
    records = tuple(proposals(reader))
    held = tuple(
        (record.id, depositor, amount)
        for record in records
        for depositor, amount in deposits(reader, record.id)
    )
    cast = tuple(
        (record.id, voter, option)
        for record in records
        for voter, option in votes(reader, record.id)
    )
    return GovernanceGenesis(
        read_params(reader),
        records,
        held,
        cast,
        max(read_uint(reader, keys.NEXT_ID), 1),
        read_upgrade(reader),
    )


# The genesis file's `governance` section.
_KINDS = {
    ParameterChanges: "parameter_change",
    TreasurySpend: "treasury_spend",
    AuthorityChange: "authority_change",
    SoftwareUpgrade: "software_upgrade",
}
_TALLY_FIELDS = tuple(item.name for item in fields(Tally))


def _content_json(content: ProposalContent) -> dict[str, Any]:
    tree: dict[str, Any] = {"kind": _KINDS[type(content)]}
    if isinstance(content, ParameterChanges):
        tree["changes"] = [
            {"parameter": name_of(Parameter(c.parameter)), "value": str(c.value)}
            for c in content.changes
        ]
    elif isinstance(content, TreasurySpend):
        tree |= {
            "recipient": str(content.recipient),
            "amount": str(content.amount),
            "denom": content.denom.name,
        }
    elif isinstance(content, AuthorityChange):
        tree |= {"node": str(content.node), "enabled": content.enabled}
    else:
        tree |= {"name": content.name, "height": content.height}
    return tree


def _proposal_json(record: ProposalRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "proposer": str(record.proposer),
        "title": record.title,
        "content": _content_json(record.content),
        "status": name(record.status),
        "submit_height": record.submit_height,
        "deposit_end_height": record.deposit_end_height,
        "voting_start_height": record.voting_start_height,
        "voting_end_height": record.voting_end_height,
        "total_deposit": str(record.total_deposit),
        "tally": {item: str(getattr(record.tally, item)) for item in _TALLY_FIELDS},
        "tally_height": record.tally_height,
    }


def to_json(genesis: GovernanceGenesis) -> dict[str, Any]:
    tree: dict[str, Any] = {
        "parameters": {
            item: str(value)
            for item, value in zip(GovernanceParams.RANGES, genesis.params.to_wire(), strict=True)
        },
        "next_proposal_id": genesis.next_id,
        "proposals": [_proposal_json(record) for record in genesis.proposals],
        "deposits": [
            {"proposal_id": i, "depositor": str(depositor), "amount": str(amount)}
            for i, depositor, amount in genesis.deposits
        ],
        "votes": [
            {"proposal_id": i, "voter": str(voter), "option": name(option)}
            for i, voter, option in genesis.votes
        ],
    }
    if genesis.upgrade is not None:
        upgrade_name, height, proposal_id = genesis.upgrade
        tree["upgrade"] = {"name": upgrade_name, "height": height, "proposal_id": proposal_id}
    return tree


def _text(value: Any, path: str, maximum: int) -> str:
    if not isinstance(value, str) or not value or len(value.encode()) > maximum:
        raise fail(path, f"must be text of 1..{maximum} bytes")
    return value


def _content(value: Any, path: str) -> ProposalContent:
    kinds = {text: kind for kind, text in _KINDS.items()}
    kind_name = table(
        value,
        path,
        {"kind", "changes", "recipient", "amount", "denom", "node", "enabled", "name", "height"},
        {"kind"},
    )["kind"]
    if kind_name not in kinds:
        raise fail(f"{path}.kind", f"must be one of {', '.join(kinds)}, got {kind_name!r}")
    kind = kinds[kind_name]
    if kind is ParameterChanges:
        tree = table(value, path, {"kind", "changes"}, {"changes"})
        names = {name_of(parameter): parameter for parameter in Parameter}
        changes = []
        entries = listed(tree["changes"], f"{path}.changes", types_constants.parameter_changes_max)
        for index, entry in enumerate(entries):
            where = f"{path}.changes[{index}]"
            item = table(entry, where, {"parameter", "value"}, {"parameter", "value"})
            if item["parameter"] not in names:
                raise fail(f"{where}.parameter", f"must be one of {', '.join(names)}")
            parameter = names[item["parameter"]]
            change = ParameterChange(int(parameter), uint(item["value"], f"{where}.value"))
            if check_change(change.parameter, change.value) != OK:
                raise fail(f"{where}.value", "is outside the range its module accepts")
            changes.append(change)
        if not changes or [c.parameter for c in changes] != sorted({c.parameter for c in changes}):
            raise fail(f"{path}.changes", "needs distinct parameters, in the list's order")
        return ParameterChanges(tuple(changes))
    if kind is TreasurySpend:
        tree = table(
            value, path, {"kind", "recipient", "amount", "denom"}, {"recipient", "amount", "denom"}
        )
        try:
            denom = Denom.parse(tree["denom"]) if isinstance(tree["denom"], str) else None
        except DecodeError:
            denom = None
        if denom is None:
            raise fail(f"{path}.denom", "must be GEN, NEX, FLX or AUR")
        return TreasurySpend(
            address(tree["recipient"], f"{path}.recipient"),
            uint(tree["amount"], f"{path}.amount"),
            denom,
        )
    if kind is AuthorityChange:
        tree = table(value, path, {"kind", "node", "enabled"}, {"node", "enabled"})
        return AuthorityChange(
            address(tree["node"], f"{path}.node"), boolean(tree["enabled"], f"{path}.enabled")
        )
    tree = table(value, path, {"kind", "name", "height"}, {"name", "height"})
    return SoftwareUpgrade(
        _text(tree["name"], f"{path}.name", types_constants.upgrade_name_bytes_max),
        uint(tree["height"], f"{path}.height"),
    )


_PROPOSAL_FIELDS = {
    "id",
    "proposer",
    "title",
    "content",
    "status",
    "submit_height",
    "deposit_end_height",
    "voting_start_height",
    "voting_end_height",
    "total_deposit",
    "tally",
    "tally_height",
}


def _proposal(value: Any, path: str) -> ProposalRecord:
    item = table(value, path, _PROPOSAL_FIELDS, {"id", "proposer", "title", "content", "status"})
    tally_tree = table(item.get("tally", {}), f"{path}.tally", set(_TALLY_FIELDS), set())
    proposal_id = uint(item["id"], f"{path}.id")
    if proposal_id == 0:
        raise fail(f"{path}.id", "ids start at 1")
    return ProposalRecord(
        proposal_id,
        address(item["proposer"], f"{path}.proposer"),
        _text(item["title"], f"{path}.title", types_constants.proposal_title_bytes_max),
        _content(item["content"], f"{path}.content"),
        enum_member(Status, item["status"], f"{path}.status"),
        uint(item.get("submit_height", 0), f"{path}.submit_height"),
        uint(item.get("deposit_end_height", 0), f"{path}.deposit_end_height"),
        uint(item.get("voting_start_height", 0), f"{path}.voting_start_height"),
        uint(item.get("voting_end_height", 0), f"{path}.voting_end_height"),
        uint(item.get("total_deposit", 0), f"{path}.total_deposit"),
        Tally(*(uint(tally_tree.get(f, 0), f"{path}.tally.{f}") for f in _TALLY_FIELDS)),
        uint(item.get("tally_height", 0), f"{path}.tally_height"),
    )


def from_json(value: Any) -> GovernanceGenesis:
    path = "governance"
    tree = table(
        value,
        path,
        {"parameters", "next_proposal_id", "proposals", "deposits", "votes", "upgrade"},
        set(),
    )
    params = ranged_params(GovernanceParams, tree.get("parameters", {}), f"{path}.parameters")
    records: dict[int, ProposalRecord] = {}
    entries = listed(tree.get("proposals", []), f"{path}.proposals", constants.genesis_accounts_max)
    for index, entry in enumerate(entries):
        record = _proposal(entry, f"{path}.proposals[{index}]")
        if record.id in records:
            raise fail(f"{path}.proposals[{index}].id", f"{record.id} appears twice")
        records[record.id] = record
    if (
        sum(record.status.is_open for record in records.values())
        > constants.governance_open_proposals_max
    ):
        raise fail(f"{path}.proposals", f"more than {constants.governance_open_proposals_max} open")
    next_id = uint(
        tree.get("next_proposal_id", max(records, default=0) + 1), f"{path}.next_proposal_id"
    )
    if next_id <= max(records, default=0):
        raise fail(f"{path}.next_proposal_id", "must be above every proposal id")
    held = _deposits(tree, path, records)
    cast = _votes(tree, path, records)
    upgrade = None
    if "upgrade" in tree:
        where = f"{path}.upgrade"
        item = table(
            tree["upgrade"],
            where,
            {"name", "height", "proposal_id"},
            {"name", "height", "proposal_id"},
        )
        upgrade = (
            _text(item["name"], f"{where}.name", types_constants.upgrade_name_bytes_max),
            uint(item["height"], f"{where}.height"),
            uint(item["proposal_id"], f"{where}.proposal_id"),
        )
    return GovernanceGenesis(
        params, tuple(records[i] for i in sorted(records)), held, cast, max(next_id, 1), upgrade
    )


def _deposits(
    tree: dict[str, Any], path: str, records: dict[int, ProposalRecord]
) -> tuple[tuple[int, Address, int], ...]:
    held: dict[tuple[int, Address], int] = {}
    entries = listed(tree.get("deposits", []), f"{path}.deposits", constants.genesis_accounts_max)
    for index, entry in enumerate(entries):
        where = f"{path}.deposits[{index}]"
        item = table(
            entry,
            where,
            {"proposal_id", "depositor", "amount"},
            {"proposal_id", "depositor", "amount"},
        )
        proposal_id = uint(item["proposal_id"], f"{where}.proposal_id")
        record = records.get(proposal_id)
        if record is None or record.status not in (Status.DEPOSIT_PERIOD, Status.VOTING_PERIOD):
            raise fail(f"{where}.proposal_id", "names no proposal in its deposit or voting period")
        depositor = address(item["depositor"], f"{where}.depositor")
        amount = uint(item["amount"], f"{where}.amount")
        if amount == 0 or (proposal_id, depositor) in held:
            raise fail(where, "a deposit is positive and listed once per depositor")
        held[proposal_id, depositor] = amount
    for record in records.values():
        total = sum(amount for (i, _), amount in held.items() if i == record.id)
        holds = record.status in (Status.DEPOSIT_PERIOD, Status.VOTING_PERIOD)
        if total != (record.total_deposit if holds else 0):
            raise fail(
                f"{path}.proposals",
                f"proposal {record.id}'s total_deposit is not its deposits' sum",
            )
    return tuple((i, depositor, amount) for (i, depositor), amount in sorted(held.items()))


def _votes(
    tree: dict[str, Any], path: str, records: dict[int, ProposalRecord]
) -> tuple[tuple[int, Address, VoteOption], ...]:
    cast: dict[tuple[int, Address], VoteOption] = {}
    entries = listed(tree.get("votes", []), f"{path}.votes", constants.genesis_accounts_max)
    for index, entry in enumerate(entries):
        where = f"{path}.votes[{index}]"
        item = table(
            entry, where, {"proposal_id", "voter", "option"}, {"proposal_id", "voter", "option"}
        )
        proposal_id = uint(item["proposal_id"], f"{where}.proposal_id")
        record = records.get(proposal_id)
        if record is None or record.status is not Status.VOTING_PERIOD:
            raise fail(f"{where}.proposal_id", "names no proposal in its voting period")
        voter = address(item["voter"], f"{where}.voter")
        if (proposal_id, voter) in cast:
            raise fail(where, "the same voter appears twice")
        cast[proposal_id, voter] = enum_member(VoteOption, item["option"], f"{where}.option")
    return tuple((i, voter, option) for (i, voter), option in sorted(cast.items()))
