"""A peer's proposal has the signatures of its transactions that the node has not verified
verified before the engine sees it (`Node._receive_proposal`), off the event loop; what the
engine accepts and refuses is what it accepted and refused before."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from metanode.consensus import engine
from metanode.consensus.events import Event, MessageReceived
from metanode.consensus.messages import Kind, ProposalMessage
from metanode.crypto import ed25519, merkle
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.node.node import Node, now_ms
from metanode.types import Address, Block, Denom, Transaction, Transfer

from .standalone import standalone

WAIT_S = 60.0
TXS = 12  # above the count a BatchVerifier checks on the caller's thread


@dataclasses.dataclass
class Network:
    receiver: Node
    proposer: Node
    outsider: Node  # a validator that does not propose round 0
    txs: list[Transaction]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    home = tmp_path / "net"
    entries = dev_home.init_dev(home, validators=4, accounts=TXS + 1)
    with ExitStack() as stack:
        nodes = [stack.enter_context(standalone(entry.config_path)) for entry in entries]
        assert nodes[0].state is not None
        chosen = nodes[0].state.proposer_address(0)
        proposer = next(node for node in nodes if node.me == chosen)
        # Neither the receiver nor the outsider proposes round 0 (keys, so the draw, differ
        # from run to run).
        receiver, outsider = [node for node in nodes if node is not proposer][:2]
        senders = [
            keys.read_account(path, dev_home.DEV_PASSWORD)
            for path in dev_home.account_key_files(home)
            if path.stem.startswith("dev")
        ]
        to = Address.from_public_key(senders[-1].public_key)
        txs = [transfer(key, to) for key in senders[:TXS]]
        yield Network(receiver, proposer, outsider, txs)


def transfer(key: ed25519.PrivateKey, to: Address) -> Transaction:
    unsigned = Transaction(
        dev_home.DEV_CHAIN_ID, key.public_key, 0, 1_000, 10_000, Transfer(to, 1, Denom.FLX)
    )
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


def proposal_by(node: Node, block: Block) -> ProposalMessage:
    assert node.state is not None
    signed = engine.sign(node.state, Kind.PROPOSAL, 0, block.hash(), None)
    return ProposalMessage(signed, block, (), ())


def watch_engine(node: Node) -> list[tuple[Event, bool]]:
    """Each event the node hands its engine, with whether the receiver had verified every
    transaction of the proposal it carries by then."""
    seen: list[tuple[Event, bool]] = []
    dispatch = node.dispatch

    def recording(event: Event) -> None:
        if isinstance(event, MessageReceived) and isinstance(event.message, ProposalMessage):
            verified = node.chain.pool.verified_hashes()
            txs = event.message.block.txs
            seen.append((event, all(tx.hash() in verified for tx in txs)))
        dispatch(event)

    node.dispatch = recording  # type: ignore[method-assign]
    return seen


def receive(node: Node, proposal: ProposalMessage) -> None:
    async def run() -> None:
        node._receive_proposal(proposal)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        digest = proposal.signed.digest
        assert node.state is not None
        while digest not in node.state.valid and digest not in node.state.invalid:
            assert loop.time() < deadline, "the engine never judged the proposal"
            await asyncio.sleep(0.01)

    asyncio.run(run())


def test_the_engine_gets_the_proposal_with_its_signatures_verified_once(network: Network) -> None:
    block = network.proposer.chain.propose(
        1, 0, (), network.proposer.me, now_ms(), listed=network.txs
    )
    assert len(block.txs) == TXS
    seen = watch_engine(network.receiver)
    receive(network.receiver, proposal_by(network.proposer, block))
    assert [verified for _, verified in seen] == [True]
    pool = network.receiver.chain.pool
    assert pool.verifications == TXS  # the validation found nothing left to verify
    assert network.receiver.state is not None
    assert block.hash() in network.receiver.state.valid


def test_a_forged_signature_is_not_remembered_and_its_block_refused(network: Network) -> None:
    good = network.proposer.chain.propose(
        1, 0, (), network.proposer.me, now_ms(), listed=network.txs
    )
    forged_tx = network.txs[3].with_signature(bytes(64))
    txs = (*good.txs[:3], forged_tx, *good.txs[4:])
    header = dataclasses.replace(
        good.header, txs_root=merkle.root_from_leaf_hashes([tx.hash() for tx in txs])
    )
    forged = Block(header, txs, good.evidence, good.last_certificate)
    receive(network.receiver, proposal_by(network.proposer, forged))
    verified = network.receiver.chain.pool.verified_hashes()
    assert forged_tx.hash() not in verified
    assert all(tx.hash() in verified for tx in txs if tx is not forged_tx)
    assert network.receiver.state is not None
    assert forged.hash() in network.receiver.state.invalid


def test_a_proposal_from_another_than_the_rounds_proposer_costs_no_signature(
    network: Network,
) -> None:
    block = network.outsider.chain.propose(
        1, 0, (), network.outsider.me, now_ms(), listed=network.txs
    )
    seen = watch_engine(network.receiver)
    network.receiver._receive_proposal(proposal_by(network.outsider, block))
    assert [verified for _, verified in seen] == [False]  # handed on at once, then dropped
    assert network.receiver.chain.pool.verifications == 0
    assert network.receiver.state is not None
    assert 0 not in network.receiver.state.proposals
