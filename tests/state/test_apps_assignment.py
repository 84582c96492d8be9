"""apps.assignment: the executor draw. Deterministic for (state, app, epoch, seed), distinct
executors, weighted by stake, the validators until enough executors are registered, and a
new draw per epoch."""

from __future__ import annotations

from collections import Counter

import pytest

from metanode.errors import InvariantViolation
from metanode.state.apps.assignment import candidates, executors
from metanode.state.codes import OK
from metanode.state.genesis.document import from_tree
from metanode.state.registry import queries as registry_queries
from metanode.state.registry.records import Status
from metanode.types import DeployApp, NodeType, RegisterNode, Role, ScaleApp
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
    tree = genesis_tree()
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
    assert record is not None and record.status is Status.ACTIVE  # epoch_blocks = 1
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
