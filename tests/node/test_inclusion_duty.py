"""A validator's inclusion duty on a real ledger and pool: a proposal that leaves out a listed
ready transaction is refused, and the lists held make omission evidence the chain accepts
only when they carry more than a third of the power (node/inclusion.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from metanode.consensus.real_suite import RealSuite
from metanode.crypto import ed25519
from metanode.mempool.pool import Pool
from metanode.node.chain import Chain
from metanode.node.inclusion import Duty
from metanode.node.metrics import Metrics
from metanode.state.codes import OK
from metanode.state.machine import build_block
from metanode.state.registry import omission
from metanode.state.store import LEDGER_DIR, Store
from metanode.types import Denom, Transfer
from metanode.types.inclusion import InclusionList
from metanode.types.vote import Kind, Signed
from tests.state.support import Wallet, make_genesis, validator_wallet


def node_key(index: int) -> ed25519.PrivateKey:
    return ed25519.PrivateKey(bytes(validator_wallet(index).key))


def test_a_refused_censoring_proposal_becomes_evidence_with_enough_lists(tmp_path: Path) -> None:
    document = make_genesis(validators=4)
    with Store.open(tmp_path / LEDGER_DIR, document) as store:
        chain = Chain(store, Pool(document.chain_id), RealSuite(None), block_txs_max=100)
        tx = Wallet.of(1).tx(0, Transfer(Wallet.of(2).address, 1, Denom.GEN))
        assert chain.pool.admit(tx.encode(), chain.admission_view(), 1).admitted
        duty = Duty(node_key(1), chain, document.chain_id, Metrics())
        members = {validator_wallet(index).address for index in range(4)}
        censor = validator_wallet(0).address
        block = build_block(store.state(), [], timestamp_ms=2_000_000, proposer=censor).block
        unsigned = Signed(Kind.PROPOSAL, 1, 0, block.hash(), None, b"", censor)
        proposal = replace(unsigned, signature=node_key(0).sign(unsigned.signing_message()))
        for index, expected in ((1, False), (2, True)):
            # One list of four equal validators is a quarter of the power: no proof yet.
            signed = InclusionList.signed(node_key(index), document.chain_id, 1, [tx.hash()])
            duty.lists.hold(signed, members, 1)
            violation = duty.violates(block)
            assert violation is not None and violation.omitted == (tx.hash(),)
            item = duty.evidence(block, violation, proposal)
            assert (item is not None) == expected
        assert item is not None and item.tx == tx and len(item.lists) == 2
        assert omission.screen(store.state().reader, 2, item) == OK
        # Its own proposals a validator does not judge.
        own = build_block(store.state(), [], timestamp_ms=2_000_000, proposer=duty.me).block
        assert duty.violates(own) is None
