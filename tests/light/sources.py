"""An in-memory provider over a `SignedChain`, serving what a test tells it to: the honest
chain, or a forgery at chosen heights. The HTTP provider is tested against real nodes
(tests/light/test_network.py); this one drives the pure client."""

from __future__ import annotations

from collections.abc import Callable

from metanode.light.client import Source
from metanode.light.proofs import NotarisedProof, StateProof, TxProof
from metanode.light.reasons import Rejected, Rejection
from metanode.light.verifier import LightBlock
from metanode.testing.signed_chain import SignedChain
from metanode.types import Address, BlockHeader
from metanode.types.light_attack import LightAttackEvidence


def honest(chain: SignedChain, height: int) -> LightBlock:
    header = chain.header(height)
    return LightBlock(header, chain.certificate(header), chain.validators(height))


class ChainSource:
    def __init__(self, chain: SignedChain, name: str = "memory") -> None:
        self.chain = chain
        self.name = name
        self.forgeries: dict[int, Callable[[LightBlock], LightBlock]] = {}
        self.withheld: set[int] = set()
        self.asked: list[int] = []
        self.evidence: list[LightAttackEvidence] = []

    def light_block(self, height: int | None) -> LightBlock:
        at = len(self.chain.headers) if height is None else height
        self.asked.append(at)
        if at in self.withheld or at > len(self.chain.headers):
            raise Rejected(Rejection.HEADER_WITHHELD, f"{self.name} has no block {at}")
        block = honest(self.chain, at)
        forge = self.forgeries.get(at)
        return block if forge is None else forge(block)

    def header(self, height: int) -> BlockHeader:
        return self.light_block(height).header

    def tx_proof(self, tx_hash: bytes) -> TxProof:
        raise Rejected(Rejection.HEADER_WITHHELD, "this chain has no transactions")

    def account_proof(self, address: Address, height: int | None) -> StateProof:
        raise Rejected(Rejection.HEADER_WITHHELD, "this chain has no state")

    def receipt_proof(self, receipt_hash: bytes) -> NotarisedProof:
        raise Rejected(Rejection.HEADER_WITHHELD, "this chain has no receipts")

    def submit_evidence(self, evidence: LightAttackEvidence) -> str:
        self.evidence.append(evidence)
        return "accepted"


_: type[Source] = ChainSource
