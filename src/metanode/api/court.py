"""The gateway's court reads (docs/court.md): disputes, newest first, and one dispute with
its range, roots, turns, deadline and ruling.

`GET /api/v1/disputes?before=ID&limit=N` pages backwards by id; `next` is the following
page's `before`, or null on the last. `GET /api/v1/disputes/{id}` answers 404 for an id no
dispute has. A dispute that proved a notarised receipt false shows what the court took back
of the receipt's PoE mint (`clawback`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParameter
from pydantic import BaseModel

from metanode.node.node import Node
from metanode.state.court import queries
from metanode.state.court.records import CHALLENGER, DEFENDER, ZERO, Dispute
from metanode.state.view import StateReader
from metanode.types import Denom
from metanode.types.messages import format_coins

from . import problems

page_disputes_max = 100
id_max = 2**63


class RulingView(BaseModel):
    root: str  # the state root the replay left
    step: int  # the witness step where the losing claim diverges
    what: str


class ClawbackView(BaseModel):
    receipt: str  # the receipt proven false
    burned: str  # NEX burned from its executor
    burned_base_units: int
    short: str  # NEX it had already spent, not taken back
    short_base_units: int
    outcome: str  # clawed_back or partly_spent


class DisputeView(BaseModel):
    id: int
    app_id: str
    kind: str  # "challenge" or "replicas"
    status: str  # reveal, bisect, ruling_due, defender_won, challenger_won, both_wrong, undecided
    defender: str
    challenger: str
    bond: str
    bond_base_units: int
    opened_height: int
    call_seq: int
    receipts: list[str | None]  # each side's receipt hash of the call, null if none
    lo: int
    hi: int
    agreed_root: str
    posts: list[str | None]  # each side's root after `hi`, null until revealed
    pending: list[str]
    mover: str
    deadline: int | None  # null once closed
    turns: int
    ruling: RulingView | None
    clawback: ClawbackView | None  # null unless a ruling took back a notarised receipt's mint


class DisputePage(BaseModel):
    height: int
    disputes: list[DisputeView]
    next: int | None


def _clawback(reader: StateReader, dispute: Dispute) -> ClawbackView | None:
    """The claw-back of whichever side's receipt the dispute proved false (at most one has a
    claw-back record: a receipt is challenged once)."""
    for receipt in dispute.receipts:
        found = None if receipt == ZERO else queries.clawback(reader, receipt)
        if found is not None:
            return ClawbackView(
                receipt=receipt.hex(),
                burned=format_coins(found.clawed, Denom.NEX),
                burned_base_units=found.clawed,
                short=format_coins(found.short, Denom.NEX),
                short_base_units=found.short,
                outcome=found.outcome,
            )
    return None


def view(reader: StateReader, dispute_id: int, dispute: Dispute) -> DisputeView:
    def hash_or_none(value: bytes) -> str | None:
        return None if value == ZERO else value.hex()

    ruling = dispute.ruling
    return DisputeView(
        id=dispute_id,
        app_id=dispute.app_id.hex(),
        kind=dispute.kind.name.lower(),
        status=dispute.status.name.lower(),
        defender=str(dispute.sides[DEFENDER]),
        challenger=str(dispute.sides[CHALLENGER]),
        bond=format_coins(dispute.bond, Denom.FLX),
        bond_base_units=dispute.bond,
        opened_height=dispute.opened_height,
        call_seq=dispute.call_seq,
        receipts=[hash_or_none(receipt) for receipt in dispute.receipts],
        lo=dispute.lo,
        hi=dispute.hi,
        agreed_root=dispute.agreed_root.hex(),
        posts=[hash_or_none(post) for post in dispute.posts],
        pending=[root.hex() for root in dispute.pending],
        mover="defender" if dispute.mover == DEFENDER else "challenger",
        deadline=dispute.deadline if dispute.status.is_open else None,
        turns=dispute.turns,
        ruling=None
        if ruling is None
        else RulingView(root=ruling.root.hex(), step=ruling.step, what=ruling.what),
        clawback=_clawback(reader, dispute),
    )


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/disputes", response_model=DisputePage)
    async def get_disputes(
        before: Annotated[int | None, Query(ge=0, le=id_max)] = None,
        limit: Annotated[int, Query(ge=1, le=page_disputes_max)] = 50,
    ) -> DisputePage:
        """Disputes by id, newest first, `limit` at a time below `before`."""
        state = node.store.state()
        total = queries.count(state.reader)
        below = total if before is None else min(before, total)
        found = list(queries.disputes(state.reader, limit, below))
        last = found[-1][0] if found else 0
        return DisputePage(
            height=state.height,
            disputes=[view(state.reader, dispute_id, dispute) for dispute_id, dispute in found],
            next=last if found and last > 0 else None,
        )

    @routes.get("/api/v1/disputes/{dispute_id}", response_model=DisputeView)
    async def get_dispute(
        dispute_id: Annotated[int, PathParameter(ge=0, le=id_max)],
    ) -> DisputeView:
        """One dispute: its sides, range, roots, turns, deadline and ruling."""
        reader = node.store.state().reader
        found = queries.dispute(reader, dispute_id)
        if found is None:
            raise problems.Problem(
                404, "dispute-not-found", "Dispute not found", f"no dispute has id {dispute_id}"
            )
        return view(reader, dispute_id, found)

    return routes
