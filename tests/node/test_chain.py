"""The node's edge checks the BLS half of a block's last certificate (node/chain.py): a real
store, a real pool and the real BLS suite; the state machine alone cannot tell a forged
aggregate signature from a true one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from metanode.consensus.real_suite import RealSuite
from metanode.crypto import vrf
from metanode.mempool.pool import Pool
from metanode.node.chain import Chain
from metanode.state.machine import build_block
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


def carrying(block: Block, certificate: CommitCertificate) -> Block:
    header = replace(block.header, last_certificate_hash=last_certificate_hash(certificate))
    return Block(header, block.txs, block.evidence, certificate)


def test_a_block_whose_last_certificate_does_not_verify_is_refused(tmp_path: Path) -> None:
    document = make_genesis(validators=4)
    with Store.open(tmp_path / LEDGER_DIR, document) as store:
        chain = Chain(store, Pool(document.chain_id), RealSuite(None), block_txs_max=100)
        first = build_block(
            store.state(),
            [],
            timestamp_ms=2_000_000,
            proposer=PROPOSER,
            vrf_proof=vrf.prove(seed("vrf", 0), (1).to_bytes(8, "big")),
        ).changes
        assert first.block is not None
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
