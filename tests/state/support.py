"""Shared helpers for the state tests: deterministic keys, genesis documents, signed
transactions, and a `Chain` that proposes, applies and commits blocks in memory, each block
carrying a real certificate of the one before (BLS commit seals of the set that signed it)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import nacl.signing

from metanode.consensus.messages import commit_seal_message
from metanode.crypto import bls, vrf
from metanode.state.genesis.document import GenesisDocument, from_tree
from metanode.state.invariants import check_all
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import BlockChanges, apply_block, build_block
from metanode.state.staking.queries import validator_set_at
from metanode.state.view import StateReader
from metanode.types import Address, Block, CommitCertificate, Denom, Transaction
from metanode.types import constants as types_constants
from metanode.types.messages import BASE_UNITS_PER_COIN, Message

CHAIN_ID = "metanode-test"
COIN = BASE_UNITS_PER_COIN
FEE = 1_000


def seed(*parts: object) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


@dataclass(frozen=True)
class Wallet:
    key: nacl.signing.SigningKey

    @classmethod
    def of(cls, index: int) -> Wallet:
        return cls(nacl.signing.SigningKey(seed("wallet", index)))

    @property
    def public_key(self) -> bytes:
        return bytes(self.key.verify_key)

    @property
    def address(self) -> Address:
        return Address.from_public_key(self.public_key)

    def tx(
        self,
        nonce: int,
        message: Message,
        *,
        fee: int = FEE,
        expiry: int = 1_000_000,
        chain_id: str = CHAIN_ID,
    ) -> Transaction:
        unsigned = Transaction(chain_id, self.public_key, nonce, fee, expiry, message)
        return unsigned.with_signature(self.key.sign(unsigned.signing_message()).signature)


def bls_material(index: int) -> tuple[bytes, bytes]:
    """(BLS public key, proof of possession) for validator `index`."""
    secret = _bls_key(index)
    return secret.public_key, secret.prove_possession()


_BLS_SECRETS: dict[bytes, bls.PrivateKey] = {}
GENESIS_VALIDATORS_MAX = 8  # the genesis validators these helpers' tests use, at most


@functools.cache
def _bls_key(index: int) -> bls.PrivateKey:
    secret = bls.PrivateKey.keygen(seed("bls", index))
    _BLS_SECRETS[secret.public_key] = secret
    return secret


def certify_last(reader: StateReader, last: Block | None) -> CommitCertificate | None:
    """What the next block carries: the certificate of `last` (None after genesis)."""
    return None if last is None else certify(reader, last)


def certify(
    reader: StateReader, block: Block, absent: Container[Address] = frozenset()
) -> CommitCertificate:
    """The certificate a proposer of the next block holds for `block`: the commit seals of every
    member of its set (whose BLS key these helpers made) but those in `absent`."""
    for index in range(GENESIS_VALIDATORS_MAX):
        _bls_key(index)  # a process that reopened a store has made none of these keys yet
    height = block.header.height
    members = validator_set_at(reader, height)
    assert members is not None
    ordered = sorted(members, key=lambda member: member.address)
    signers = [
        (index, _BLS_SECRETS[member.bls_public_key])
        for index, member in enumerate(ordered)
        if member.address not in absent and member.bls_public_key in _BLS_SECRETS
    ]
    message = commit_seal_message(height, block.header.round, block.hash())
    return CommitCertificate(
        height,
        block.header.round,
        block.hash(),
        CommitCertificate.bitmap_for([index for index, _ in signers], len(ordered)),
        bls.aggregate_signatures([secret.sign(message) for _, secret in signers]),
    )


def validator_entry(index: int, stake: int = 1_000 * COIN) -> dict[str, Any]:
    wallet = Wallet.of(10_000 + index)
    bls_key, pop = bls_material(index)
    return {
        "public_key": wallet.public_key.hex(),
        "bls_public_key": bls_key.hex(),
        "bls_proof_of_possession": pop.hex(),
        "vrf_public_key": seed("vrf", index).hex(),
        "stake": stake,
    }


def validator_wallet(index: int) -> Wallet:
    return Wallet.of(10_000 + index)


def genesis_tree(
    wallets: int = 4,
    *,
    balance: int = 1_000 * COIN,
    validators: int = 1,
    kind: str = "dev",
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    accounts = [
        {
            "address": str(Wallet.of(index).address),
            "balances": {denom.name: balance for denom in Denom},
        }
        for index in range(wallets)
    ]
    return {
        "chain_id": CHAIN_ID,
        "chain_kind": kind,
        "genesis_time_ms": 1_000_000,
        "parameters": parameters or {"staking": {"unbonding_delay_blocks": 3}},
        "accounts": accounts,
        "validators": [validator_entry(index) for index in range(validators)],
    }


def make_genesis(**options: Any) -> GenesisDocument:
    return from_tree(genesis_tree(**options))


class Chain:
    """An in-memory chain: the proposer builds each block, a follower's `apply_block` must
    agree, the ledger commits, and every invariant is checked after every block."""

    def __init__(
        self, document: GenesisDocument | None = None, *, check: bool = True, vrf: bool = False
    ) -> None:
        self.document = document or make_genesis()
        # Real VRF proofs in the headers (a proposer's, over the height), for what reads their
        # output: the court's replay of a call derives the call's seed from it.
        self.vrf = vrf
        self.ledger = MemoryLedger(self.document)
        self.time_ms = self.document.genesis_time_ms
        self.proposer = validator_wallet(0).address
        self.check = check
        self.blocks: list[Block] = []
        self.certificate: CommitCertificate | None = None  # of the last block
        self.absent: set[Address] = set()  # validators whose commits the certificates miss
        if check:
            check_all(self.ledger.state.reader)

    @property
    def state(self):
        return self.ledger.state

    def propose(
        self, txs: list[Transaction], *, step_ms: int = 1_000, evidence: tuple[bytes, ...] = ()
    ):
        self.time_ms += step_ms
        return build_block(
            self.state,
            txs,
            timestamp_ms=self.time_ms,
            proposer=self.proposer,
            evidence=evidence,
            last_certificate=self.certificate,
            vrf_proof=self.vrf_proof(self.state.height + 1),
        )

    def vrf_proof(self, height: int) -> bytes:
        if not self.vrf:
            return bytes(types_constants.vrf_proof_bytes)
        return vrf.prove(seed("vrf", 0), height.to_bytes(8, "big"))

    def run(
        self, txs: list[Transaction], *, step_ms: int = 1_000, evidence: tuple[bytes, ...] = ()
    ) -> BlockChanges:
        proposal = self.propose(txs, step_ms=step_ms, evidence=evidence)
        changes = apply_block(self.state, proposal.block)
        assert changes.state_root == proposal.changes.state_root
        assert changes.receipts == proposal.changes.receipts
        self.commit(changes)
        return changes

    def commit(self, changes: BlockChanges) -> None:
        """Commit a block's changes and certify the block for the next one."""
        assert changes.block is not None
        self.ledger.commit(changes)
        self.blocks.append(changes.block)
        self.certificate = certify(self.state.reader, changes.block, self.absent)
        if self.check:
            check_all(self.state.reader)
