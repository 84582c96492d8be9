"""The dev chain's tools on the gateway (node/devchain.py): snapshot, revert, time travel and
funding. A node that is not a one-validator dev chain (`[dev] automine`) answers each with a
403 problem, `dev-only`, and changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter

from metanode.errors import ConfigError, DecodeError
from metanode.node.devchain import DevChain, Taken, TooManySnapshots, UnknownSnapshot
from metanode.node.node import Node
from metanode.types import Address, Denom

from . import problems, schemas

REFUSED = {403: problems.SCHEMA}


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    def dev() -> DevChain:
        if node.devchain is None:
            raise problems.Problem(
                403,
                "dev-only",
                "Dev chains only",
                "snapshots, revert, time travel and funding are served by a one-validator dev "
                "chain (`metanode dev up`); this node runs a "
                f"{node.store.genesis.chain_kind} chain without [dev] automine",
            )
        return node.devchain

    @routes.post("/api/v1/dev/snapshot", response_model=schemas.DevSnapshot, responses=REFUSED)
    async def snapshot() -> schemas.DevSnapshot:
        """Copy the node's whole state (ledger, consensus record, executor's app state); the id
        reverts to it, any number of times."""
        try:
            return _taken(dev().snapshot())
        except TooManySnapshots as error:
            raise problems.Problem(429, "too-many-snapshots", "Too many", str(error)) from None

    @routes.post(
        "/api/v1/dev/revert",
        response_model=schemas.DevSnapshot,
        responses={**REFUSED, 404: problems.SCHEMA},
    )
    async def revert(body: schemas.DevRevert) -> schemas.DevSnapshot:
        """Bring the whole state back to snapshot `id` (the mempool emptied); the snapshots
        taken after it are dropped, and `id` too with `keep: false`."""
        try:
            return _taken(dev().revert(body.id, keep=body.keep))
        except UnknownSnapshot as error:
            raise problems.Problem(404, "unknown-snapshot", "Unknown", str(error)) from None

    @routes.post("/api/v1/dev/time", response_model=schemas.DevClock, responses=REFUSED)
    async def advance(body: schemas.DevTime) -> schemas.DevClock:
        """Move the block clock ahead by `advance_s` seconds (never back)."""
        try:
            return schemas.DevClock(clock_offset_ms=dev().advance(body.advance_s))
        except ConfigError as error:
            raise problems.Problem(422, "clock-too-far", "Too far ahead", str(error)) from None

    @routes.post(
        "/api/v1/dev/fund", response_model=schemas.FaucetResult, status_code=202, responses=REFUSED
    )
    async def fund(body: schemas.DevFund) -> schemas.FaucetResult:
        """Send `amount` base units to `address` from the dev faucet account, unmetered."""
        dev()
        try:
            target = Address.parse(body.address)
        except DecodeError as error:
            raise problems.Problem(400, "bad-address", "Not an address", str(error)) from None
        tx = node.faucet_transfer(target, Denom[body.denom], body.amount)
        (result,) = await node.submit([tx.encode()])
        if not result.admitted:
            raise problems.Problem(
                503, "faucet-busy", "Transfer refused", f"the mempool refused it: {result.reason}"
            )
        return schemas.FaucetResult(
            hash=tx.hash().hex(), address=str(target), denom=body.denom, amount=body.amount
        )

    return routes


def _taken(taken: Taken) -> schemas.DevSnapshot:
    return schemas.DevSnapshot(
        id=taken.id,
        height=taken.height,
        state_root=taken.state_root.hex(),
        clock_offset_ms=taken.clock_offset_ms,
    )
