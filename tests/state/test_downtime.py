"""Missed commits: the last certificate a block carries, the signing window, the downtime jail
(state/registry/downtime.py). Every chain here checks every invariant after every block."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis, genesis_writes
from metanode.state.machine import InvalidBlock, apply_block
from metanode.state.registry import keys
from metanode.state.registry.downtime import read_window, unjail_height
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.rules import is_jailed
from metanode.state.view import MemoryReader
from metanode.types import Block, CommitCertificate, Unjail
from metanode.types.block import last_certificate_hash
from tests.state.support import COIN, Chain, Wallet, genesis_tree, validator_wallet
from tests.state.test_registry import equivocation

WINDOW = 10
EPOCH = 4


def chain_of(validators: int = 4, **registry: Any) -> Chain:
    parameters = {
        "staking": {"unbonding_delay_blocks": 3, "epoch_blocks": EPOCH},
        "registry": {
            "signed_blocks_window": WINDOW,
            "min_signed_per_window_bps": 5_000,
            "downtime_jail_blocks": 20,
            **registry,
        },
    }
    tree = genesis_tree(validators=validators, parameters=parameters)
    # The validators pay their own `Unjail` fees.
    tree["accounts"] += [
        {"address": str(validator_wallet(index).address), "balances": {"FLX": 10 * COIN}}
        for index in range(validators)
    ]
    return Chain(from_tree(tree))


def run_until_height(chain: Chain, height: int) -> None:
    while chain.state.height < height:
        chain.run([])


def test_a_validator_missing_every_commit_is_jailed_once_its_window_is_full() -> None:
    chain = chain_of(downtime_slash_fraction_bps=1_000)
    down = validator_wallet(3).address
    stake = staking_queries.validator(chain.state.reader, down).stake
    chain.absent.add(down)
    # Block h counts the certificate of h - 1: block 2 counts the first one, block 11 the
    # tenth, which fills the window with 10 misses, more than the 5 it allows.
    run_until_height(chain, 10)
    assert not is_jailed(chain.state.reader, down)
    assert read_window(chain.state.reader, down, WINDOW).missed == 9
    chain.run([])  # block 11
    reader = chain.state.reader
    assert is_jailed(reader, down)
    assert staking_queries.validator(reader, down).stake == stake - stake // 10
    assert unjail_height(reader, down) == 11 + 20
    assert reader.get(keys.signing(down)) is None  # its window restarts
    # The others signed every certificate: nothing counts against them.
    assert read_window(reader, validator_wallet(0).address, WINDOW).missed == 0
    run_until_height(chain, 12)  # the end of block 11 fixed the set of 13…
    assert down not in {m.address for m in staking_queries.next_validator_set(chain.state.reader)}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=2 * WINDOW + 4))
def test_the_window_jails_exactly_when_a_sliding_count_says_so(absences: list[bool]) -> None:
    """Against a model: the validator is jailed at the first certificate after which the last
    WINDOW certificates (once there are WINDOW) hold more than WINDOW - 5 misses."""
    chain = chain_of()
    flaky = validator_wallet(2).address
    for absent in absences:
        chain.absent = {flaky} if absent else set()
        chain.run([])  # certifies this block with or without `flaky`; counts the last one
    chain.absent = set()
    chain.run([])  # counts the last certificate
    expected = any(
        sum(absences[count - WINDOW : count]) > WINDOW - 5
        for count in range(WINDOW, len(absences) + 1)
    )
    reader = chain.state.reader
    assert is_jailed(reader, flaky) == expected
    if not expected:
        window = read_window(reader, flaky, WINDOW)
        assert (window.counted, window.missed) == (len(absences), sum(absences[-WINDOW:]))


def test_blocks_with_a_wrong_last_certificate_are_invalid() -> None:
    chain = chain_of()
    run_until_height(chain, 2)
    proposal = chain.propose([])
    block = proposal.block
    certificate = block.last_certificate
    assert certificate is not None and certificate.height == 2
    other = replace(certificate, signer_bitmap=b"\x01")
    stale = replace(certificate, height=1, block_hash=chain.blocks[0].hash())
    cases = [
        (Block(block.header, block.txs, block.evidence, None), "wrong_last_certificate_hash"),
        (Block(block.header, block.txs, block.evidence, other), "wrong_last_certificate_hash"),
        (with_certificate(block, None), "missing_last_certificate"),
        (with_certificate(block, stale), "wrong_last_certificate"),
    ]
    for bad, reason in cases:
        with pytest.raises(InvalidBlock) as refused:
            apply_block(chain.state, bad)
        assert refused.value.reason == reason
    apply_block(chain.state, block)


def test_block_one_carries_no_certificate() -> None:
    chain = chain_of()
    block = chain.propose([]).block
    assert block.last_certificate is None
    assert block.header.last_certificate_hash == bytes(32)
    forged = CommitCertificate(0, 0, chain.state.block_hash, b"\x0f", bytes(96))
    with pytest.raises(InvalidBlock) as refused:
        apply_block(chain.state, with_certificate(block, forged))
    assert refused.value.reason == "unexpected_last_certificate"


def with_certificate(block: Block, certificate: CommitCertificate | None) -> Block:
    """The block with another certificate and a header that commits to it (a proposer that
    lies consistently)."""
    header = replace(block.header, last_certificate_hash=last_certificate_hash(certificate))
    return Block(header, block.txs, block.evidence, certificate)


def test_genesis_round_trip_keeps_windows_and_downtime_jails() -> None:
    chain = chain_of()
    down = validator_wallet(3).address
    chain.absent.add(down)
    run_until_height(chain, 13)
    chain.absent = {validator_wallet(1).address}
    chain.run([])
    exported = export_genesis(chain.state.reader)
    assert exported.registry.downtime_jailed == ((down, 31),)
    assert [address for address, _ in exported.registry.signing] == sorted(
        validator_wallet(index).address for index in range(3)
    )
    again = parse_genesis(exported.to_json())
    assert again == exported
    reader = MemoryReader(dict((k, v) for k, v in genesis_writes(again) if v is not None))
    assert export_genesis(reader) == exported


def test_unjail_ladder_and_rejoining_after_the_downtime_jail() -> None:
    chain = chain_of()
    down = validator_wallet(3)
    chain.absent.add(down.address)
    run_until_height(chain, 11)  # jailed in block 11, free from block 31
    chain.absent = set()
    honest = validator_wallet(0)
    nonce = 0

    def unjail_code(wallet: Any) -> str:
        nonlocal nonce
        current = nonce if wallet is down else 0
        receipt = chain.run([wallet.tx(current, Unjail())]).receipts[0]
        if wallet is down:
            nonce += 1
        return name_of(receipt.code)

    assert unjail_code(honest) == "registry.validator_not_jailed"
    assert unjail_code(down) == "registry.downtime_jail_not_over"  # block 13
    run_until_height(chain, 29)
    assert unjail_code(down) == "registry.downtime_jail_not_over"  # block 30
    stake_before = staking_queries.validator(chain.state.reader, down.address).stake
    assert unjail_code(down) == "ok"  # block 31
    reader = chain.state.reader
    assert not is_jailed(reader, down.address)
    assert unjail_height(reader, down.address) is None
    assert staking_queries.validator(reader, down.address).stake == stake_before
    run_until_height(chain, 32)  # the end of block 31 fixed the set from 33: it is back
    assert down.address in {
        m.address for m in staking_queries.next_validator_set(chain.state.reader)
    }
    assert unjail_code(down) == "registry.validator_not_jailed"


def test_an_equivocation_jail_cannot_be_lifted() -> None:
    chain = chain_of()
    bad = validator_wallet(1)
    run_until_height(chain, 4)
    reporter = Wallet.of(0)
    assert chain.run([reporter.tx(0, equivocation(1, height=2))]).receipts[0].code == OK
    assert is_jailed(chain.state.reader, bad.address)
    run_until_height(chain, 40)
    assert name_of(chain.run([bad.tx(0, Unjail())]).receipts[0].code) == (
        "registry.jail_is_permanent"
    )


def test_evidence_against_a_validator_jailed_for_downtime_makes_the_jail_permanent() -> None:
    chain = chain_of(slash_fraction_bps=1_000)
    down = validator_wallet(3)
    chain.absent.add(down.address)
    run_until_height(chain, 11)  # jailed for downtime in block 11
    chain.absent = set()
    stake = staking_queries.validator(chain.state.reader, down.address).stake
    evidence = equivocation(3, height=2)
    assert chain.run([Wallet.of(0).tx(0, evidence)]).receipts[0].code == OK
    reader = chain.state.reader
    assert staking_queries.validator(reader, down.address).stake == stake - stake // 10
    assert unjail_height(reader, down.address) is None
    run_until_height(chain, 40)
    code = chain.run([down.tx(0, Unjail())]).receipts[0].code
    assert name_of(code) == "registry.jail_is_permanent"
