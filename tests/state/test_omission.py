"""Omission evidence in a block's evidence list: a proposer that leaves a listed, ready
transaction out of blocks with room is counted, and slashed at the governance threshold
(state/registry/omission.py), on a chain of real blocks, with real inclusion lists and
proposals signed by the validators' node keys."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.crypto import ed25519, merkle
from metanode.state.codes import OK
from metanode.state.context import BlockContext
from metanode.state.genesis.chain import read_chain
from metanode.state.machine import InvalidBlock, apply_block
from metanode.state.registry import downtime, errors
from metanode.state.registry.omission import on_block_evidence
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.rules import is_jailed
from metanode.state.view import Overlay
from metanode.types import Address, Block, Denom, ProveKyc, Transaction, Transfer
from metanode.types import constants as types_constants
from metanode.types.inclusion import InclusionList
from metanode.types.omission import OmissionItem
from metanode.types.vote import Kind, Signed
from tests.conftest import examples
from tests.state.support import CHAIN_ID, Chain, Wallet, validator_wallet
from tests.state.test_registry import chain_of, run_until_height, with_evidence

V = [validator_wallet(index).address for index in range(3)]
V0, V1, V2 = V
SENDER = Wallet.of(1)


def node_key(index: int) -> ed25519.PrivateKey:
    return ed25519.PrivateKey(bytes(validator_wallet(index).key))


def waiting(nonce: int = 0, **options: object) -> Transaction:
    return SENDER.tx(nonce, Transfer(Wallet.of(2).address, 1, Denom.GEN), **options)  # type: ignore[arg-type]


def omission(
    chain: Chain,
    height: int,
    tx: Transaction | None = None,
    *,
    listers: tuple[int, ...] = (1, 2),
    list_height: int | None = None,
    chain_id: str = CHAIN_ID,
) -> OmissionItem:
    """The evidence that block `height` (V0's, as every block of `Chain`) left `tx` out, with
    the lists of the validators `listers` at `list_height` (the block's by default)."""
    tx = tx or waiting()
    lists = tuple(
        InclusionList.signed(
            node_key(index), chain_id, list_height or height, [tx.hash(), b"\x00" * 32]
        )
        for index in listers
    )
    return OmissionItem(tx, lists, chain.blocks[height - 1], proposed(chain.blocks[height - 1]))


def proposed(block: Block, signer: int = 0, kind: Kind = Kind.PROPOSAL) -> Signed:
    """The consensus record in which validator `signer` proposes `block`."""
    header = block.header
    unsigned = Signed(kind, header.height, 1, block.hash(), None, b"", V[signer])
    return replace(unsigned, signature=node_key(signer).sign(unsigned.signing_message()))


def recertified(chain: Chain, block: Block, tx: Transaction | None = None) -> OmissionItem:
    """`omission` for a block the chain never committed: V0 proposed it all the same."""
    tx = tx or waiting()
    lists = tuple(
        InclusionList.signed(node_key(index), CHAIN_ID, block.header.height, [tx.hash()])
        for index in (1, 2)
    )
    return OmissionItem(tx, lists, block, proposed(block))


def judged(chain: Chain, item: bytes) -> tuple[int, int]:
    """The code the evidence rule gives `item` in the next block, and how many writes it made."""
    overlay = Overlay(chain.state.reader)
    context = BlockContext(read_chain(overlay), chain.state.height + 1, 0, V1)
    return on_block_evidence(overlay, context, item), overlay.write_count


def refused(chain: Chain, item: bytes) -> str:
    """The code a block carrying `item` is refused with; the proposer leaves the item out."""
    proposal = chain.propose([], evidence=(item,))
    assert proposal.block.evidence == ()
    with pytest.raises(InvalidBlock) as caught:
        apply_block(chain.state, with_evidence(proposal.block, item))
    assert caught.value.reason == "evidence_refused"
    return caught.value.detail


def stake(chain: Chain, address: Address) -> int:
    return staking_queries.validator(chain.state.reader, address).stake


def test_repeated_omission_slashes_the_proposer_and_jails_it_until_unjail() -> None:
    chain = chain_of(validators=3, slash_fraction_bps=1_000, downtime_jail_blocks=5)
    run_until_height(chain, 6)
    before = stake(chain, V0)
    first = omission(chain, 3)
    assert OmissionItem.decode(first.encode()) == first
    chain.run([], evidence=(first.encode(), omission(chain, 4).encode()))  # block 7
    assert stake(chain, V0) == before and not is_jailed(chain.state.reader, V0)
    assert refused(chain, first.encode()) == "registry.omission_already_counted"
    chain.run([], evidence=(omission(chain, 5).encode(),))  # the third: block 8
    assert stake(chain, V0) == before * 9 // 10
    assert is_jailed(chain.state.reader, V0)
    assert downtime.unjail_height(chain.state.reader, V0) == 8 + 5
    # The records stay (used), so no omission counts twice, and a jailed proposer is not
    # punished again.
    assert refused(chain, first.encode()) == "registry.omission_already_counted"
    assert refused(chain, omission(chain, 6).encode()) == "registry.omission_proposer_jailed"


def test_omissions_further_apart_than_the_obligation_window_do_not_slash() -> None:
    chain = chain_of(validators=3, inclusion_obligation_blocks=2, inclusion_omissions_to_slash=2)
    run_until_height(chain, 6)
    before = stake(chain, V0)
    chain.run([], evidence=(omission(chain, 2).encode(), omission(chain, 4).encode()))
    assert stake(chain, V0) == before and not is_jailed(chain.state.reader, V0)
    chain.run([], evidence=(omission(chain, 5).encode(),))  # 4 and 5: within 2 heights
    assert is_jailed(chain.state.reader, V0)


def test_evidence_that_proves_no_omission_is_refused_with_its_reason() -> None:
    chain = chain_of(validators=3, evidence_age_blocks_max=4)
    run_until_height(chain, 2)
    chain.run([waiting(0)])  # block 3 holds the sender's transaction of nonce 0
    run_until_height(chain, 6)
    good = omission(chain, 5)
    garbled = replace(good.proposal, signature=bytes(64))
    other_sig = InclusionList(
        CHAIN_ID, 5, node_key(2).public_key, good.lists[1].tx_hashes, good.lists[0].signature
    )
    forged_tx = waiting(1).with_signature(bytes(64))
    rerooted = replace(good.block.header, txs_root=bytes(32))
    cases = [
        (b"\x83hmmm", "registry.evidence_malformed"),  # not omission evidence at all
        (encode(["omission", 1]), "registry.omission_malformed"),
        (replace(good, proposal=garbled).encode(), "registry.omission_block_invalid"),
        (
            replace(good, proposal=proposed(good.block, signer=1)).encode(),
            "registry.omission_block_invalid",  # V1 re-proposes a block V0 built
        ),
        (
            replace(good, proposal=proposed(good.block, kind=Kind.PREPARE)).encode(),
            "registry.omission_block_invalid",
        ),
        (omission(chain, 5, list_height=4).encode(), "registry.omission_lists_invalid"),
        (omission(chain, 5, listers=(1, 1)).encode(), "registry.omission_lists_invalid"),
        (omission(chain, 5, chain_id="other").encode(), "registry.omission_lists_invalid"),
        (
            replace(good, lists=(good.lists[0], other_sig)).encode(),
            "registry.omission_lists_invalid",
        ),
        (omission(chain, 5, listers=(1,)).encode(), "registry.omission_lists_too_weak"),
        (omission(chain, 5, waiting(1, expiry=4)).encode(), "registry.omission_tx_invalid"),
        (omission(chain, 5, waiting(1, chain_id="other")).encode(), "registry.omission_tx_invalid"),
        (omission(chain, 5, waiting(1, fee=0)).encode(), "registry.omission_tx_invalid"),
        (omission(chain, 5, forged_tx).encode(), "registry.omission_tx_invalid"),
        (recertified(chain, Block(rerooted, ())).encode(), "registry.omission_block_invalid"),
        (omission(chain, 3, waiting(1)).encode(), "registry.omission_tx_included"),
        (omission(chain, 1).encode(), "registry.evidence_too_old"),  # 1 + 4 < block 7
    ]
    for item, code in cases:
        assert refused(chain, item) == code, code
    assert not is_jailed(chain.state.reader, V0)


def _kyc(size: int) -> ProveKyc:
    return ProveKyc("did:metanode:kyc", 1, 0, bytes(size))


def _filling(total: int) -> list[Transaction]:
    """Transactions of another sender whose encodings add up to `total` bytes, about."""
    filler, most = Wallet.of(3), types_constants.zk_presentation_bytes_max
    txs = []
    while total > 0:
        tx = filler.tx(len(txs), _kyc(min(most, total)))
        total -= len(tx.encode()) + 9
        txs.append(tx)
    return txs


def test_a_block_without_room_for_the_transaction_proves_nothing() -> None:
    chain = chain_of(validators=3)
    run_until_height(chain, 3)
    txs = _filling(types_constants.block_bytes_max - 1_000)
    header = chain.blocks[2].header
    leaves = [tx.hash() for tx in txs]
    block = Block(replace(header, txs_root=merkle.root_from_leaf_hashes(leaves)), tuple(txs))
    assert len(block.encode()) <= types_constants.block_bytes_max
    large = SENDER.tx(0, _kyc(2_000))
    assert judged(chain, recertified(chain, block, large).encode()) == (
        errors.OMISSION_BLOCK_FULL,
        0,
    )
    # The same block had room for a small transaction.
    assert judged(chain, recertified(chain, block).encode())[0] == OK


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mangled_evidence_changes_nothing(data: st.DataObject) -> None:
    chain = _SHARED
    good = omission(chain, 3).encode()
    index = data.draw(st.integers(0, len(good) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda byte: byte != good[index]))
    mangled = good[:index] + bytes([value]) + good[index + 1 :]
    code, writes = judged(chain, mangled)
    if code == OK:
        # Only what the proof does not rest on may change: the omitting block's own evidence
        # list and carried certificate, and the proposal's round.
        found = OmissionItem.decode(mangled)
        assert (found.tx, found.lists, found.block.header, found.block.txs) == (
            OmissionItem.decode(good).tx,
            OmissionItem.decode(good).lists,
            OmissionItem.decode(good).block.header,
            OmissionItem.decode(good).block.txs,
        )
    else:
        assert writes == 0


def _shared_chain() -> Chain:
    chain = chain_of(validators=3)
    run_until_height(chain, 4)
    return chain


_SHARED = _shared_chain()
