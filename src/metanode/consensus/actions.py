"""Outputs of the engine, carried out in order by the node or the simulator.

Order matters: a `Persist` always comes before the `Broadcast` of a message it records, and the
owner must make it durable (LMDB commit) before it sends anything that follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.types import Block, CommitCertificate

from .messages import Message
from .record import Durable


@dataclass(frozen=True, slots=True)
class Broadcast:
    message: Message


@dataclass(frozen=True, slots=True)
class Persist:
    record: Durable


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    height: int
    round: int
    delay_ms: int


@dataclass(frozen=True, slots=True)
class RequestProposal:
    """Build a block for (height, round), including this pending evidence."""

    height: int
    round: int
    evidence: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ValidateBlock:
    height: int
    round: int
    block: Block


@dataclass(frozen=True, slots=True)
class CommitBlock:
    """Final: the block and the certificate that proves a quorum committed it."""

    block: Block
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class RequestSync:
    """Peers are past `height`: fetch its block and certificate (`BlockSynced`)."""

    height: int


Action = (
    Broadcast
    | Persist
    | ScheduleTimeout
    | RequestProposal
    | ValidateBlock
    | CommitBlock
    | (RequestSync)
)
