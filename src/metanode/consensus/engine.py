"""QBFT (IBFT 2.0 lineage) as `step(state, event) -> (state, actions)`.

Theory of operation, for one height h with validator set V and quorum Q = ceil(2·P/3) of power:
- Round r starts with a timer of base·2^r. Its proposer (drawn from the VRF seed) proposes a
  block: a new one in round 0, or from round 1 on one justified by a quorum of ROUND-CHANGEs —
  the block of the highest prepared round among them if any, with that prepare certificate.
- A validator accepts a proposal from the right proposer with a valid justification and a block
  the application says is valid, and sends PREPARE. On Q power of PREPAREs for the accepted
  block it records the block as prepared (with the certificate) and sends COMMIT with its BLS
  seal. On Q power of COMMITs the block is final: the seals become a commit certificate.
- On a timeout it moves to r+1 and sends ROUND-CHANGE with what it prepared. Seeing weak-quorum
  power of ROUND-CHANGEs for higher rounds it joins the lowest of them (it cannot be alone).
Safety: two quorums share an honest validator, and a later proposal must carry the highest
prepared block, so no two blocks get commit quorums at one height. The engine never signs two
different messages in one (kind, round) slot, and says so in a `Persist` before it sends.
A node whose store went back below its record (a re-sync, a snapshot restore) may have signed
anything up to the record's height, so it signs nothing below it (`EngineState.ahead`).

Rules of this file: every handler opens with the stale-input guard; nothing here reads a clock,
draws randomness or does I/O; input from the network is checked here, at the one receive edge.
"""

from __future__ import annotations

from metanode.errors import VerificationError
from metanode.types import Address, Block, CommitCertificate

from . import constants, justification
from .actions import (
    Action,
    Broadcast,
    CommitBlock,
    Persist,
    RequestProposal,
    RequestSync,
    ScheduleTimeout,
    ValidateBlock,
)
from .certificate import build_certificate, verify_certificate
from .events import (
    BlockSynced,
    BlockValidated,
    Event,
    MessageReceived,
    ProposalCandidateReady,
    StartHeight,
    TimeoutFired,
)
from .evidence import Evidence, item_height
from .messages import (
    Kind,
    Message,
    ProposalMessage,
    RoundChangeMessage,
    Signed,
    commit_seal_message,
)
from .record import Durable
from .state import Config, EngineState
from .suite import Suite
from .validators import ValidatorSet

Actions = list[Action]


def new_state(
    config: Config,
    suite: Suite,
    me: Address | None,
    height: int,
    validators: ValidatorSet,
    seed: bytes,
    ahead: Durable | None = None,
) -> EngineState:
    """A node about to run `height`; `StartHeight` for that height starts it. `ahead` is the
    node's write-ahead record when it is above `height` (else ignored): the engine signs
    nothing below the record's height and restores the record when it gets there."""
    if ahead is not None and ahead.height <= height:
        ahead = None
    return EngineState(config, suite, me, height, validators, seed, ahead=ahead)


def restore(
    config: Config,
    suite: Suite,
    me: Address | None,
    record: Durable,
    validators: ValidatorSet,
    seed: bytes,
) -> tuple[EngineState, Actions]:
    """A validator restarting mid-height: it keeps what it signed and prepared, resumes its
    round, and re-sends its votes of that round (identical bytes, so never a conflict)."""
    state = new_state(config, suite, me, record.height, validators, seed)
    state.started = True
    state.round = record.round
    state.prepared_round = record.prepared_round
    state.prepared_block = record.prepared_block
    state.prepared_certificate = record.prepared_certificate
    if record.prepared_block is not None:
        state.blocks[record.prepared_block.hash()] = record.prepared_block
    for message in record.signed:
        state.sent[(message.kind, message.round)] = message
    actions: Actions = [ScheduleTimeout(state.height, state.round, state.timeout_ms(state.round))]
    for (kind, round_), message in sorted(state.sent.items()):
        if round_ == state.round and kind in (Kind.PREPARE, Kind.COMMIT):
            actions.append(Broadcast(message))
    return state, actions


def durable(state: EngineState) -> Durable:
    return Durable(
        height=state.height,
        round=state.round,
        prepared_round=state.prepared_round,
        prepared_block=state.prepared_block,
        prepared_certificate=state.prepared_certificate,
        signed=tuple(state.sent[key] for key in sorted(state.sent)),
    )


def step(state: EngineState, event: Event) -> tuple[EngineState, Actions]:
    actions: Actions = []
    if isinstance(event, StartHeight):
        state = on_start_height(state, event, actions)
    elif isinstance(event, MessageReceived):
        on_message(state, event.message, actions)
    elif isinstance(event, TimeoutFired):
        on_round_timeout(state, event, actions)
    elif isinstance(event, ProposalCandidateReady):
        on_proposal_candidate(state, event, actions)
    elif isinstance(event, BlockValidated):
        on_block_validated(state, event, actions)
    elif isinstance(event, BlockSynced):
        on_block_synced(state, event, actions)
    return state, actions


# --- heights and rounds ---------------------------------------------------------------------


def on_start_height(state: EngineState, event: StartHeight, actions: Actions) -> EngineState:
    if event.height < state.height or (event.height == state.height and state.started):
        return state  # stale: never restart a height this node has begun
    pending_evidence = state.evidence
    buffered = state.future
    ahead = state.ahead
    if ahead is not None and ahead.height == event.height:
        state, resent = restore(
            state.config, state.suite, state.me, ahead, event.validators, event.seed
        )
        actions.extend(resent)
        state.evidence = pending_evidence
    else:
        state = new_state(
            state.config,
            state.suite,
            state.me,
            event.height,
            event.validators,
            event.seed,
            ahead,
        )
        # Before round 0 starts: its proposer's request for a block takes the evidence then.
        state.evidence = pending_evidence
        start_round(state, 0, actions)
    for message in buffered:
        on_message(state, message, actions)
    return state


def start_round(state: EngineState, round_: int, actions: Actions) -> None:
    state.started = True
    state.round = round_
    actions.append(ScheduleTimeout(state.height, round_, state.timeout_ms(round_)))
    if round_ == 0 and is_my_turn(state, 0):
        request_proposal(state, 0, actions)
    elif round_ > 0:
        on_round_change_quorum(state, actions)


def is_my_turn(state: EngineState, round_: int) -> bool:
    return state.is_validator and state.proposer_address(round_) == state.me


def request_proposal(state: EngineState, round_: int, actions: Actions) -> None:
    if round_ in state.requested_proposal:
        return
    state.requested_proposal.add(round_)
    evidence = tuple(list(state.evidence)[: constants.evidence_pending_max])
    actions.append(RequestProposal(state.height, round_, evidence))


def on_round_timeout(state: EngineState, event: TimeoutFired, actions: Actions) -> None:
    if event.height != state.height or event.round != state.round or state.decided:
        return
    move_to_round(state, state.round + 1, actions)


def move_to_round(state: EngineState, round_: int, actions: Actions) -> None:
    """Leave the current round for a higher one and say so with a ROUND-CHANGE."""
    if round_ <= state.round or round_ > constants.round_max:
        return
    if state.is_validator and (Kind.ROUND_CHANGE, round_) not in state.sent:
        prepared_digest = state.prepared_block.hash() if state.prepared_block else b""
        signed = sign(state, Kind.ROUND_CHANGE, round_, prepared_digest, state.prepared_round)
        message = RoundChangeMessage(signed, state.prepared_block, state.prepared_certificate)
        state.round = round_
        send(state, signed, message, actions)
        record_round_change(state, message)
    start_round(state, round_, actions)


# --- the proposer ---------------------------------------------------------------------------


def on_proposal_candidate(
    state: EngineState, event: ProposalCandidateReady, actions: Actions
) -> None:
    if event.height != state.height or event.round != state.round or state.decided:
        return
    if not is_my_turn(state, event.round) or (Kind.PROPOSAL, event.round) in state.sent:
        return
    justification_rcs: tuple[Signed, ...] = ()
    if event.round > 0:
        quorum = round_change_quorum(state, event.round)
        if quorum is None or justification.highest_prepared(quorum) is not None:
            return  # a prepared block must be re-proposed, not a new one
        justification_rcs = tuple(message.signed for message in quorum)
    forget_refused_evidence(state, event.block)
    digest = event.block.hash()
    state.valid.add(digest)  # this node built it
    propose(state, event.block, justification_rcs, (), actions)


def forget_refused_evidence(state: EngineState, block: Block) -> None:
    """Evidence the chain left out of this node's own block, from a height below it, is refused
    for good (already used, signer already jailed, too old: state/registry); keeping it would
    fill the bounded pending list. Evidence of the block's own height waits for the next."""
    included = set(block.evidence)
    for item in list(state.evidence):
        if item not in included and item_height(item) < block.header.height:
            del state.evidence[item]


def propose(
    state: EngineState,
    block: Block,
    round_changes: tuple[Signed, ...],
    prepares: tuple[Signed, ...],
    actions: Actions,
) -> None:
    signed = sign(state, Kind.PROPOSAL, state.round, block.hash(), None)
    message = ProposalMessage(signed, block, round_changes, prepares)
    send(state, signed, message, actions)
    on_proposal(state, message, actions)


def on_round_change_quorum(state: EngineState, actions: Actions) -> None:
    """As the proposer of a round above 0: once a quorum asked for it, propose."""
    round_ = state.round
    if state.decided or not is_my_turn(state, round_) or (Kind.PROPOSAL, round_) in state.sent:
        return
    quorum = round_change_quorum(state, round_)
    if quorum is None:
        return
    highest = justification.highest_prepared(quorum)
    if highest is None:
        request_proposal(state, round_, actions)
        return
    rcs = tuple(message.signed for message in quorum)
    assert highest.prepared_block is not None  # checked when the round change was accepted
    propose(state, highest.prepared_block, rcs, highest.prepares, actions)


def round_change_quorum(state: EngineState, round_: int) -> list[RoundChangeMessage] | None:
    received = state.round_changes.get(round_, {})
    if state.validators.power_of(received) < state.validators.quorum:
        return None
    return [received[address] for address in sorted(received)]


# --- receiving ------------------------------------------------------------------------------


def on_message(state: EngineState, message: Message, actions: Actions) -> None:
    signed = message if isinstance(message, Signed) else message.signed
    if signed.height < state.height:
        return  # stale
    if signed.height > state.height:
        buffer_future(state, message, signed, actions)
        return
    if not state.authentic(signed):
        return
    if not note_for_evidence(state, signed):
        return
    if isinstance(message, ProposalMessage):
        on_proposal(state, message, actions)
    elif isinstance(message, RoundChangeMessage):
        on_round_change(state, message, actions)
    elif signed.kind is Kind.PREPARE:
        on_prepare(state, signed, actions)
    elif signed.kind is Kind.COMMIT:
        on_commit(state, signed, actions)


def buffer_future(state: EngineState, message: Message, signed: Signed, actions: Actions) -> None:
    if signed.height == state.height + 1 and len(state.future) < constants.future_messages_max:
        state.future.append(message)
    state.future_signers.add(signed.signer)
    # Weak-quorum power ahead of us: at least one honest validator has moved on; catch up.
    if (
        not state.sync_requested
        and state.validators.power_of(state.future_signers) >= state.validators.weak_quorum
    ):
        state.sync_requested = True
        actions.append(RequestSync(state.height))


def note_for_evidence(state: EngineState, signed: Signed) -> bool:
    """Record the first message per slot; a different second one is evidence and is dropped."""
    first = state.seen.setdefault(signed.slot, signed)
    if first.fields() == signed.fields():
        return True
    if len(state.evidence) < constants.evidence_pending_max:
        state.evidence[Evidence(first, signed).encode()] = None
    return False


def on_proposal(state: EngineState, message: ProposalMessage, actions: Actions) -> None:
    signed = message.signed
    round_ = signed.round
    if round_ < state.round or state.decided or round_ in state.proposals:
        return
    if signed.signer != state.proposer_address(round_):
        return  # wrong proposer
    if message.block.hash() != signed.digest or message.block.header.round > round_:
        return
    if not justification.proposal_is_justified(state, message):
        return
    if not justification.header_is_valid(state, message.block):
        return
    if round_ > state.round:
        start_round(state, round_, actions)
    state.proposals[round_] = message
    state.blocks[signed.digest] = message.block
    if signed.digest in state.valid:
        prepare(state, round_, signed.digest, actions)
    elif signed.digest not in state.invalid:
        actions.append(ValidateBlock(state.height, round_, message.block))


def on_block_validated(state: EngineState, event: BlockValidated, actions: Actions) -> None:
    if event.height != state.height:
        return
    if not event.valid:
        state.invalid.add(event.digest)
        return
    state.valid.add(event.digest)
    proposal = state.proposals.get(state.round)
    if proposal is not None and proposal.signed.digest == event.digest:
        prepare(state, state.round, event.digest, actions)


def prepare(state: EngineState, round_: int, digest: bytes, actions: Actions) -> None:
    if state.is_validator and (Kind.PREPARE, round_) not in state.sent:
        signed = sign(state, Kind.PREPARE, round_, digest, None)
        send(state, signed, signed, actions)
        state.prepares.setdefault(round_, {})[signed.signer] = signed
    on_prepare_quorum(state, round_, actions)


def on_prepare(state: EngineState, signed: Signed, actions: Actions) -> None:
    if signed.round < state.round or state.decided or not within_window(state, signed.round):
        return
    state.prepares.setdefault(signed.round, {})[signed.signer] = signed
    on_prepare_quorum(state, signed.round, actions)


def on_prepare_quorum(state: EngineState, round_: int, actions: Actions) -> None:
    proposal = state.proposals.get(round_)
    if proposal is None or round_ != state.round or proposal.signed.digest not in state.valid:
        return
    digest = proposal.signed.digest
    votes = [v for v in state.prepares.get(round_, {}).values() if v.digest == digest]
    if state.validators.power_of(v.signer for v in votes) < state.validators.quorum:
        return
    if state.prepared_round is None or state.prepared_round < round_:
        state.prepared_round = round_
        state.prepared_block = proposal.block
        state.prepared_certificate = tuple(sorted(votes, key=lambda vote: vote.signer))
    if state.is_validator and (Kind.COMMIT, round_) not in state.sent:
        signed = sign(state, Kind.COMMIT, round_, digest, None)
        send(state, signed, signed, actions)
        state.commits.setdefault(round_, {})[signed.signer] = signed
    on_commit_quorum(state, round_, digest, actions)


def on_commit(state: EngineState, signed: Signed, actions: Actions) -> None:
    if state.decided or not within_window(state, signed.round):
        return
    # Seals are checked together, once a quorum is in: one fast-aggregate-verify per height
    # instead of one pairing check per COMMIT (on_commit_quorum).
    state.commits.setdefault(signed.round, {})[signed.signer] = signed
    on_commit_quorum(state, signed.round, signed.digest, actions)


def on_commit_quorum(state: EngineState, round_: int, digest: bytes, actions: Actions) -> None:
    if state.decided:
        return
    received = state.commits.get(round_, {})
    votes = [received[signer] for signer in sorted(received) if received[signer].digest == digest]
    if state.validators.power_of(v.signer for v in votes) < state.validators.quorum:
        return
    block = state.blocks.get(digest)
    if block is None:
        # A quorum committed a block this node never saw: fetch it with its certificate.
        if not state.sync_requested:
            state.sync_requested = True
            actions.append(RequestSync(state.height))
        return
    certificate = build_certificate(votes, state.validators, state.suite)
    try:
        verify_certificate(certificate, digest, state.validators, state.suite)
    except VerificationError:
        # Some seal is bad: find it one by one, drop its sender's vote, wait for more.
        for vote in votes:
            if not seal_is_valid(state, vote):
                del received[vote.signer]
        return
    decide(state, block, certificate, actions)


def seal_is_valid(state: EngineState, vote: Signed) -> bool:
    validator = state.validators.get(vote.signer)
    assert validator is not None  # state.authentic() checked membership
    message = commit_seal_message(vote.height, vote.round, vote.digest)
    return state.suite.verify_seal(validator.bls_public_key, message, vote.seal)


def decide(
    state: EngineState, block: Block, certificate: CommitCertificate, actions: Actions
) -> None:
    state.decided = True
    for item in block.evidence:
        state.evidence.pop(item, None)
    actions.append(CommitBlock(block, certificate))


def on_round_change(state: EngineState, message: RoundChangeMessage, actions: Actions) -> None:
    signed = message.signed
    if signed.round < state.round or signed.round == 0 or state.decided:
        return
    if not within_window(state, signed.round):
        return
    if not justification.round_change_is_valid(state, message):
        return
    record_round_change(state, message)
    if message.prepared_block is not None:
        state.blocks[signed.digest] = message.prepared_block
    ahead = {
        address: round_
        for round_, received in state.round_changes.items()
        if round_ > state.round
        for address in received
    }
    if state.validators.power_of(ahead) >= state.validators.weak_quorum:
        move_to_round(state, min(ahead.values()), actions)
    elif signed.round == state.round:
        on_round_change_quorum(state, actions)


def record_round_change(state: EngineState, message: RoundChangeMessage) -> None:
    state.round_changes.setdefault(message.signed.round, {})[message.signed.signer] = message


def on_block_synced(state: EngineState, event: BlockSynced, actions: Actions) -> None:
    header = event.block.header
    if header.height != state.height or state.decided:
        return
    try:
        verify_certificate(event.certificate, event.block.hash(), state.validators, state.suite)
    except VerificationError:
        return
    decide(state, event.block, event.certificate, actions)


# --- signing --------------------------------------------------------------------------------


def within_window(state: EngineState, round_: int) -> bool:
    """Rounds far ahead are held only up to a bound, so a peer cannot fill memory."""
    return round_ <= state.round + constants.round_window_max


def sign(
    state: EngineState, kind: Kind, round_: int, digest: bytes, prepared_round: int | None
) -> Signed:
    assert state.me is not None
    seal = b""
    if kind is Kind.COMMIT:
        seal = state.suite.seal(commit_seal_message(state.height, round_, digest))
    unsigned = Signed(kind, state.height, round_, digest, prepared_round, seal, state.me)
    signature = state.suite.sign(unsigned.signing_message())
    return Signed(kind, state.height, round_, digest, prepared_round, seal, state.me, signature)


def send(state: EngineState, signed: Signed, message: Message, actions: Actions) -> None:
    """Remember, persist, then broadcast: the record is durable before the message leaves."""
    state.sent[(signed.kind, signed.round)] = signed
    state.seen.setdefault(signed.slot, signed)
    actions.append(Persist(durable(state)))
    actions.append(Broadcast(message))
