"""Shared helpers for the state tests: deterministic keys, genesis documents, signed
transactions, and a `Chain` that proposes, applies and commits blocks in memory."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import nacl.signing

from metanode.crypto import bls
from metanode.state.genesis.document import GenesisDocument, from_tree
from metanode.state.invariants import check_all
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import BlockChanges, apply_block, build_block
from metanode.types import Address, Block, Denom, Transaction
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


@functools.cache
def _bls_key(index: int) -> bls.PrivateKey:
    return bls.PrivateKey.keygen(seed("bls", index))


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

    def __init__(self, document: GenesisDocument | None = None, *, check: bool = True) -> None:
        self.document = document or make_genesis()
        self.ledger = MemoryLedger(self.document)
        self.time_ms = self.document.genesis_time_ms
        self.proposer = validator_wallet(0).address
        self.check = check
        self.blocks: list[Block] = []
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
            self.state, txs, timestamp_ms=self.time_ms, proposer=self.proposer, evidence=evidence
        )

    def run(
        self, txs: list[Transaction], *, step_ms: int = 1_000, evidence: tuple[bytes, ...] = ()
    ) -> BlockChanges:
        proposal = self.propose(txs, step_ms=step_ms, evidence=evidence)
        changes = apply_block(self.state, proposal.block)
        assert changes.state_root == proposal.changes.state_root
        assert changes.receipts == proposal.changes.receipts
        self.ledger.commit(changes)
        self.blocks.append(proposal.block)
        if self.check:
            check_all(self.state.reader)
        return changes
