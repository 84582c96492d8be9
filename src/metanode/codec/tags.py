"""The single registry of domain tags.

Every byte string that is hashed or signed is bound to exactly one domain here, so that a
signature or hash made for one purpose can never be replayed as another. A `DomainTag` has:

- `name`: the ASCII domain used by `tagged_hash` and by signing (`metanode/<what>/v<n>`);
- `number`: the CBOR tag number used when an object is written self-describing (for example a
  receipt file), drawn from the first-come-first-served range of the IANA registry
  (`NUMBER_BASE` + a small index, "MN" in the high bytes).

Rules: a name or number, once released, is never reused or renumbered (it is in stored data).
Add new tags only at the end, with the next index. A test asserts that all are unique.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NUMBER_BASE = 0x4D4E_0000  # "MN" << 16: inside CBOR's first-come-first-served tag range


@dataclass(frozen=True, slots=True)
class DomainTag:
    name: str
    number: int
    # What `tagged_hash` hashes ahead of the data, the name and a zero byte, made once: encoding
    # the name and hashing in three updates was 1.0-1.3 us a hash, one update of the joined
    # bytes 0.4-0.5.
    prefix: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", self.name.encode("ascii") + b"\x00")

    @property
    def name_bytes(self) -> bytes:
        return self.prefix[:-1]


ALL: list[DomainTag] = []


def _register(name: str, index: int) -> DomainTag:
    tag = DomainTag(name=name, number=NUMBER_BASE + index)
    ALL.append(tag)
    return tag


# Ledger objects.
TX = _register("metanode/tx/v1", 1)
TX_SIGNATURE = _register("metanode/tx-sig/v1", 2)
BLOCK_HEADER = _register("metanode/block-header/v1", 3)
RECEIPT = _register("metanode/receipt/v1", 4)
ADDRESS = _register("metanode/address/v1", 5)
STATE_LEAF = _register("metanode/state-leaf/v1", 6)
STATE_NODE = _register("metanode/state-node/v1", 7)
# Consensus.
COMMIT_SEAL = _register("metanode/commit-seal/v1", 8)
CONSENSUS_MESSAGE = _register("metanode/consensus-msg/v1", 9)
VALIDATOR_SET = _register("metanode/validator-set/v1", 10)
VRF_SEED = _register("metanode/vrf-seed/v1", 11)
EVIDENCE = _register("metanode/evidence/v1", 12)
# Post-quantum hybrid signatures: both halves sign one domain-separated message.
HYBRID_SIGNATURE = _register("metanode/hybrid-sig/v1", 13)
# Key files.
KEYSTORE = _register("metanode/keystore/v1", 14)
# DockLock.
APP_ID = _register("metanode/app-id/v1", 15)
EXEC_RECEIPT = _register("metanode/exec-receipt/v1", 16)
WITNESS_RECORD = _register("metanode/witness-record/v1", 17)
APP_STATE = _register("metanode/app-state/v1", 18)
# Peer links.
NODE_ID = _register("metanode/node-id/v1", 19)
TLS_BINDING = _register("metanode/tls-binding/v1", 20)
GENESIS = _register("metanode/genesis/v1", 21)
# Identity: a DID's method-specific id, and a credential's on-chain identifier.
DID = _register("metanode/did/v1", 22)
CREDENTIAL = _register("metanode/credential/v1", 23)
# Notary: a LogBlock (what its committee signs), and what the replicas of one call must agree on.
LOGBLOCK = _register("metanode/logblock/v1", 24)
EXEC_RESULT = _register("metanode/exec-result/v1", 25)
# Executors: the seed of one app call, from the block seed and the call's place.
EXEC_SEED = _register("metanode/exec-seed/v1", 26)
# The commit certificate of height h - 1 that block h carries (its header holds this hash).
COMMIT_CERTIFICATE = _register("metanode/commit-certificate/v1", 27)
# Light client: evidence that a signed header conflicts with the chain a client trusts.
LIGHT_ATTACK = _register("metanode/light-attack/v1", 32)
# Audit: a self-contained bundle of split-origin receipts and their proofs (light/audit.py).
AUDIT_BUNDLE = _register("metanode/audit-bundle/v1", 40)
# Shadow registry: shadow ids, service requests and shadow receipts (state/shadow).
SHADOW = _register("metanode/shadow/v1", 41)
# Backups of a node (node/backup.py) and the state snapshots of state sync (node/snapshots.py).
BACKUP = _register("metanode/backup/v1", 44)
SNAPSHOT = _register("metanode/snapshot/v1", 45)
# BISO policies: what a policy's signer signs, and a node's signed record of how it routed a
# request by a policy's light (state/policy, metanode.api.policy).
POLICY = _register("metanode/policy/v1", 35)
POLICY_ROUTING = _register("metanode/policy-routing/v1", 36)
# Privacy: the nonce a zero-knowledge KYC proof answers, from its transaction's sender and nonce.
ZK_NONCE = _register("metanode/zk-nonce/v1", 38)
# Inclusion lists: a validator's signed list of transactions waiting in its pool too long.
INCLUSION_LIST = _register("metanode/inclusion-list/v1", 37)
# Relay storage: a node's rendezvous score for a blob; a challenge's chunk draw.
STORAGE_PLACEMENT = _register("metanode/storage-placement/v1", 33)
STORAGE_CHALLENGE = _register("metanode/storage-challenge/v1", 34)
# P2P links: the transcript and keys of the hybrid X25519 + ML-KEM-768 inner handshake.
P2P_HYBRID = _register("metanode/p2p-hybrid/v1", 42)
# A key migration (account or node identity): what both the old and the new key sign.
KEY_MIGRATION = _register("metanode/key-migration/v1", 43)

BY_NUMBER: dict[int, DomainTag] = {tag.number: tag for tag in ALL}
BY_NAME: dict[str, DomainTag] = {tag.name: tag for tag in ALL}
