"""QBFT justifications: when a proposal or a round change may be believed.

- A PROPOSAL for round 0 needs none. From round 1 on it carries ROUND-CHANGEs for its round
  from quorum power (distinct signers). If any of them prepared a block, the proposal must be
  the block of the highest prepared round among them, with a certificate of quorum PREPAREs
  for that round and block (justifyProposal in the QBFT specification).
- A ROUND-CHANGE that claims a prepared block carries the block and its prepare certificate
  (justifyRoundChange); one that prepared nothing carries neither.
- A block's header must be for this chain and height, created by the proposer of the round
  it was first proposed in, with that proposer's VRF proof over the seed and height.
"""

from __future__ import annotations

from collections.abc import Sequence

from metanode.types import Block

from .messages import Kind, ProposalMessage, RoundChangeMessage, Signed
from .state import EngineState
from .validators import vrf_input


def is_prepare_certificate(
    state: EngineState, prepares: Sequence[Signed], round_: int, digest: bytes
) -> bool:
    signers = set()
    for vote in prepares:
        if (vote.kind, vote.height, vote.round, vote.digest) != (
            Kind.PREPARE,
            state.height,
            round_,
            digest,
        ):
            return False
        if vote.signer in signers or not state.authentic(vote):
            return False
        signers.add(vote.signer)
    return state.validators.power_of(signers) >= state.validators.quorum


def highest_prepared(round_changes: Sequence[RoundChangeMessage]) -> RoundChangeMessage | None:
    prepared = [rc for rc in round_changes if rc.signed.prepared_round is not None]
    if not prepared:
        return None
    # Ties (same round) name the same block when a quorum prepared it; the signer orders them.
    return max(prepared, key=lambda rc: (rc.signed.prepared_round, rc.signed.signer))


def round_change_is_valid(state: EngineState, message: RoundChangeMessage) -> bool:
    signed = message.signed
    if signed.prepared_round is None:
        return message.prepared_block is None and not message.prepares
    if signed.prepared_round >= signed.round or message.prepared_block is None:
        return False
    if message.prepared_block.hash() != signed.digest:
        return False
    return is_prepare_certificate(state, message.prepares, signed.prepared_round, signed.digest)


def proposal_is_justified(state: EngineState, message: ProposalMessage) -> bool:
    signed = message.signed
    header = message.block.header
    if signed.round == 0:
        fresh = not message.round_changes and not message.prepares
        return fresh and header.round == 0 and header.proposer == signed.signer
    signers = set()
    for rc in message.round_changes:
        if (rc.kind, rc.height, rc.round) != (Kind.ROUND_CHANGE, state.height, signed.round):
            return False
        if rc.signer in signers or not state.authentic(rc):
            return False
        signers.add(rc.signer)
    if state.validators.power_of(signers) < state.validators.quorum:
        return False
    claimed = [rc for rc in message.round_changes if rc.prepared_round is not None]
    if not claimed:
        # Nobody prepared anything: a new block, created in this round by this proposer.
        return (
            not message.prepares
            and header.round == signed.round
            and (header.proposer == signed.signer)
        )
    highest = max(rc.prepared_round for rc in claimed if rc.prepared_round is not None)
    if not any(rc.prepared_round == highest and rc.digest == signed.digest for rc in claimed):
        return False
    return is_prepare_certificate(state, message.prepares, highest, signed.digest)


def header_is_valid(state: EngineState, block: Block) -> bool:
    header = block.header
    if header.chain_id != state.config.chain_id or header.height != state.height:
        return False
    creator = state.validators.get(header.proposer)
    if creator is None or state.proposer_address(header.round) != header.proposer:
        return False
    output = state.suite.vrf_verify(
        creator.vrf_public_key, vrf_input(state.seed, state.height), header.vrf_proof
    )
    return output is not None
