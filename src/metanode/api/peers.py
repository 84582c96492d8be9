"""The gateway's network reads, what a new node needs to join (`bpci join`): the genesis file
this node runs, byte for byte, and the nodes it pins (itself and its configured peers) with
their P2P endpoints and TLS certificates. All of it is public: certificates hold public keys.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from metanode.node.node import Node

from . import schemas


def router(node: Node) -> APIRouter:
    routes = APIRouter()

    @routes.get(
        "/api/v1/genesis",
        responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
        response_class=Response,
    )
    async def genesis() -> Response:
        """The genesis document this node started from, as its file holds it."""
        return Response(node.genesis_text, media_type="application/json")

    @routes.get("/api/v1/peers", response_model=schemas.PeersView)
    async def peers() -> schemas.PeersView:
        """This node and the peers it pins, with their P2P endpoints and certificates."""
        listen = node.config.p2p.listen
        connected = set(node.network.connected())
        return schemas.PeersView(
            chain_id=node.engine_config.chain_id,
            node=schemas.PeerView(
                name=node.config.name,
                node_id=str(node.me),
                host=listen.host,
                port=listen.port,
                certificate=node.certificate.decode(),
                connected=True,
            ),
            peers=[
                schemas.PeerView(
                    name=node.peer_names.get(peer_id, str(peer_id)),
                    node_id=str(peer_id),
                    host=peer.host,
                    port=peer.port,
                    certificate=peer.certificate.decode(),
                    connected=peer_id in connected,
                )
                for peer_id, peer in sorted(node.network.peers.items())
            ],
        )

    return routes
