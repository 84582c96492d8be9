"""registry: a node leaves with `ExitNode`. It turns unbonding at the next epoch boundary and
leaves the validator set there; its stake waits out staking's unbonding queue, then returns to
its owner and the node turns exited. The guard ladder is pinned, a refused exit changes nothing
but the fee, genesis carries leaving nodes across export and import, and hypothesis drives
random sequences of registrations, exits, evidence and blocks with every invariant checked
after every block (support.Chain)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metanode.errors import ConfigError
from metanode.state.bank import queries as bank_queries
from metanode.state.codes import OK, name_of
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis, genesis_writes
from metanode.state.invariants import check_all
from metanode.state.registry import queries
from metanode.state.registry.records import Status
from metanode.state.registry.rules import REGISTRY_POOL
from metanode.state.staking import queries as staking_queries
from metanode.state.staking.rules import UNBONDING_POOL, is_jailed
from metanode.state.view import MemoryReader
from metanode.types import Bond, Denom, ExitNode, NodeType, Role, Transaction, Unbond
from tests.conftest import examples
from tests.state.support import COIN, FEE, Chain, Wallet, genesis_tree, validator_wallet
from tests.state.test_registry import (
    chain_of,
    equivocation_by,
    parameters,
    registration,
    run_until_height,
)

DELAY = 3  # parameters(): unbonding_delay_blocks; epochs of 4 end at blocks 3, 7, 11…


def validator_node(key: int = 43) -> Any:
    return registration(NodeType.ENTERPRISE, (Role.VALIDATOR,), key=key, stake=20 * COIN)


def status(chain: Chain, wallet: Wallet) -> Status:
    record = queries.node(chain.state.reader, wallet.address)
    assert record is not None
    return record.status


def next_set(chain: Chain) -> set[Any]:
    return {m.address for m in staking_queries.next_validator_set(chain.state.reader)}


def gen(chain: Chain, wallet: Wallet) -> int:
    return bank_queries.balance(chain.state.reader, wallet.address, Denom.GEN)


def test_community_node_unbonds_at_the_epoch_boundary_and_exits_with_its_stake() -> None:
    chain = chain_of()
    node = Wallet.of(1)
    chain.run([node.tx(0, registration(stake=5 * COIN))])  # block 1; active at the end of 3
    run_until_height(chain, 4)
    held = gen(chain, node)
    receipt = chain.run([node.tx(1, ExitNode())]).receipts[0]  # block 5
    assert receipt.code == OK
    assert receipt.events[0].kind == "exiting"
    assert int.from_bytes(receipt.events[0].attributes[0][1], "big") == 5 + DELAY
    record = queries.node(chain.state.reader, node.address)
    assert (record.status, record.stake, record.exit_height) == (Status.ACTIVE, 0, 5 + DELAY)
    assert bank_queries.balance(chain.state.reader, REGISTRY_POOL, Denom.GEN) == 0
    assert bank_queries.balance(chain.state.reader, UNBONDING_POOL, Denom.GEN) == 5 * COIN
    chain.run([])  # block 6
    assert status(chain, node) is Status.ACTIVE
    chain.run([])  # block 7 ends the epoch
    assert status(chain, node) is Status.UNBONDING
    assert gen(chain, node) == held  # still locked
    chain.run([])  # block 8 = 5 + DELAY: staking pays it back
    assert status(chain, node) is Status.EXITED
    assert gen(chain, node) == held + 5 * COIN
    assert bank_queries.balance(chain.state.reader, UNBONDING_POOL, Denom.GEN) == 0


def test_validator_node_leaves_the_set_at_the_next_epoch_and_its_delegators_may_unbond() -> None:
    chain = chain_of()
    node, holder = Wallet.of(2), Wallet.of(1)
    chain.run([node.tx(0, validator_node())])  # block 1
    chain.run([holder.tx(0, Bond(node.address, 7 * COIN))])  # block 2
    run_until_height(chain, 4)
    assert node.address in next_set(chain)
    held = gen(chain, node)
    assert chain.run([node.tx(1, ExitNode())]).receipts[0].code == OK  # block 5
    assert staking_queries.delegation(chain.state.reader, node.address, node.address) == 0
    assert staking_queries.validator(chain.state.reader, node.address).stake == 7 * COIN
    chain.run([])  # block 6: the set fixed at the end of 3 still signs
    assert node.address in next_set(chain)
    chain.run([])  # block 7: the set signing from 9 leaves it out, the holder's 7 GEN or not
    assert node.address not in next_set(chain)
    assert status(chain, node) is Status.UNBONDING
    chain.run([])  # block 8
    assert status(chain, node) is Status.EXITED
    assert gen(chain, node) == held + 20 * COIN
    # Its delegator is not stuck: staking's Unbond still works on a retired validator.
    assert chain.run([holder.tx(1, Unbond(node.address, 7 * COIN))]).receipts[0].code == OK
    run_until_height(chain, 12)
    assert node.address not in next_set(chain)


def test_an_unbonding_delay_shorter_than_the_epoch_exits_a_pending_node_directly() -> None:
    chain = Chain(
        from_tree(
            genesis_tree(
                validators=2,
                parameters={"staking": {"unbonding_delay_blocks": 1, "epoch_blocks": 8}},
            )
        )
    )
    node = Wallet.of(1)
    chain.run([node.tx(0, registration(stake=2 * COIN))])  # block 1: pending until 7
    assert chain.run([node.tx(1, ExitNode())]).receipts[0].code == OK  # block 2
    assert status(chain, node) is Status.PENDING
    chain.run([])  # block 3 = 2 + 1
    assert status(chain, node) is Status.EXITED
    run_until_height(chain, 8)  # the epoch boundary finds no marker left
    assert status(chain, node) is Status.EXITED


def test_exit_ladder_order_is_pinned() -> None:
    chain = chain_of()
    stranger, node, leaving = Wallet.of(0), Wallet.of(2), Wallet.of(1)
    chain.run([node.tx(0, validator_node()), leaving.tx(0, registration(stake=COIN))])
    run_until_height(chain, 5)  # the validator node signs from 5
    chain.run([leaving.tx(1, ExitNode()), Wallet.of(3).tx(0, equivocation_by(node, height=5))])
    # Rung 1: the sender has no record (a genesis validator registered through staking has none).
    steps: list[tuple[Transaction, str]] = [
        (stranger.tx(0, ExitNode()), "registry.node_not_registered"),
        (validator_wallet(0).tx(0, ExitNode()), "registry.node_not_registered"),
        (leaving.tx(2, ExitNode()), "registry.node_already_leaving"),
        (node.tx(1, ExitNode()), "registry.node_jailed"),
    ]
    for tx, code in steps:
        assert name_of(chain.run([tx]).receipts[0].code) == code


def test_a_full_unbonding_queue_refuses_the_exit_until_the_next_block() -> None:
    tree = genesis_tree(validators=2, parameters=parameters())
    tree["unbondings"] = [
        {"delegator": str(Wallet.of(0).address), "amount": "1", "completion_height": 1 + DELAY}
    ] * 1_000
    chain = Chain(from_tree(tree))
    node = Wallet.of(1)
    first = chain.run([node.tx(0, registration(stake=COIN)), node.tx(1, ExitNode())])
    assert [name_of(r.code) for r in first.receipts] == ["ok", "registry.unbonding_queue_full"]
    assert chain.run([node.tx(2, ExitNode())]).receipts[0].code == OK  # block 2: completion 5


def test_refused_exit_changes_nothing_but_the_fee() -> None:
    chain = chain_of()
    sender = Wallet.of(1)
    before = dict(chain.ledger.items)
    flx = bank_queries.balance(chain.state.reader, sender.address, Denom.FLX)
    assert chain.run([sender.tx(0, ExitNode())]).receipts[0].code != OK
    after = chain.ledger.items
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    assert bank_queries.balance(chain.state.reader, sender.address, Denom.FLX) == flx - FEE
    assert all(not key.startswith((b"\x03", b"\x05")) for key in changed)


def test_evidence_against_a_leaving_validator_jails_it_and_it_still_exits() -> None:
    chain = chain_of()
    node = Wallet.of(2)
    chain.run([node.tx(0, validator_node())])  # block 1: it signs from 5
    run_until_height(chain, 5)
    chain.run([node.tx(1, ExitNode())])  # block 6: completion 9
    code = chain.run([Wallet.of(1).tx(0, equivocation_by(node, height=5))]).receipts[0].code
    assert code == OK  # block 7: the stake already unbonding is beyond the slash
    assert is_jailed(chain.state.reader, node.address)
    assert status(chain, node) is Status.UNBONDING  # block 7 ended the epoch
    chain.run([])  # block 8
    chain.run([])  # block 9
    assert status(chain, node) is Status.EXITED


def round_trip(chain: Chain) -> None:
    exported = export_genesis(chain.state.reader)
    again = parse_genesis(exported.to_json())
    assert again == exported
    reader = MemoryReader(dict((k, v) for k, v in genesis_writes(again) if v is not None))
    assert export_genesis(reader) == exported
    check_all(reader)


def test_genesis_round_trip_with_leaving_unbonding_and_exited_nodes() -> None:
    chain = chain_of(validators=2)
    node, validator, late = Wallet.of(1), Wallet.of(2), Wallet.of(3)
    chain.run([node.tx(0, registration(stake=COIN)), validator.tx(0, validator_node())])
    chain.run([node.tx(1, ExitNode()), validator.tx(1, ExitNode())])  # block 2: completion 5
    chain.run([late.tx(0, registration(key=44, did="did:metanode:late", stake=COIN))])
    chain.run([late.tx(1, ExitNode())])  # block 4: a leaving marker until the end of 7
    exported = export_genesis(chain.state.reader)
    assert exported.staking.retired == ((validator.address, 2),)
    assert {r.status for r in exported.registry.nodes} == {Status.UNBONDING, Status.ACTIVE}
    round_trip(chain)
    chain.run([])  # block 5: the first two exit
    assert {r.status for r in export_genesis(chain.state.reader).registry.nodes} == {
        Status.EXITED,
        Status.ACTIVE,
    }
    round_trip(chain)


@pytest.mark.parametrize(
    ("node", "retired", "message"),
    [
        ({"status": "unbonding"}, False, "unbonding and exited nodes need one"),
        ({"status": "active", "exit_height": 9, "stake": "5"}, False, "holds no stake"),
        ({"status": "active", "exit_height": 9}, False, r"in retired\[\] exactly when"),
        ({"status": "active"}, True, r"in retired\[\] exactly when"),
    ],
)
def test_genesis_refuses_inconsistent_leaving_nodes(
    node: dict[str, Any], retired: bool, message: str
) -> None:
    chain = chain_of(validators=2)
    member = Wallet.of(2)
    chain.run([member.tx(0, validator_node())])
    tree: dict[str, Any] = json.loads(export_genesis(chain.state.reader).to_json())
    entry = next(n for n in tree["nodes"] if n["node_type"] == "enterprise")
    entry.update(node)
    if retired:
        tree["retired"] = [{"validator": str(member.address), "height": 1}]
    with pytest.raises(ConfigError, match=message):
        from_tree(tree)


# Random sequences: three wallets register (community or validator), leave, are reported for
# equivocation, and blocks pass; every invariant holds after every block, and each exit either
# succeeds or fails with one of the ladder's codes.
actions = st.lists(
    st.tuples(
        st.sampled_from(["community", "validator", "exit", "evidence", "block"]),
        st.integers(1, 3),
    ),
    max_size=14,
)


@given(steps=actions)
@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_registrations_and_exits_keep_every_invariant(
    steps: list[tuple[str, int]],
) -> None:
    chain = chain_of()
    nonces = dict.fromkeys(range(4), 0)
    exit_codes = {
        "ok",
        "registry.node_not_registered",
        "registry.node_already_leaving",
        "registry.node_jailed",
    }
    for action, index in steps:
        wallet = Wallet.of(index)
        if action == "block":
            chain.run([])
            continue
        if action == "community":
            message: Any = registration(key=50 + index, stake=COIN)
        elif action == "validator":
            message = validator_node(key=60 + index)
        elif action == "exit":
            message = ExitNode()
        else:
            message = equivocation_by(wallet, height=max(1, chain.state.height))
        sender = 0 if action == "evidence" else index  # anyone reports; the node leaves
        code = chain.run([Wallet.of(sender).tx(nonces[sender], message)]).receipts[0].code
        nonces[sender] += 1
        if action == "exit":
            assert name_of(code) in exit_codes
    for _ in range(8):  # every exit started completes
        chain.run([])
    for _address, record in queries.nodes(chain.state.reader):
        assert record.status is not Status.UNBONDING
