"""Inputs to the engine. Time arrives only here (`TimeoutFired`), never from a clock."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.types import Block, CommitCertificate

from .messages import Message
from .validators import ValidatorSet


@dataclass(frozen=True, slots=True)
class StartHeight:
    """The node has applied the previous block: run consensus for `height` with this set."""

    height: int
    validators: ValidatorSet
    seed: bytes


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: Message


@dataclass(frozen=True, slots=True)
class TimeoutFired:
    height: int
    round: int


@dataclass(frozen=True, slots=True)
class ProposalCandidateReady:
    """The application built the block this node asked for with `RequestProposal`."""

    height: int
    round: int
    block: Block


@dataclass(frozen=True, slots=True)
class BlockValidated:
    """The application's verdict on a proposed block (`ValidateBlock`)."""

    height: int
    digest: bytes
    valid: bool


@dataclass(frozen=True, slots=True)
class BlockSynced:
    """A block and its certificate fetched from a peer for the height this node is stuck at."""

    block: Block
    certificate: CommitCertificate


Event = (
    StartHeight
    | MessageReceived
    | TimeoutFired
    | ProposalCandidateReady
    | BlockValidated
    | (BlockSynced)
)
