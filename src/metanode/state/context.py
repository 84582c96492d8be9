"""What a rule knows about where it runs: the block (height, time, proposer, chain) and the
transaction (its sender), plus the events it may emit.

The block timestamp is the only clock a rule reads (DESIGN: determinism). `BlockContext` is
built once per block by `machine.py` from the header; `TxContext` once per transaction.
`changed` lets a module note that it changed something that end-of-block work depends on
(staking recomputes the next validator set only when stakes moved); it is scratch for one
block, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metanode.types import Address, Event
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """The chain's identity, fixed at genesis."""

    chain_id: str
    kind: str  # "dev", "testnet" or "mainnet" (genesis/document.py)


@dataclass(slots=True)
class BlockContext:
    chain: ChainInfo
    height: int
    timestamp_ms: int
    proposer: Address
    changed: set[str] = field(default_factory=set)
    # The header's VRF proof: the executor draw's seed of the next epoch comes from the last
    # block of this one (state/apps/assignment.py).
    vrf_proof: bytes = bytes(types_constants.vrf_proof_bytes)
    # Zero-knowledge proofs verified so far in this block (state/privacy bounds their CPU).
    zk_proofs: int = 0


@dataclass(slots=True)
class TxContext:
    block: BlockContext
    sender: Address
    sender_public_key: bytes
    is_hybrid: bool
    events: list[Event] = field(default_factory=list)
    # The transaction's fee and nonce: a zero-knowledge proof is paid by its fee, and answers a
    # nonce derived from the sender's (state/privacy).
    fee: int = 0
    nonce: int = 0
    # The transaction's hash: a call's record keeps it, so a split-origin receipt's request can
    # be held to the call's own transaction (state/notary: `request_mismatch`).
    tx_hash: bytes = bytes(types_constants.hash_bytes)
