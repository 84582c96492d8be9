"""A validator whose store went back (the supervisor re-synced it or restored a snapshot after a
failed check) while its write-ahead record stayed (`consensus/`, on a real LMDB) never signs
again at a height it may have signed before the crash: nothing below the record's height, and
at that height only what the record holds (the same bytes)."""

from __future__ import annotations

from pathlib import Path

from metanode.consensus import engine
from metanode.consensus.actions import Action, Broadcast, Persist, RequestProposal
from metanode.consensus.events import BlockValidated, MessageReceived, StartHeight, TimeoutFired
from metanode.consensus.messages import Kind
from metanode.node.durable import ConsensusLog
from tests.consensus.harness import SEED, Committee, Member, feed, of_type
from tests.consensus.test_engine import broadcast_kinds

SIGNED_AT = 3  # the height the validator had reached when its store failed


def carry_out(log: ConsensusLog, actions: list[Action]) -> None:
    for action in of_type(actions, Persist):
        log.save(action.record)


def a_member_proposing_at_neither(low: Committee, high: Committee) -> Member:
    return next(
        member
        for member in low.members
        if member.address not in (low.proposer(0).address, high.proposer(0).address)
    )


def test_a_validator_behind_its_record_signs_nothing_below_it_and_only_the_record_at_it(
    tmp_path: Path,
) -> None:
    low, high = Committee(height=1), Committee(height=SIGNED_AT)
    me = a_member_proposing_at_neither(low, high)
    before_crash = ConsensusLog(tmp_path / "consensus")
    state, actions = high.engine_for(me)
    block = high.block(high.proposer(0))
    state, actions = feed(
        state,
        MessageReceived(high.proposal(high.proposer(0), block)),
        BlockValidated(SIGNED_AT, block.hash(), True),
    )
    carry_out(before_crash, actions)
    (prepared,) = [action.message for action in of_type(actions, Broadcast)]
    before_crash.close()

    # Recovered onto an empty store: the node starts at height 1 with the record it kept.
    recovered = ConsensusLog(tmp_path / "consensus")
    record = recovered.load()
    assert record is not None and record.height == SIGNED_AT
    state = engine.new_state(
        low.config, me.suite, me.address, 1, low.validators, SEED, ahead=record
    )
    below = low.block(low.proposer(0), stamp=7)
    state, actions = feed(
        state,
        StartHeight(1, low.validators, SEED),
        MessageReceived(low.proposal(low.proposer(0), below)),
        BlockValidated(1, below.hash(), True),
        TimeoutFired(1, 0),
        TimeoutFired(1, 1),
        StartHeight(2, low.validators, SEED),
        TimeoutFired(2, 0),
    )
    assert broadcast_kinds(actions) == [] and not of_type(actions, Persist | RequestProposal)

    # At the record's height it re-sends what it signed, byte for byte, and nothing else.
    state, actions = feed(state, StartHeight(SIGNED_AT, high.validators, SEED))
    assert [action.message for action in of_type(actions, Broadcast)] == [prepared]
    other = high.block(high.proposer(0), stamp=99)
    state, actions = feed(
        state,
        MessageReceived(high.proposal(high.proposer(0), other)),
        BlockValidated(SIGNED_AT, other.hash(), True),
    )
    assert Kind.PREPARE not in broadcast_kinds(actions)
    carry_out(recovered, actions)

    # Above it, it is a validator like any other again.
    state, actions = feed(
        state, StartHeight(SIGNED_AT + 1, high.validators, SEED), TimeoutFired(SIGNED_AT + 1, 0)
    )
    assert broadcast_kinds(actions) == [Kind.ROUND_CHANGE]
    carry_out(recovered, actions)
    assert recovered.load().height == SIGNED_AT + 1  # type: ignore[union-attr]
    recovered.close()


def test_a_record_at_or_below_the_store_changes_nothing() -> None:
    committee = Committee(height=SIGNED_AT)
    me = committee.other_than(committee.proposer(0))[0]
    old = Committee(height=1)
    state, actions = old.engine_for(me)
    state, actions = feed(state, TimeoutFired(1, 0))
    (persisted,) = of_type(actions, Persist)
    fresh = engine.new_state(
        committee.config,
        me.suite,
        me.address,
        SIGNED_AT,
        committee.validators,
        SEED,
        ahead=persisted.record,
    )
    assert fresh.ahead is None and fresh.is_validator
