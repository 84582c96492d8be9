"""The gateway's governance reads, and the validator set by height that governance's epoch
changes show in.

`GET /api/v1/proposals?status=S&after=ID&limit=N` answers at most `limit` proposals with ids
above `after` (and status S, if given), in id order, and `next`: the cursor of the following
page, or null on the last. `GET /api/v1/proposals/{id}` answers one, with its live tally during
the voting period; `…/votes` the votes cast so far, paged by voter address the same way.
`GET /api/v1/validators?height=H` answers the set that signs block H, from the recorded set
changes (any height from 1 to the one after next; default: the next block).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Query

from metanode.node.node import Node
from metanode.state.governance import queries
from metanode.state.governance.parameters import Parameter, name_of
from metanode.state.governance.records import ProposalRecord, Status, Tally
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.records import SetMember, encode_set, set_hash
from metanode.state.view import StateReader
from metanode.types import (
    Address,
    AppContainment,
    AuthorityChange,
    ParameterChanges,
    ProposalContent,
    TreasurySpend,
    VoteOption,
)

from . import problems, schemas
from .registry import ADDRESS_PARAMETER, parse_address

page_items_max = 100
ProposalId = Annotated[int, Path(ge=1, le=2**63)]
Limit = Annotated[int, Query(ge=1, le=page_items_max)]


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/proposals", response_model=schemas.ProposalPage)
    async def proposal_list(
        status: schemas.ProposalStatusName | None = None,
        after: Annotated[int, Query(ge=0, le=2**63)] = 0,
        limit: Limit = 50,
    ) -> schemas.ProposalPage:
        """Proposals in id order, `limit` at a time after the id `after`, of one status if
        `status` is given."""
        state = node.store.state()
        wanted = None if status is None else Status[status.upper()]
        found = list(
            itertools.islice(
                (
                    record
                    for record in queries.proposals(state.reader, after)
                    if wanted is None or record.status is wanted
                ),
                limit + 1,
            )
        )
        return schemas.ProposalPage(
            height=state.height,
            proposals=[_view(state.reader, record) for record in found[:limit]],
            next=found[limit - 1].id if len(found) > limit else None,
        )

    @routes.get("/api/v1/proposals/{proposal_id}", response_model=schemas.ProposalView)
    async def proposal(proposal_id: ProposalId) -> schemas.ProposalView:
        """One proposal: content, status, deposit, tally so far, voting end and result."""
        state = node.store.state()
        return _view(state.reader, _read(state.reader, proposal_id))

    @routes.get("/api/v1/proposals/{proposal_id}/votes", response_model=schemas.VotePage)
    async def proposal_votes(
        proposal_id: ProposalId,
        after: Annotated[str | None, Query(**ADDRESS_PARAMETER)] = None,
        limit: Limit = 50,
    ) -> schemas.VotePage:
        """The votes cast so far, by voter address, `limit` at a time after `after`."""
        start = None if after is None else parse_address(after)
        state = node.store.state()
        _read(state.reader, proposal_id)
        found = list(itertools.islice(_votes_after(state.reader, proposal_id, start), limit + 1))
        page = [
            schemas.VoteView(voter=str(voter), option=option.name.lower())  # type: ignore[arg-type]
            for voter, option in found[:limit]
        ]
        return schemas.VotePage(
            height=state.height,
            proposal_id=proposal_id,
            votes=page,
            next=page[-1].voter if len(found) > limit else None,
        )

    @routes.get("/api/v1/validators", response_model=schemas.ValidatorsView)
    async def validators(
        height: Annotated[int | None, Query(ge=1, le=2**63)] = None,
    ) -> schemas.ValidatorsView:
        """The validator set that signs block `height` (default: the next block)."""
        state = node.store.state()
        at = state.height + 1 if height is None else height
        start = staking_queries.set_start(state.reader, at)
        members = staking_queries.validator_set_at(state.reader, at)
        if start is None or members is None:
            raise problems.Problem(
                404,
                "validator-set-not-fixed",
                "No validator set for that height yet",
                f"the chain is at {state.height}; sets are fixed up to height {state.height + 2}",
            )
        return schemas.ValidatorsView(
            height=at,
            total_power=sum(member.power for member in members),
            set_hash=set_hash(encode_set(members)).hex(),
            set_since=start,
            epoch_blocks=staking_queries.params(state.reader).epoch_blocks,
            validators=validator_views(members),
        )

    return routes


def validator_views(members: tuple[SetMember, ...]) -> list[schemas.ValidatorView]:
    return [
        schemas.ValidatorView(
            address=str(member.address),
            power=member.power,
            public_key=member.public_key.hex(),
            bls_public_key=member.bls_public_key.hex(),
            vrf_public_key=member.vrf_public_key.hex(),
        )
        for member in members
    ]


def _read(reader: StateReader, proposal_id: int) -> ProposalRecord:
    record = queries.proposal(reader, proposal_id)
    if record is None:
        raise problems.Problem(
            404, "proposal-not-found", "No such proposal", f"no proposal has id {proposal_id}"
        )
    return record


def _votes_after(
    reader: StateReader, proposal_id: int, after: Address | None
) -> Iterator[tuple[Address, VoteOption]]:
    for voter, option in queries.votes(reader, proposal_id):
        if after is None or voter.raw > after.raw:
            yield voter, option


def _view(reader: StateReader, record: ProposalRecord) -> schemas.ProposalView:
    live = record.status is Status.VOTING_PERIOD
    decided = not live and record.status is not Status.DEPOSIT_PERIOD
    result = queries.tally(reader, record.id) if live else record.tally
    return schemas.ProposalView(
        id=record.id,
        proposer=str(record.proposer),
        title=record.title,
        content=content_view(record.content),
        status=record.status.name.lower(),  # type: ignore[arg-type]
        submit_height=record.submit_height,
        deposit_end_height=record.deposit_end_height,
        voting_start_height=record.voting_start_height,
        voting_end_height=record.voting_end_height,
        total_deposit=record.total_deposit,
        tally=_tally_view(result),
        tally_final=record.tally_height > 0,
        tally_height=record.tally_height,
        result=record.status.name.lower() if decided else None,  # type: ignore[arg-type]
    )


def _tally_view(tally: Tally) -> schemas.TallyView:
    return schemas.TallyView(
        yes=tally.yes, abstain=tally.abstain, no=tally.no, veto=tally.veto, bonded=tally.bonded
    )


def content_view(content: ProposalContent) -> schemas.ContentView:
    if isinstance(content, ParameterChanges):
        return schemas.ParameterChangesView(
            kind="parameter_change",
            changes=[
                schemas.ParameterChangeView(
                    parameter=name_of(Parameter(change.parameter)),
                    number=change.parameter,
                    value=change.value,
                )
                for change in content.changes
            ],
        )
    if isinstance(content, TreasurySpend):
        return schemas.TreasurySpendView(
            kind="treasury_spend",
            recipient=str(content.recipient),
            amount=content.amount,
            denom=content.denom.name,
        )
    if isinstance(content, AuthorityChange):
        return schemas.AuthorityChangeView(
            kind="authority_change", node=str(content.node), enabled=content.enabled
        )
    if isinstance(content, AppContainment):
        return schemas.AppContainmentView(
            kind="app_containment", app_id=content.app_id.hex(), contained=content.contained
        )
    return schemas.SoftwareUpgradeView(
        kind="software_upgrade", name=content.name, height=content.height
    )
