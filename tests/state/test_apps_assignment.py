"""apps.assignment: the executor draw. Deterministic for (state, app, epoch, seed), distinct
executors, weighted by stake, the validators until enough executors are registered, a new
draw per epoch, and an executor silent for an epoch left out of the next one's draw."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.errors import InvariantViolation
from metanode.state.apps import queries as apps_queries
from metanode.state.apps.assignment import (
    assigned,
    candidates,
    current,
    draw_seed,
    executors,
    silent,
)
from metanode.state.codes import OK
from metanode.state.genesis.document import from_tree
from metanode.state.registry import queries as registry_queries
from metanode.state.registry.records import Status
from metanode.types import Address, CallApp, DeployApp, NodeType, RegisterNode, Role, ScaleApp
from tests.state import test_notary as notary_tests
from tests.state.support import (
    COIN,
    Chain,
    Wallet,
    bls_material,
    genesis_tree,
    make_genesis,
    seed,
    validator_entry,
    validator_wallet,
)
from tests.state.test_apps import COUNTER, COUNTER_ID

OWNER = Wallet.of(0)


def chain_with_validators(stakes: list[int]) -> Chain:
    # Epochs of one block: registered nodes turn active, and draws change, at every block.
    tree = genesis_tree(parameters={"staking": {"unbonding_delay_blocks": 3, "epoch_blocks": 1}})
    tree["validators"] = [validator_entry(index, stake) for index, stake in enumerate(stakes)]
    return Chain(from_tree(tree))


def deploy(chain: Chain, replicas: int, nonce: int = 0) -> None:
    (receipt,) = chain.run([OWNER.tx(nonce, DeployApp(COUNTER, replicas, 1, 1_000))]).receipts
    assert receipt.code == OK


def test_the_draw_is_deterministic_distinct_and_per_epoch() -> None:
    chain = chain_with_validators([10 * COIN] * 4)
    deploy(chain, 3)
    reader = chain.state.reader
    validators = {validator_wallet(index).address for index in range(4)}
    draws = {epoch: executors(reader, COUNTER_ID, epoch, seed("s")) for epoch in range(40)}
    for drawn in draws.values():
        assert len(drawn) == len(set(drawn)) == 3
        assert set(drawn) <= validators
    assert draws[7] == executors(reader, COUNTER_ID, 7, seed("s"))
    assert len({tuple(drawn) for drawn in draws.values()}) > 5  # epochs draw anew
    assert any(executors(reader, COUNTER_ID, e, seed("other")) != draws[e] for e in range(40))


def test_more_replicas_than_candidates_gives_every_candidate() -> None:
    chain = chain_with_validators([10 * COIN] * 2)
    deploy(chain, 5)
    assert len(executors(chain.state.reader, COUNTER_ID, 0, seed("s"))) == 2


def test_the_draw_is_weighted_by_stake() -> None:
    chain = chain_with_validators([900 * COIN, 100 * COIN])
    deploy(chain, 1)
    firsts = Counter(
        executors(chain.state.reader, COUNTER_ID, epoch, seed("w"))[0] for epoch in range(2_000)
    )
    heavy = firsts[validator_wallet(0).address]
    assert 1_700 <= heavy <= 1_900  # 90% expected; 1,800 ± 100 is more than 7 sigma


def test_unknown_app_is_a_bug() -> None:
    chain = Chain(make_genesis())
    with pytest.raises(InvariantViolation):
        executors(chain.state.reader, COUNTER_ID, 0, seed("s"))


def register_executor(chain: Chain, index: int, stake: int) -> Wallet:
    wallet = Wallet.of(index)
    bls_key, pop = bls_material(100 + index)
    message = RegisterNode(
        NodeType.COMMUNITY,
        (Role.EXECUTOR,),
        bls_key,
        pop,
        seed("vrf", 100 + index),
        "node.example:7000",
        f"did:metanode:node{index}",
        stake,
    )
    (receipt,) = chain.run([wallet.tx(0, message)]).receipts
    assert receipt.code == OK
    return wallet


def test_registered_executors_take_over_once_there_are_enough() -> None:
    chain = chain_with_validators([10 * COIN])
    deploy(chain, 2)
    first = register_executor(chain, 1, 5 * COIN)
    register_executor(chain, 2, COIN - 1)  # weighs nothing: less than one whole GEN
    reader = chain.state.reader
    record = registry_queries.node(reader, first.address)
    assert record is not None and record.status is Status.ACTIVE
    # One weighted executor for two replicas: the validators stand in.
    assert executors(reader, COUNTER_ID, 0, seed("s")) == [validator_wallet(0).address]
    second = register_executor(chain, 3, 2 * COIN)
    reader = chain.state.reader
    assert candidates(reader, COUNTER_ID, 2) == sorted(
        [(first.address, 5), (second.address, 2)], key=lambda item: item[0].raw
    )
    assert set(executors(reader, COUNTER_ID, 0, seed("s"))) == {first.address, second.address}
    (receipt,) = chain.run([OWNER.tx(1, ScaleApp(COUNTER_ID, 3))]).receipts
    assert receipt.code == OK
    assert executors(chain.state.reader, COUNTER_ID, 0, seed("s")) == [validator_wallet(0).address]


def _silent_replica(chain: Chain, index: int = 1) -> tuple[int, Address]:
    """Call 0..CALLS-1 notarised with the receipts of drawn replica `index` left out of the
    LogBlock: (the calls' epoch, that replica)."""
    call = apps_queries.call(chain.state.reader, notary_tests.APP, 0)
    assert call is not None
    drawn = assigned(chain.state.reader, notary_tests.APP, call.epoch)
    assert drawn is not None
    last = notary_tests.CALLS - 1
    left_out = tuple((seq, index) for seq in range(last + 1))
    leaves = notary_tests.Replicas(chain).leaves(0, last, silent=left_out)
    logblock = notary_tests.logblock_of(chain, leaves, 0, last)
    assert notary_tests.Submitter(chain).submit(logblock) == OK
    return call.epoch, drawn[index]


SEEDS = [seed("draw", index) for index in range(16)]


def test_an_executor_silent_for_an_epoch_is_left_out_of_the_next_draw_only() -> None:
    chain = Chain(make_genesis(validators=notary_tests.VALIDATORS))
    notary_tests.deploy_and_call(chain)
    app = notary_tests.APP
    drawn = assigned(chain.state.reader, app, 0)
    assert drawn is not None
    # Before the LogBlock the next epoch's draw lands on it for some seeds; after, never.
    assert any(drawn[1] in executors(chain.state.reader, app, 1, each) for each in SEEDS)
    epoch, quiet = _silent_replica(chain)
    assert (epoch, quiet) == (0, drawn[1])
    reader = chain.state.reader
    assert silent(reader, app, epoch + 1) == {quiet}
    for each in SEEDS:
        drawn = executors(reader, app, epoch + 1, each)
        assert len(drawn) == 2 and quiet not in drawn
    # It was heard of in no epoch but that one: a candidate again the epoch after.
    assert silent(reader, app, epoch + 2) == frozenset()
    assert any(quiet in executors(reader, app, epoch + 2, each) for each in SEEDS)


def test_a_silent_executor_is_still_drawn_when_the_replicas_need_it() -> None:
    chain = Chain(make_genesis(validators=notary_tests.VALIDATORS))
    notary_tests.deploy_and_call(chain)
    epoch, quiet = _silent_replica(chain)
    scale = ScaleApp(notary_tests.APP, notary_tests.VALIDATORS)
    (receipt,) = chain.run([notary_tests.OWNER.tx(1, scale)]).receipts
    assert receipt.code == OK
    assert quiet in executors(chain.state.reader, notary_tests.APP, epoch + 1, SEEDS[0])


def test_the_chain_records_the_next_epochs_draw_without_the_silent_executor() -> None:
    parameters = {"staking": {"unbonding_delay_blocks": 3, "epoch_blocks": 4}}
    chain = Chain(make_genesis(validators=notary_tests.VALIDATORS, parameters=parameters))
    app = notary_tests.APP
    notary_tests.deploy_and_call(chain)
    while draw_seed(chain.state.reader)[0] == 0:
        chain.run([])
    # A replica of epoch 0 that epoch 1's draw lands on, were no one known to be silent.
    before = assigned(chain.state.reader, app, 0)
    assert before is not None
    would = executors(chain.state.reader, app, *draw_seed(chain.state.reader))
    index = next(index for index, address in enumerate(before) if address in would)
    epoch, quiet = _silent_replica(chain, index)
    call = CallApp(app, 0, "increment", b"", notary_tests.FUEL_LIMIT)
    (receipt,) = chain.run([notary_tests.CALLER.tx(notary_tests.CALLS, call)]).receipts
    assert receipt.code == OK
    drawn = assigned(chain.state.reader, app, epoch + 1)
    assert drawn is not None and len(drawn) == 2 and quiet not in drawn


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=5),
    st.integers(min_value=1, max_value=5),
    st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=4),
)
def test_a_call_records_the_draw_current_shows_before_it(
    stakes: list[int], replicas: int, calls_per_block: list[int]
) -> None:
    """The call's rule reads `current` once, before its escrow moves, and records that draw
    (`assign`): the record must be what the draw of the state before the block gives, and each
    call's epoch that of the block, whatever the stakes, replicas and calls a block."""
    chain = chain_with_validators([stake * COIN for stake in stakes])
    deploy(chain, min(replicas, len(stakes)))
    caller, nonce = Wallet.of(1), 0
    for count in calls_per_block:
        reader = chain.state.reader
        epoch, seed_now = draw_seed(reader)
        shown = current(reader, COUNTER_ID)
        expected = assigned(reader, COUNTER_ID, epoch)
        if expected is None:
            expected = tuple(executors(reader, COUNTER_ID, epoch, seed_now))
        assert shown == (epoch, expected)
        first = apps_queries.app(reader, COUNTER_ID).calls  # type: ignore[union-attr]
        txs = [
            caller.tx(nonce + index, CallApp(COUNTER_ID, 0, "increment", b"", 1_000))
            for index in range(count)
        ]
        nonce += count
        assert [receipt.code for receipt in chain.run(txs).receipts] == [OK] * count
        after = chain.state.reader
        recorded = assigned(after, COUNTER_ID, epoch)
        assert recorded == (expected if count else assigned(reader, COUNTER_ID, epoch))
        for seq in range(first, first + count):
            assert apps_queries.call(after, COUNTER_ID, seq).epoch == epoch  # type: ignore[union-attr]
