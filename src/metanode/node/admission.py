"""Peers admitted at run time: registered nodes, linked without a config edit or a restart.

A node trusts the peers of its configuration and, besides them, any node whose Ed25519 key is
the key of a record in the committed registry (state/registry). Such a node announces its TLS
certificate (self-signed by its node key, so only the key's holder can make it) to a gateway
(`POST /api/v1/peers`, sent by `bpci register` and `bpci-core register`); the node checks the
self-signature, finds the key's record and takes the P2P endpoint from it, adds the
certificate to its live trust store and the peer to its transport, keeps the certificate in
`admitted/<node id>.pem` beside its config (so a restart keeps the peer, after checking it
against the registry again) and passes the announcement on to its peers (a `PeerAnnounce`
frame), which do the same once; a node that knows the peer already passes nothing on, so an
announcement crosses each link at most once each way. Anything else is `PeerRefused`.
"""

from __future__ import annotations

from pathlib import Path

from metanode.errors import MetanodeError, VerificationError
from metanode.net import tls
from metanode.net.transport import PeerConfig
from metanode.state.registry import queries as registry_queries
from metanode.state.registry.records import Status
from metanode.state.view import StateReader

ADMITTED = "admitted"


class PeerRefused(MetanodeError):
    """A peer announcement this node does not admit; the message says why."""


def registered_peer(reader: StateReader, certificate: bytes) -> PeerConfig:
    """The peer `certificate` names, if its key is a registered node's in `reader`'s state."""
    try:
        public_key, pem = tls.node_certificate(certificate)
    except VerificationError as error:
        raise PeerRefused(str(error)) from None
    address = tls.node_id(public_key)
    record = registry_queries.node(reader, address)
    if record is None:
        raise PeerRefused(
            f"{address} is not a registered node in the committed state: register it "
            "(bpci register) and announce it once the registration is committed"
        )
    if record.status is Status.EXITED:
        raise PeerRefused(f"{address} has left the network (its record is exited)")
    host, _, port = record.p2p_address.rpartition(":")
    return PeerConfig(address, host, int(port), pem)


def saved(node_dir: Path) -> list[bytes]:
    """The certificates admitted before, in file name order."""
    directory = node_dir / ADMITTED
    found = sorted(directory.glob("*.pem")) if directory.is_dir() else []
    return [path.read_bytes() for path in found]


def save(node_dir: Path, peer: PeerConfig) -> None:
    directory = node_dir / ADMITTED
    directory.mkdir(exist_ok=True)
    path = directory / f"{peer.node_id}.pem"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(peer.certificate)
    temporary.replace(path)  # never a half-written certificate after a crash
