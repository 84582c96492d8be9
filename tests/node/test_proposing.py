"""What a node's own proposal carries: the VRF proof made on a thread while the block gathers
(`Node._prove_ahead`), of its own input whether the one made ahead matches it or not; and the
block's encoding, made once (`Node._propose`), the same bytes as the block's fields encode to."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from metanode.consensus.actions import RequestProposal
from metanode.consensus.events import Event, ProposalCandidateReady
from metanode.consensus.validators import vrf_input
from metanode.crypto import vrf
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.node.node import Node, now_ms
from metanode.types import Address, Block

from .standalone import standalone
from .test_submit_counts import transfer


def proposal_proof(node: Node) -> bytes:
    height = node.chain.height + 1
    block = node.chain.propose(height, 0, (), node.me, now_ms())
    return block.header.vrf_proof


@pytest.mark.parametrize("ahead", [0, 1], ids=["same height", "another height"])
def test_the_proposal_carries_the_proof_of_its_own_input(tmp_path: Path, ahead: int) -> None:
    entries = dev_home.init_dev(tmp_path / "net", validators=1, accounts=1)
    with standalone(entries[0].config_path) as node:
        height = node.chain.height + 1
        asyncio.run(node._prove_ahead(height + ahead))
        made_ahead = node.suite.vrf_prove(vrf_input(node.chain.seed(), height + ahead))
        proof = proposal_proof(node)
        public_key = node.chain.validator_set().get(node.me)
        assert public_key is not None
        alpha = vrf_input(node.chain.seed(), height)
        assert vrf.verify(public_key.vrf_public_key, alpha, proof) is not None
        assert (proof == made_ahead) is (ahead == 0)


def test_the_proposal_carries_its_encoding(tmp_path: Path) -> None:
    home = tmp_path / "net"
    entries = dev_home.init_dev(home, validators=1, accounts=3)
    senders = [
        keys.read_account(path, dev_home.DEV_PASSWORD)
        for path in dev_home.account_key_files(home)
        if path.stem.startswith("dev")
    ]
    to = Address.from_public_key(senders[-1].public_key)
    raws = [transfer(key, to, 0).encode() for key in senders[:2]]
    with standalone(entries[0].config_path) as node:
        assert all(result.admitted for result in asyncio.run(node.submit(raws)))
        events: list[Event] = []
        node.dispatch = events.append  # type: ignore[method-assign]
        node._propose(RequestProposal(node.chain.height + 1, 0, ()))
    (event,) = events
    assert isinstance(event, ProposalCandidateReady)
    block = event.block
    assert sorted(tx.encode() for tx in block.txs) == sorted(raws)
    fields = Block(block.header, block.txs, block.evidence, block.last_certificate)
    assert block.encoded == fields.encode()
    assert Block.decode(block.encoded) == block
