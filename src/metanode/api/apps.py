"""The gateway's app reads (docs/apps.md): apps in id order and paged, one app with its
versions and the executors drawn for the epoch of the next height, and an app's calls in chain
order with their escrow status, paged by sequence number.

The executors shown are those of a call included next (`assignment.current`): the draw the
app's first call of the current epoch recorded, or the one it would record from the committed
state and the draw seed the state holds. The notary checks LogBlocks against the same record.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query

from metanode.node.node import Node
from metanode.state.apps import assignment, queries
from metanode.state.apps.records import AppRecord
from metanode.state.billing import queries as billing
from metanode.state.billing.records import Statement
from metanode.state.constants import uint64_max
from metanode.state.court import queries as court_queries
from metanode.state.notary import queries as notary
from metanode.state.view import StateReader

from . import problems, schemas
from .registry import AddressPath, parse_address

page_apps_max = 100
page_calls_max = 1_000
AppIdPath = Annotated[str, Path(pattern=schemas.APP_ID_PATTERN, min_length=64, max_length=64)]


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    def view(reader: StateReader, app_id: bytes, record: AppRecord) -> schemas.AppView:
        epoch, drawn = assignment.current(reader, app_id)
        court = court_queries.of_app(reader, app_id)
        return schemas.AppView(
            id=app_id.hex(),
            owner=str(record.owner),
            version=record.version,
            versions=[
                schemas.AppVersionView(
                    number=number,
                    module_hash=version.module_hash.hex(),
                    functions=list(version.functions),
                    height=version.height,
                )
                for number, version in enumerate(queries.versions(reader, app_id, record), 1)
            ],
            replicas=record.replicas,
            fuel_price=record.fuel_price,
            fuel_limit=record.fuel_limit,
            calls=record.calls,
            deployed_height=record.deployed_height,
            epoch=epoch,
            executors=[str(address) for address in drawn],
            disputes=sum(
                1 for dispute in notary.disputes(reader) if dispute.logblock.app_id == app_id
            ),
            court_disputes_open=court.open,
            court_disputes_settled=court.settled,
        )

    def found(reader: StateReader, app_id: str) -> AppRecord:
        record = queries.app(reader, bytes.fromhex(app_id))
        if record is None:
            raise problems.Problem(404, "app-not-found", "No such app", f"{app_id} is not deployed")
        return record

    @routes.get("/api/v1/apps", response_model=schemas.AppPage)
    async def apps(
        after: Annotated[str | None, Query(pattern=schemas.APP_ID_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=page_apps_max)] = 50,
    ) -> schemas.AppPage:
        """Deployed apps in id order, `limit` at a time after the cursor `after`."""
        state = node.store.state()
        start = None if after is None else bytes.fromhex(after)
        listed = list(itertools.islice(queries.apps(state.reader, start), limit + 1))
        page = [view(state.reader, app_id, r) for app_id, r in listed[:limit]]
        return schemas.AppPage(
            height=state.height, apps=page, next=page[-1].id if len(listed) > limit else None
        )

    @routes.get("/api/v1/apps/{app_id}", response_model=schemas.AppView)
    async def app(app_id: AppIdPath) -> schemas.AppView:
        """One app: owner, versions, replicas, prices and its executors this epoch."""
        state = node.store.state()
        record = found(state.reader, app_id)
        return view(state.reader, bytes.fromhex(app_id), record)

    @routes.get("/api/v1/apps/{app_id}/calls", response_model=schemas.AppCallPage)
    async def calls(
        app_id: AppIdPath,
        start: Annotated[int, Query(alias="from", ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=page_calls_max)] = 100,
    ) -> schemas.AppCallPage:
        """The app's calls in chain order from sequence number `from`, with escrow status."""
        state = node.store.state()
        found(state.reader, app_id)
        listed = list(
            itertools.islice(queries.calls(state.reader, bytes.fromhex(app_id), start), limit + 1)
        )
        page = [
            schemas.AppCallView(
                seq=seq,
                caller=str(call.caller),
                version=call.version,
                function=call.function,
                input=call.input.hex(),
                fuel_limit=call.fuel_limit,
                fuel_price=call.fuel_price,
                escrow=call.escrow,
                status=call.status.name.lower(),  # type: ignore[arg-type]
                fuel_used=call.fuel_used,
                height=call.height,
                tx_hash=call.tx_hash.hex(),
            )
            for seq, call in listed[:limit]
        ]
        return schemas.AppCallPage(
            height=state.height, calls=page, next=listed[-1][0] if len(listed) > limit else None
        )

    def statement(
        reader: StateReader, height: int, epoch: int | None, read: Callable[[int], Statement]
    ) -> schemas.StatementView:
        current, _seed = assignment.draw_seed(reader)
        chosen = current if epoch is None else epoch
        return schemas.StatementView(
            height=height, epoch=chosen, current_epoch=current, **asdict(read(chosen))
        )

    @routes.get("/api/v1/apps/{app_id}/statements", response_model=schemas.StatementView)
    async def app_statements(
        app_id: AppIdPath, epoch: Annotated[int | None, Query(ge=0, le=uint64_max)] = None
    ) -> schemas.StatementView:
        """What the app's calls settled in `epoch` (default: the current one): calls, fuel,
        FLX charged, paid to executors and to the treasury, NEX minted."""
        state = node.store.state()
        found(state.reader, app_id)
        app_id_bytes = bytes.fromhex(app_id)
        return statement(
            state.reader,
            state.height,
            epoch,
            lambda chosen: billing.app_statement(state.reader, app_id_bytes, chosen),
        )

    @routes.get("/api/v1/executors/{address}/statements", response_model=schemas.StatementView)
    async def executor_statements(
        address: AddressPath, epoch: Annotated[int | None, Query(ge=0, le=uint64_max)] = None
    ) -> schemas.StatementView:
        """What the executor served, was paid and minted in `epoch` (default: the current
        one)."""
        state = node.store.state()
        parsed = parse_address(address)
        return statement(
            state.reader,
            state.height,
            epoch,
            lambda chosen: billing.executor_statement(state.reader, parsed, chosen),
        )

    return routes
