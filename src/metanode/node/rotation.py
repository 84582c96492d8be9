"""A node's keys across node key rotations (message 43, docs/decisions/node-key-rotation.md).

Theory of operation. The node's identity key (`validator.key`) names it for good; its node key
is whatever its records name (`keys.queries.current_node_key`). The node holds every node key
it may be asked for: the identity key and the files in `node-keys/` (node/keys.py), read again
when a set names a key it has not loaded (the operator's `bpci rotate-key` writes the file
while the node runs).
- Consensus: before each height the node signs with the key its entry in that height's set
  names (`use_set_key`); the sets fixed before a rotation keep the old key, so the switch falls
  on the epoch's first height with no pause.
- Links: once a rotation is committed, the node announces the new key's certificate after
  each commit until the boundary (`announcement`, a `PeerAnnounce`), and to each peer that
  links meanwhile; a peer trusts a certificate whose key the chain recorded as a peer
  identity's rotated key (`trust_announced`) and keeps it in `rotated/` beside its config for
  its restarts. At the start and at each epoch end (`at_boundary`) the node presents its
  pinned key and knows each peer by its pinned key, refusing its former one: a validator's is
  its entry's in the set fixed at the last epoch end, any other node's its records' key.
"""

from __future__ import annotations

import logging
from pathlib import Path

from metanode.consensus.real_suite import RealSuite
from metanode.consensus.validators import ValidatorSet
from metanode.crypto import ed25519
from metanode.errors import VerificationError
from metanode.net import tls
from metanode.net.transport import Network
from metanode.state.keys import queries as keys_queries
from metanode.state.staking import queries as staking_queries
from metanode.state.view import StateReader
from metanode.types import Address

from . import keys

log = logging.getLogger("metanode.node")

ROTATED = "rotated"


class Rotation:
    def __init__(
        self,
        node_dir: Path,
        passphrase: str,
        me: Address,
        identity_seed: bytes,
        network: Network,
        suite: RealSuite,
    ) -> None:
        self.node_dir = node_dir
        self._passphrase = passphrase
        self.me = me
        self.network = network
        self.suite = suite
        identity_key = ed25519.PrivateKey.from_seed(identity_seed).public_key
        self._seeds = {identity_key: identity_seed}
        self._seeds.update(keys.read_node_keys(node_dir, passphrase))
        self.tls_key = identity_key  # the node key this node's certificate carries
        self._announced: bytes | None = None  # the certificate of a key not presented yet

    def seed_of(self, public_key: bytes) -> bytes | None:
        """The seed of one of this node's keys, reading `node-keys/` again on a miss."""
        if public_key not in self._seeds:
            self._seeds.update(keys.read_node_keys(self.node_dir, self._passphrase))
        return self._seeds.get(public_key)

    def use_set_key(self, validators: ValidatorSet, height: int) -> None:
        """Sign `height` with the key this validator's entry in its set names."""
        member = validators.get(self.me)
        if member is None or member.public_key == self.suite.public_key:
            return
        seed = self.seed_of(member.public_key)
        if seed is None:
            log.error(
                "the validator set names a node key this node does not hold; it cannot sign",
                extra={"height": height, "public_key": member.public_key.hex()},
            )
            return
        self.suite.use(seed)
        log.info(
            "consensus key switched",
            extra={"height": height, "public_key": member.public_key.hex()},
        )

    def at_boundary(self, reader: StateReader, height: int) -> None:
        """At the start and each epoch end: present this node's pinned key, and know each peer
        by its pinned key."""
        pinned = _pinned_keys(reader)
        own = pinned.get(self.me) or keys_queries.current_node_key(reader, self.me)
        if own is not None and own != self.tls_key:
            seed = self.seed_of(own)
            if seed is None:
                log.error(
                    "the records name a node key this node does not hold; TLS keeps the old one",
                    extra={"height": height, "public_key": own.hex()},
                )
            else:
                self.network.rekey(seed)
                self.tls_key = own
                log.info("node key rotated", extra={"height": height, "public_key": own.hex()})
        rotated = {}
        for peer in sorted(self.network.peers):
            key = pinned.get(peer) or keys_queries.current_node_key(reader, peer)
            if key is not None and tls.node_id(key) != peer:
                rotated[peer] = key
        if rotated != self.network.node_keys:
            log.info("peers' rotated node keys pinned", extra={"rotated": len(rotated)})
            self.network.use_node_keys(rotated)

    def announcement(self, reader: StateReader) -> bytes | None:
        """The certificate of the node key the records name, while this node does not present
        it yet (from the rotation's commit to the boundary), to announce after each commit: a
        peer that had not committed the rotation when it heard it first refused it then."""
        own = keys_queries.current_node_key(reader, self.me)
        self._announced = None
        if own is None or own == self.tls_key:
            return None
        seed = self.seed_of(own)
        if seed is not None:
            self._announced = tls.certificate_pem(seed)
        return self._announced

    @property
    def pending(self) -> bytes | None:
        """The certificate announced and not presented yet: for peers that link meanwhile."""
        return self._announced

    def trust_announced(self, reader: StateReader, certificate: bytes) -> tuple[bool, bytes | None]:
        """Trust a peer's rotated node key from its certificate: (whether the chain recorded
        its key as a peer identity's rotated key, its canonical PEM if it is new here)."""
        try:
            key, pem = tls.node_certificate(certificate)
        except VerificationError:
            return False, None
        identity = keys_queries.node_of_key(reader, key)
        if identity is None or identity not in self.network.peers:
            return False, None
        path = self.node_dir / ROTATED / f"{key.hex()}.pem"
        if path.exists():
            return True, None
        self.network.trust(pem)
        path.parent.mkdir(exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(pem)
        temporary.replace(path)  # never a half-written certificate after a crash
        log.info("a peer's rotated node key trusted", extra={"peer": str(identity)})
        return True, pem

    def trust_saved(self) -> None:
        """At the start: the rotated keys of peers trusted before."""
        directory = self.node_dir / ROTATED
        for path in sorted(directory.glob("*.pem")) if directory.is_dir() else ():
            try:
                _key, pem = tls.node_certificate(path.read_bytes())
            except VerificationError as error:
                log.warning("a saved rotated certificate is refused", extra={"reason": str(error)})
                continue
            self.network.trust(pem)


def _pinned_keys(reader: StateReader) -> dict[Address, bytes]:
    """The node key each validator is pinned to: its entry's in the set fixed at the last epoch
    end (which changes only there, so a node restarted between a rotation and its boundary
    pins what its peers pin); a node outside that set is pinned to its records' key."""
    members = staking_queries.next_validator_set(reader)
    return {member.address: member.public_key for member in members}
