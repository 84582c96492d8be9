"""The gateway's registry reads: registered nodes, in key order and paged, and one node.

`GET /api/v1/registry/nodes?after=ADDRESS&limit=N` answers at most `limit` records whose
addresses sort (bytewise, as the state keys them) after `after`, and `next`: the cursor of the
following page, or null on the last. A record's stake is the GEN it has locked (a validator
node's own bond in staking), its voting power the registry's rule for its type. The validator
set with consensus power, at any height, is `GET /api/v1/validators?height=H` (governance.py).
`GET /api/v1/keys/nodes/ADDRESS` answers a node identity's keys as its records name them now
(its rotated node key, message 43, and its ML-DSA key, message 38).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from metanode.errors import DecodeError
from metanode.node.node import Node
from metanode.state.keys import queries as keys_queries
from metanode.state.registry import queries
from metanode.state.registry.records import NodeRecord, RegistryParams
from metanode.state.view import StateReader
from metanode.types import Address

from . import problems, schemas

page_nodes_max = 100
ADDRESS_PARAMETER: dict[str, Any] = {
    "pattern": schemas.ADDRESS_PATTERN,
    "min_length": 41,
    "max_length": 41,
    "json_schema_extra": schemas.ADDRESS_DOC,
}
AddressPath = Annotated[str, Path(**ADDRESS_PARAMETER)]


def parse_address(text: str) -> Address:
    try:
        return Address.parse(text)
    except DecodeError as error:
        raise problems.Problem(400, "bad-address", "Not an address", str(error)) from None


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/v1/registry/nodes", response_model=schemas.NodePage)
    async def registry_nodes(
        after: Annotated[str | None, Query(**ADDRESS_PARAMETER)] = None,
        limit: Annotated[int, Query(ge=1, le=page_nodes_max)] = 50,
    ) -> schemas.NodePage:
        """Registered nodes in address order, `limit` at a time after the cursor `after`."""
        start = None if after is None else parse_address(after)
        state = node.store.state()
        params = queries.params(state.reader)
        found = list(itertools.islice(queries.nodes(state.reader, start), limit + 1))
        page = [_view(state.reader, params, address, record) for address, record in found[:limit]]
        return schemas.NodePage(
            height=state.height,
            nodes=page,
            next=page[-1].address if len(found) > limit else None,
        )

    @routes.get("/api/v1/registry/nodes/{address}", response_model=schemas.NodeView)
    async def registry_node(address: AddressPath) -> schemas.NodeView:
        """One registered node's record."""
        parsed = parse_address(address)
        state = node.store.state()
        record = queries.node(state.reader, parsed)
        if record is None:
            raise problems.Problem(
                404, "node-not-found", "Not a registered node", f"{address} is not registered"
            )
        return _view(state.reader, queries.params(state.reader), parsed, record)

    @routes.get("/api/v1/keys/nodes/{address}", response_model=schemas.NodeKeysView)
    async def node_keys(address: AddressPath) -> schemas.NodeKeysView:
        """A validator's or registered node's keys as its records name them now."""
        parsed = parse_address(address)
        reader = node.store.state().reader
        current = keys_queries.current_node_key(reader, parsed)
        if current is None:
            raise problems.Problem(
                404,
                "node-not-found",
                "Not a node identity",
                f"{address} is neither a validator nor a registered node",
            )
        mldsa = keys_queries.node_key(reader, parsed)
        return schemas.NodeKeysView(
            address=str(parsed),
            node_key=current.hex(),
            mldsa_key=None if mldsa is None else mldsa.hex(),
            rotated=Address.from_public_key(current) != parsed,
        )

    return routes


def _view(
    reader: StateReader, params: RegistryParams, address: Address, record: NodeRecord
) -> schemas.NodeView:
    stake = queries.node_stake(reader, address, record)
    return schemas.NodeView(
        address=str(address),
        node_type=record.node_type.name.lower(),
        roles=[role.name.lower() for role in record.roles],
        status=record.status.name.lower(),
        public_key=record.public_key.hex(),
        bls_public_key=record.bls_public_key.hex(),
        bls_proof_of_possession=record.bls_proof_of_possession.hex(),
        vrf_public_key=record.vrf_public_key.hex(),
        p2p_address=record.p2p_address,
        did=record.did,
        stake=stake,
        voting_power=queries.voting_power(params, stake, record),
        registered_height=record.registered_height,
        exit_height=record.exit_height,
    )
