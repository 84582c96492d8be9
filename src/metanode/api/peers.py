"""The gateway's network reads, what a new node needs to join (`bpci join`): the genesis file
this node runs, byte for byte, and the nodes it pins (itself and its configured peers) with
their P2P endpoints and TLS certificates. All of it is public: certificates hold public keys.
`POST /api/v1/peers` announces a registered node's certificate, which this node admits as a
peer and passes on (node/admission.py); anything else is a 403 problem, `peer-refused`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from metanode.node.admission import PeerRefused
from metanode.node.node import Node

from . import problems, schemas


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

    @routes.post(
        "/api/v1/peers",
        response_model=schemas.PeerAdmitted,
        responses={403: problems.SCHEMA},
    )
    async def admit(announcement: schemas.PeerAnnouncement) -> schemas.PeerAdmitted:
        """Admit a registered node (its Ed25519 key is a registry record's in the committed
        state) as a peer of this node and of the nodes it links to, without a restart."""
        try:
            peer, new = node.admit_peer(announcement.certificate.encode())
        except PeerRefused as error:
            raise problems.Problem(403, "peer-refused", "Peer refused", str(error)) from None
        return schemas.PeerAdmitted(
            node_id=str(peer.node_id), host=peer.host, port=peer.port, new=new
        )

    return routes
