"""The node's edge checks the BLS half of a block's last certificate (node/chain.py): a real
store, a real pool and the real BLS suite; the state machine alone cannot tell a forged
aggregate signature from a true one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from metanode.consensus.real_suite import RealSuite
from metanode.crypto import vrf
from metanode.mempool.pool import Pool
from metanode.node.chain import Chain
from metanode.state.machine import BlockChanges, build_block
from metanode.state.store import LEDGER_DIR, Store
from metanode.types import Block, CommitCertificate
from metanode.types.block import last_certificate_hash
from tests.state.support import certify, make_genesis, seed, validator_wallet

PROPOSER = validator_wallet(0).address


def next_block(chain: Chain, certificate: CommitCertificate | None) -> Block:
    state = chain.store.state()
    return build_block(
        state,
        [],
        timestamp_ms=2_000_000 + state.height * 1_000,
        proposer=PROPOSER,
        last_certificate=certificate,
    ).block


def block_one(store: Store) -> BlockChanges:
    """Block 1 on the genesis, with its proposer's VRF proof."""
    first = build_block(
        store.state(),
        [],
        timestamp_ms=2_000_000,
        proposer=PROPOSER,
        vrf_proof=vrf.prove(seed("vrf", 0), (1).to_bytes(8, "big")),
    ).changes
    assert first.block is not None
    return first


def carrying(block: Block, certificate: CommitCertificate) -> Block:
    header = replace(block.header, last_certificate_hash=last_certificate_hash(certificate))
    return Block(header, block.txs, block.evidence, certificate)


def test_a_block_whose_last_certificate_does_not_verify_is_refused(tmp_path: Path) -> None:
    document = make_genesis(validators=4)
    with Store.open(tmp_path / LEDGER_DIR, document) as store:
        chain = Chain(store, Pool(document.chain_id), RealSuite(None), block_txs_max=100)
        first = block_one(store)
        store.commit(first, certify(first.state.reader, first.block))
        chain.reset(Pool(document.chain_id))  # the store was written past the chain
        first_block = first.block
        state = chain.store.state()
        true = certify(state.reader, first_block)
        assert chain.validate(next_block(chain, true), now_ms=2_000_000)
        # Signers below the quorum (3 of 4), and a signature that is not theirs: both are
        # well formed and committed to by the header, and both are refused.
        absent = {validator_wallet(index).address for index in (1, 2)}
        short = certify(state.reader, first_block, absent)
        forged = replace(true, aggregate_signature=short.aggregate_signature)
        for bad in (short, forged):
            assert not chain.validate(carrying(next_block(chain, true), bad), now_ms=2_000_000)


class CountingSuite(RealSuite):
    """The real suite, counting the aggregate checks (pairings) it is asked for."""

    def __init__(self) -> None:
        super().__init__(None)
        self.aggregate_checks = 0

    def verify_aggregate(
        self, bls_public_keys: Sequence[bytes], message: bytes, aggregate: bytes
    ) -> bool:
        self.aggregate_checks += 1
        return super().verify_aggregate(bls_public_keys, message, aggregate)


def test_the_certificate_a_block_was_committed_with_is_not_checked_again(tmp_path: Path) -> None:
    """The engine verified the certificate a block commits with; the next block carrying that
    same certificate skips the pairing, and any other certificate is still checked."""
    document = make_genesis(validators=4)
    suite = CountingSuite()
    with Store.open(tmp_path / LEDGER_DIR, document) as store:
        chain = Chain(store, Pool(document.chain_id), suite, block_txs_max=100)
        first = block_one(store)
        committed_with = certify(first.state.reader, first.block)
        chain.commit(first.block, committed_with)
        assert chain.seed_at(1) == suite.vrf_output(first.block.header.vrf_proof)[:32]

        assert chain.validate(next_block(chain, committed_with), now_ms=2_000_000)
        assert suite.aggregate_checks == 0
        # Another quorum's certificate of the same block (3 of 4) is checked, and passes; a
        # forged one is checked and refused.
        other = certify(store.state().reader, first.block, {validator_wallet(1).address})
        assert chain.validate(next_block(chain, other), now_ms=2_000_000)
        assert suite.aggregate_checks == 1
        forged = replace(committed_with, aggregate_signature=other.aggregate_signature)
        block = carrying(next_block(chain, committed_with), forged)
        assert not chain.validate(block, now_ms=2_000_000)
        assert suite.aggregate_checks == 2
        # A chain that forgot its committed state (a revert, a state sync) checks it again.
        chain.reset(Pool(document.chain_id))
        assert chain.validate(next_block(chain, committed_with), now_ms=2_000_000)
        assert suite.aggregate_checks == 3
