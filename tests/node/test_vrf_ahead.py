"""The proposal's VRF proof made on a thread while the block gathers (`Node._prove_ahead`):
the proposal carries the proof of its own input whether the one made ahead matches it or not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from metanode.consensus.validators import vrf_input
from metanode.crypto import vrf
from metanode.node import home as dev_home
from metanode.node.node import Node, now_ms

from .standalone import standalone


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
