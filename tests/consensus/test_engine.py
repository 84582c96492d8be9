"""Each QBFT rule, driven by hand-built events on one engine (no network)."""

from __future__ import annotations

from dataclasses import replace

from metanode.consensus import engine
from metanode.consensus.actions import (
    Broadcast,
    CommitBlock,
    Persist,
    RequestProposal,
    RequestSync,
    ScheduleTimeout,
    ValidateBlock,
)
from metanode.consensus.certificate import build_certificate, verify_certificate
from metanode.consensus.events import (
    BlockSynced,
    BlockValidated,
    MessageReceived,
    ProposalCandidateReady,
    StartHeight,
    TimeoutFired,
)
from metanode.consensus.evidence import Evidence
from metanode.consensus.messages import Kind, RoundChangeMessage, decode_message, encode_message
from metanode.consensus.record import Durable
from metanode.testing.model_suite import ModelSuite
from metanode.types import CommitCertificate
from metanode.types.light_attack import LightAttackEvidence, LightAttackItem
from tests.consensus.harness import Committee, feed, of_type


def broadcast_kinds(actions) -> list[Kind]:
    kinds = []
    for action in of_type(actions, Broadcast):
        message = action.message
        kinds.append(message.kind if hasattr(message, "kind") else message.signed.kind)
    return kinds


def accepted_prepare_setup():
    """A non-proposer that accepted the round-0 proposal and sent PREPARE."""
    committee = Committee()
    proposer = committee.proposer(0)
    me = committee.other_than(proposer)[0]
    state, _ = committee.engine_for(me)
    block = committee.block(proposer)
    state, actions = feed(state, MessageReceived(committee.proposal(proposer, block)))
    assert of_type(actions, ValidateBlock)
    state, actions = feed(state, BlockValidated(1, block.hash(), True))
    return committee, proposer, me, state, block, actions


def test_start_height_schedules_base_timeout_and_proposer_asks_for_a_block() -> None:
    committee = Committee()
    proposer = committee.proposer(0)
    _, actions = committee.engine_for(proposer)
    assert ScheduleTimeout(1, 0, 1_000) in actions
    assert of_type(actions, RequestProposal) == [RequestProposal(1, 0, ())]
    _, others = committee.engine_for(committee.other_than(proposer)[0])
    assert not of_type(others, RequestProposal)


def test_timeouts_double_per_round() -> None:
    committee = Committee()
    state, _ = committee.engine_for(committee.members[0])
    delays = []
    for round_ in range(4):
        state, actions = feed(state, TimeoutFired(1, round_))
        delays += [action.delay_ms for action in of_type(actions, ScheduleTimeout)]
    assert delays == [2_000, 4_000, 8_000, 16_000]


def test_round_zero_timeout_covers_the_proposers_wait_for_transactions() -> None:
    committee = Committee()
    committee.config = replace(committee.config, proposal_wait_ms=700)
    state, actions = committee.engine_for(committee.members[0])
    assert of_type(actions, ScheduleTimeout) == [ScheduleTimeout(1, 0, 1_700)]
    state, actions = feed(state, TimeoutFired(1, 0))
    assert of_type(actions, ScheduleTimeout) == [ScheduleTimeout(1, 1, 2_000)]


def test_normal_height_prepare_commit_decide_with_persist_before_send() -> None:
    committee, _proposer, me, state, block, actions = accepted_prepare_setup()
    assert broadcast_kinds(actions) == [Kind.PREPARE]
    assert isinstance(actions[0], Persist) and isinstance(actions[1], Broadcast)
    assert actions[0].record.signed[-1].kind is Kind.PREPARE
    others = committee.other_than(me)
    state, actions = feed(
        state,
        MessageReceived(committee.signed(others[0], Kind.PREPARE, 0, block.hash())),
        MessageReceived(committee.signed(others[1], Kind.PREPARE, 0, block.hash())),
    )
    assert broadcast_kinds(actions) == [Kind.COMMIT]
    assert state.prepared_round == 0 and state.prepared_block == block
    state, actions = feed(
        state,
        MessageReceived(committee.signed(others[0], Kind.COMMIT, 0, block.hash())),
        MessageReceived(committee.signed(others[1], Kind.COMMIT, 0, block.hash())),
    )
    (commit,) = of_type(actions, CommitBlock)
    assert commit.block == block
    verify_certificate(commit.certificate, block.hash(), committee.validators, ModelSuite(None))
    assert len(commit.certificate.signer_indexes()) == 3


def test_proposer_proposes_its_candidate_and_prepares_it() -> None:
    committee = Committee()
    proposer = committee.proposer(0)
    state, _ = committee.engine_for(proposer)
    block = committee.block(proposer)
    state, actions = feed(state, ProposalCandidateReady(1, 0, block))
    assert broadcast_kinds(actions) == [Kind.PROPOSAL, Kind.PREPARE]
    # Asking twice changes nothing: one proposal per round.
    state, again = feed(state, ProposalCandidateReady(1, 0, committee.block(proposer, stamp=2)))
    assert not of_type(again, Broadcast)


def test_wrong_proposer_is_ignored() -> None:
    committee = Committee()
    proposer = committee.proposer(0)
    impostor, me = committee.other_than(proposer)[:2]
    state, _ = committee.engine_for(me)
    state, actions = feed(
        state, MessageReceived(committee.proposal(impostor, committee.block(impostor)))
    )
    assert actions == []
    assert 0 not in state.proposals


def test_bad_vrf_proof_is_rejected() -> None:
    committee = Committee()
    proposer = committee.proposer(0)
    me = committee.other_than(proposer)[0]
    state, _ = committee.engine_for(me)
    block = committee.block(proposer)
    forged_header = replace(block.header, vrf_proof=bytes(80))
    forged = replace(block, header=forged_header)
    state, actions = feed(state, MessageReceived(committee.proposal(proposer, forged)))
    assert actions == []


def test_bad_signature_and_unknown_signer_are_ignored() -> None:
    committee, proposer, me, state, block, _ = accepted_prepare_setup()
    other = committee.other_than(me, proposer)[0]
    vote = committee.signed(other, Kind.PREPARE, 0, block.hash())
    state, actions = feed(state, MessageReceived(replace(vote, signature=bytes(64))))
    assert other.address not in state.prepares.get(0, {})
    outsider = Committee(size=5).members[4]
    stranger_vote = replace(vote, signer=outsider.address)
    state, actions = feed(state, MessageReceived(stranger_vote))
    assert actions == []


def test_stale_height_and_round_are_dropped_and_future_height_is_buffered() -> None:
    committee, _proposer, me, state, block, _ = accepted_prepare_setup()
    other = committee.other_than(me)[0]
    old = committee.signed(other, Kind.PREPARE, 0, block.hash(), height=0)
    state, actions = feed(state, MessageReceived(old))
    assert actions == [] and not state.future
    ahead = [
        committee.signed(m, Kind.PREPARE, 0, block.hash(), height=2)
        for m in committee.other_than(me)
    ]
    state, actions = feed(state, MessageReceived(ahead[0]))
    assert len(state.future) == 1 and not of_type(actions, RequestSync)
    state, actions = feed(state, MessageReceived(ahead[1]))
    # Weak-quorum power (2 of 4) has moved on: this node asks for the block it missed.
    assert of_type(actions, RequestSync) == [RequestSync(1)]
    state, _ = feed(state, TimeoutFired(1, 0))  # round 1 at height 1
    _state2, actions = feed(state, MessageReceived(old))
    assert actions == []


def test_round_change_after_timeout_carries_what_was_prepared() -> None:
    committee, _proposer, me, state, block, _ = accepted_prepare_setup()
    others = committee.other_than(me)
    state, _ = feed(
        state,
        *[MessageReceived(committee.signed(m, Kind.PREPARE, 0, block.hash())) for m in others[:2]],
    )
    assert state.prepared_round == 0
    state, actions = feed(state, TimeoutFired(1, 0))
    (change,) = [a.message for a in of_type(actions, Broadcast)]
    assert isinstance(change, RoundChangeMessage)
    assert change.signed.round == 1 and change.signed.prepared_round == 0
    assert change.prepared_block == block and len(change.prepares) >= 3
    assert isinstance(actions[0], Persist)


def test_new_proposer_reproposes_the_highest_prepared_block() -> None:
    committee = Committee()
    first = committee.proposer(0)
    next_proposer = committee.proposer(1)
    state, _ = committee.engine_for(next_proposer)
    state, _ = feed(state, TimeoutFired(1, 0))
    old_block = committee.block(first)
    prepares = tuple(
        committee.signed(m, Kind.PREPARE, 0, old_block.hash()) for m in committee.members[:3]
    )
    others = committee.other_than(next_proposer)
    changes = [
        committee.round_change(others[0], 1, old_block, 0, prepares),
        committee.round_change(others[1], 1),
    ]
    state, actions = feed(state, *[MessageReceived(c) for c in changes])
    proposals = [a.message for a in of_type(actions, Broadcast) if hasattr(a.message, "block")]
    assert proposals and proposals[0].block == old_block
    assert proposals[0].signed.round == 1 and len(proposals[0].prepares) == 3
    assert not of_type(actions, RequestProposal)


def test_new_proposer_asks_for_a_new_block_when_nothing_was_prepared() -> None:
    committee = Committee()
    proposer = committee.proposer(1)
    state, _ = committee.engine_for(proposer)
    state, _ = feed(state, TimeoutFired(1, 0))
    changes = [committee.round_change(m, 1) for m in committee.other_than(proposer)[:2]]
    state, actions = feed(state, *[MessageReceived(c) for c in changes])
    assert of_type(actions, RequestProposal) == [RequestProposal(1, 1, ())]


def test_round_one_proposal_needs_a_round_change_quorum() -> None:
    committee = Committee()
    proposer = committee.proposer(1)
    me = committee.other_than(proposer)[0]
    state, _ = committee.engine_for(me)
    state, _ = feed(state, TimeoutFired(1, 0))
    block = committee.block(proposer, round_=1)
    unjustified = committee.proposal(proposer, block, round_=1)
    state, actions = feed(state, MessageReceived(unjustified))
    assert actions == []
    two = tuple(committee.round_change(m, 1).signed for m in committee.members[:2])
    state, actions = feed(state, MessageReceived(committee.proposal(proposer, block, 1, two)))
    assert actions == []
    three = tuple(committee.round_change(m, 1).signed for m in committee.members[:3])
    state, actions = feed(state, MessageReceived(committee.proposal(proposer, block, 1, three)))
    assert of_type(actions, ValidateBlock)


def test_a_proposal_must_carry_the_highest_prepared_block() -> None:
    committee = Committee()
    proposer = committee.proposer(1)
    me = committee.other_than(proposer)[0]
    prepared = committee.block(committee.proposer(0))
    prepares = tuple(
        committee.signed(m, Kind.PREPARE, 0, prepared.hash()) for m in committee.members[:3]
    )
    rcs = (
        committee.round_change(committee.members[0], 1, prepared, 0, prepares).signed,
        committee.round_change(committee.members[1], 1).signed,
        committee.round_change(committee.members[2], 1).signed,
    )
    fresh = committee.block(proposer, round_=1)
    cases = [
        (committee.proposal(proposer, fresh, 1, rcs), False),  # ignores the prepared block
        (committee.proposal(proposer, prepared, 1, rcs, prepares[:2]), False),  # 2 ≠ certificate
        (committee.proposal(proposer, prepared, 1, rcs, prepares), True),
    ]
    for proposal, accepted in cases:
        # A fresh engine each time: two proposals from one proposer in one round would be
        # equivocation, and the second would be dropped as such.
        state, _ = committee.engine_for(me)
        state, _ = feed(state, TimeoutFired(1, 0))
        state, actions = feed(state, MessageReceived(proposal))
        assert bool(of_type(actions, ValidateBlock)) is accepted


def test_weak_quorum_of_higher_round_changes_pulls_a_node_forward() -> None:
    committee = Committee()
    me = committee.members[0]
    state, _ = committee.engine_for(me)
    ahead = [committee.round_change(m, 3) for m in committee.members[1:3]]
    state, actions = feed(state, MessageReceived(ahead[0]))
    assert state.round == 0
    state, actions = feed(state, MessageReceived(ahead[1]))
    assert state.round == 3
    assert broadcast_kinds(actions) == [Kind.ROUND_CHANGE]


def test_restart_never_signs_a_conflicting_prepare() -> None:
    committee, proposer, me, state, _block, actions = accepted_prepare_setup()
    record = Durable.decode(actions[0].record.encode())
    assert record == actions[0].record
    restored, resent = engine.restore(
        committee.config, me.suite, me.address, record, committee.validators, state.seed
    )
    assert broadcast_kinds(resent) == [Kind.PREPARE]
    # An equivocating proposer now shows another block for round 0: no second PREPARE.
    other_block = committee.block(proposer, stamp=99)
    restored, actions = feed(
        restored,
        MessageReceived(committee.proposal(proposer, other_block)),
        BlockValidated(1, other_block.hash(), True),
    )
    assert Kind.PREPARE not in broadcast_kinds(actions)


def test_equivocation_becomes_evidence_for_the_next_proposal() -> None:
    committee, proposer, me, state, block, _ = accepted_prepare_setup()
    liar = committee.other_than(me)[0]
    first = committee.signed(liar, Kind.PREPARE, 0, block.hash())
    second = committee.signed(liar, Kind.PREPARE, 0, committee.block(proposer, stamp=7).hash())
    state, _ = feed(state, MessageReceived(first), MessageReceived(second))
    (encoded,) = list(state.evidence)
    evidence = Evidence.decode(encoded)
    evidence.verify(committee.validators, ModelSuite(None))
    assert {evidence.first, evidence.second} == {first, second}
    # The evidence rides on the next request for a block by this node, also the request of
    # round 0 of a height it proposes first (it was taken before the evidence was carried over,
    # so an honest node's evidence of an omission never reached a block).
    committee.height = next(
        h for h in range(2, 200) if Committee(height=h).proposer(0).address == me.address
    )
    state, actions = feed(state, StartHeight(committee.height, committee.validators, state.seed))
    assert of_type(actions, RequestProposal) == [RequestProposal(committee.height, 0, (encoded,))]


def test_evidence_the_chain_left_out_of_the_own_block_is_forgotten_below_its_height() -> None:
    committee = Committee()
    proposer = committee.proposer(0)
    liar = committee.other_than(proposer)[0]
    state, _ = committee.engine_for(proposer)

    def pair(height: int) -> bytes:
        first = committee.signed(liar, Kind.PREPARE, 0, bytes(32), height=height)
        second = committee.signed(liar, Kind.PREPARE, 0, b"\x01" * 32, height=height)
        return Evidence(first, second).encode()

    def attack(height: int) -> bytes:
        """A light-client attack item accusing `height` (its signatures do not matter here)."""
        header = replace(committee.block(proposer).header, height=height)
        certificate = CommitCertificate(height, 0, header.hash(), b"\x01", bytes(96))
        evidence = LightAttackEvidence(0, bytes(32), header, certificate, bytes(32))
        return LightAttackItem(evidence, None).encode()

    refused, waiting = pair(0), pair(1)
    state.evidence = {refused: None, waiting: None, attack(0): None, attack(1): None}
    state, actions = feed(state, ProposalCandidateReady(1, 0, committee.block(proposer)))
    assert of_type(actions, Broadcast)  # proposed
    # Height 0 below the block's: the chain refused it for good. Height 1 waits for height 2.
    assert list(state.evidence) == [waiting, attack(1)]


def test_synced_block_needs_a_valid_certificate() -> None:
    committee = Committee()
    proposer = committee.proposer(0)
    me = committee.other_than(proposer)[0]
    state, _ = committee.engine_for(me)
    block = committee.block(proposer)
    commits = [committee.signed(m, Kind.COMMIT, 0, block.hash()) for m in committee.members]
    good = build_certificate(commits[:3], committee.validators, ModelSuite(None))
    too_few = build_certificate(commits[:2], committee.validators, ModelSuite(None))
    forged = replace(good, aggregate_signature=bytes(96))
    other_block = replace(good, block_hash=bytes(32))
    for bad in (too_few, forged, other_block):
        state, actions = feed(state, BlockSynced(block, bad))
        assert actions == []
    state, actions = feed(state, BlockSynced(block, good))
    assert of_type(actions, CommitBlock)


def test_envelopes_roundtrip_on_the_wire() -> None:
    committee, proposer, me, _state, block, _actions = accepted_prepare_setup()
    prepares = tuple(committee.signed(m, Kind.PREPARE, 0, block.hash()) for m in committee.members)
    messages = [
        committee.proposal(proposer, block),
        committee.signed(me, Kind.PREPARE, 0, block.hash()),
        committee.signed(me, Kind.COMMIT, 0, block.hash()),
        committee.round_change(me, 1, block, 0, prepares),
        committee.round_change(me, 2),
    ]
    for message in messages:
        assert decode_message(encode_message(message)) == message


def test_a_bad_seal_is_found_and_dropped_and_the_quorum_waits_for_a_good_one() -> None:
    committee, _proposer, me, state, block, _ = accepted_prepare_setup()
    others = committee.other_than(me)
    state, _ = feed(
        state,
        *[MessageReceived(committee.signed(m, Kind.PREPARE, 0, block.hash())) for m in others[:2]],
    )
    good = committee.signed(others[0], Kind.COMMIT, 0, block.hash())
    bad_seal = committee.signed(others[1], Kind.COMMIT, 0, block.hash())
    forged = replace(bad_seal, seal=bytes(96))
    forged = replace(forged, signature=others[1].suite.sign(forged.signing_message()))
    state, actions = feed(state, MessageReceived(good), MessageReceived(forged))
    assert not of_type(actions, CommitBlock)
    assert others[1].address not in state.commits[0]
    last = committee.signed(others[2], Kind.COMMIT, 0, block.hash())
    state, actions = feed(state, MessageReceived(last))
    assert of_type(actions, CommitBlock)
