"""A validator's inclusion duty on a real ledger and pool: a proposal that leaves out a listed
ready transaction is refused, and the lists held make omission evidence the chain accepts
only when they carry more than a third of the power (node/inclusion.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from metanode.consensus.real_suite import RealSuite, ValidatorKeys
from metanode.crypto import ed25519
from metanode.mempool.pool import Pool
from metanode.node.chain import Chain
from metanode.node.compact import RecentTxs
from metanode.node.inclusion import Duty, Listed
from metanode.node.metrics import Metrics
from metanode.state.codes import OK
from metanode.state.machine import build_block
from metanode.state.registry import omission
from metanode.state.store import LEDGER_DIR, Store
from metanode.types import Block, Denom, Transaction, Transfer
from metanode.types.inclusion import InclusionList
from metanode.types.vote import Kind, Signed
from tests.state.support import FEE, Wallet, make_genesis, validator_wallet


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


MEMBERS = {validator_wallet(index).address for index in range(4)}


@dataclass
class Proposer:
    """Validator 1 on a real ledger and pool, with a VRF key to propose with."""

    chain: Chain
    duty: Duty
    chain_id: str

    def admit(self, *txs: Transaction) -> None:
        for tx in txs:
            assert self.chain.pool.admit(tx.encode(), self.chain.admission_view(), 1).admitted

    def hold(self, author: int, txs: list[Transaction]) -> InclusionList:
        """Validator `author`'s list of height 1 naming `txs`, held."""
        hashes = [tx.hash() for tx in txs]
        item = InclusionList.signed(node_key(author), self.chain_id, 1, hashes)
        self.duty.lists.hold(item, MEMBERS, 1)
        return item

    def propose(self, listed: tuple[Transaction, ...] = ()) -> tuple[Transaction, ...]:
        return self.chain.propose(1, 0, (), self.duty.me, 2_000_000, listed).txs


@contextmanager
def proposer(tmp_path: Path, block_txs_max: int = 100) -> Iterator[Proposer]:
    document = make_genesis(validators=4)
    keys = ValidatorKeys(bytes(validator_wallet(1).key), bytes(31) + b"\x07", bytes([7]) * 32)
    with Store.open(tmp_path / LEDGER_DIR, document) as store:
        chain = Chain(store, Pool(document.chain_id), RealSuite(keys), block_txs_max)
        yield Proposer(
            chain, Duty(node_key(1), chain, document.chain_id, Metrics()), document.chain_id
        )


def transfer(sender: int, nonce: int = 0, fee: int = FEE, expiry: int = 1_000_000) -> Transaction:
    message = Transfer(Wallet.of(9).address, 1, Denom.GEN)
    return Wallet.of(sender).tx(nonce, message, fee=fee, expiry=expiry)


def test_a_proposer_puts_what_its_lists_name_first_from_its_pool(tmp_path: Path) -> None:
    with proposer(tmp_path, block_txs_max=1) as node:
        rich, listed_tx = transfer(1, fee=10 * FEE), transfer(2)
        node.admit(rich, listed_tx)
        # The fee order alone fills a one-transaction block with the richer one.
        assert node.propose() == (rich,)
        node.hold(2, [listed_tx])
        listed = node.duty.gather(1, RecentTxs().get)
        assert listed == Listed((listed_tx,), ())
        assert node.propose(listed.txs) == (listed_tx,)


def test_a_proposer_takes_a_listed_transaction_its_full_pool_refused_from_recent_gossip(
    tmp_path: Path,
) -> None:
    with proposer(tmp_path) as node:
        # Two of one sender, gossiped in reverse order: the block holds them in nonce order.
        first, second, mine = transfer(2, 0), transfer(2, 1), transfer(3)
        node.admit(mine)
        recent = RecentTxs()
        recent.add([second, first])
        node.hold(2, [first, second])
        listed = node.duty.gather(1, recent.get)
        assert listed == Listed((first, second), ())
        assert node.duty.lacking(1, recent.get) == []
        assert node.propose(listed.txs) == (first, second, mine)
        # Once committed they bind no proposer: the proposer no longer looks for them.
        node.duty.lists.settle(1, [first.hash()])
        assert node.duty.lists.obligations(1) == {second.hash()}


def test_a_listed_transaction_held_nowhere_is_asked_for_once_and_counted_if_absent(
    tmp_path: Path,
) -> None:
    with proposer(tmp_path) as node:
        absent, mine = transfer(2), transfer(3)
        node.admit(mine)
        for author in (1, 2, 3):
            node.hold(author, [absent])
        duty = node.duty
        listed = duty.gather(1, RecentTxs().get)
        assert listed == Listed((), (absent.hash(),))
        assert duty.lacking(1, RecentTxs().get) == [absent.hash()]
        assert duty.asks(1, listed.lacking) == [absent.hash()]
        assert duty.asks(1, listed.lacking) == []  # asked once in the window
        # An answer fills recent gossip only with what was asked.
        assert duty.wanted([mine, absent]) == [absent]
        duty.went_without(listed, 1, 0)
        assert duty.metrics.inclusion_unavailable._value.get() == 1
        assert node.propose(listed.txs) == (mine,)


def test_a_listed_transaction_now_invalid_is_left_out(tmp_path: Path) -> None:
    with proposer(tmp_path) as node:
        good, expired = transfer(2), transfer(4, expiry=0)
        forged = transfer(3).with_signature(bytes(64))
        recent = RecentTxs()
        recent.add([good, forged, expired])
        node.hold(2, [good, forged, expired])
        listed = node.duty.gather(1, recent.get)
        assert set(listed.txs) == {good, forged, expired}
        # The ladder of the block decides, as every validator's will.
        assert node.propose(listed.txs) == (good,)


def test_a_list_that_came_after_a_round_began_does_not_bind_that_rounds_proposal(
    tmp_path: Path,
) -> None:
    with proposer(tmp_path) as node:
        listed_tx = transfer(2)
        node.admit(listed_tx)
        state, censor = node.chain.store.state(), validator_wallet(0).address

        def empty(round_: int) -> Block:
            return build_block(
                state, [], timestamp_ms=2_000_000, proposer=censor, round=round_
            ).block

        node.duty.cut_off(1, 0)
        node.hold(2, [listed_tx])  # the proposer of round 0 may not have had it yet
        assert node.duty.violates(empty(0)) is None
        node.duty.cut_off(1, 1)
        violation = node.duty.violates(empty(1))
        assert violation is not None and violation.omitted == (listed_tx.hash(),)
        node.duty.cut_off(1, 0)  # a repeated start keeps the first cutoff
        assert node.duty.violates(empty(0)) is None
