"""Consensus messages: one signed record for all four QBFT kinds, and the envelopes that carry
a proposal's block and justifications.

Signed record, wire form `[kind, height, round, digest, prepared_round, seal, signer, sig]`:
- PROPOSAL, PREPARE: `digest` is the block hash;
- COMMIT: also `seal`, the signer's BLS signature over `commit_seal_message(h, r, digest)`;
- ROUND-CHANGE: `prepared_round` and `digest` are the highest round in which the signer saw a
  prepare quorum and that block's hash, or null and empty if it prepared nothing.
The Ed25519 signature covers `"metanode/consensus-msg/v1" ‖ 0x00 ‖ encode(fields before sig)`.
One record type for every kind makes equivocation evidence uniform: two records by one signer
with equal (kind, height, round) and different content.

Envelopes: a PROPOSAL travels with its block and, from round 1 on, the quorum of ROUND-CHANGEs
that justify it plus the prepare certificate of the highest prepared one; a ROUND-CHANGE travels
with its prepared block and prepare certificate so the next proposer can re-propose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode
from metanode.errors import DecodeError
from metanode.types import Block
from metanode.types.block import KnownTxs, commit_seal_message
from metanode.types.fields import expect_array, expect_bytes, expect_uint
from metanode.types.vote import Kind, Signed

from . import constants

__all__ = [
    "Kind",
    "Message",
    "ProposalMessage",
    "RoundChangeMessage",
    "Signed",
    "commit_seal_message",
    "decode_message",
    "encode_message",
]


@dataclass(frozen=True, slots=True)
class ProposalMessage:
    signed: Signed
    block: Block
    round_changes: tuple[Signed, ...] = ()
    prepares: tuple[Signed, ...] = ()


@dataclass(frozen=True, slots=True)
class RoundChangeMessage:
    signed: Signed
    prepared_block: Block | None = None
    prepares: tuple[Signed, ...] = ()


Message = ProposalMessage | RoundChangeMessage | Signed


def encode_message(message: Message) -> bytes:
    if isinstance(message, ProposalMessage):
        return encode(
            [
                int(Kind.PROPOSAL),
                message.signed.to_wire(),
                message.block.encode(),
                [item.to_wire() for item in message.round_changes],
                [item.to_wire() for item in message.prepares],
            ]
        )
    if isinstance(message, RoundChangeMessage):
        block = message.prepared_block.encode() if message.prepared_block else None
        return encode(
            [
                int(Kind.ROUND_CHANGE),
                message.signed.to_wire(),
                block,
                [item.to_wire() for item in message.prepares],
            ]
        )
    return encode([int(message.kind), message.to_wire()])


def _signed_list(value: Any, name: str) -> tuple[Signed, ...]:
    if not isinstance(value, tuple) or len(value) > constants.messages_per_round_max:
        raise DecodeError("wrong_type", f"{name} must be an array of signed messages")
    return tuple(Signed.from_wire(item) for item in value)


def decode_message(data: bytes, known: KnownTxs | None = None) -> Message:
    """`known`: see `Block.decode` (a node passes its mempool's lookup)."""
    value = decode(data)
    if not isinstance(value, tuple) or not value:
        raise DecodeError("wrong_type", "a consensus envelope is a non-empty array")
    kind = expect_uint(value[0], "envelope.kind")
    if kind == Kind.PROPOSAL:
        _, signed, block, round_changes, prepares = expect_array(value, "proposal", 5)
        envelope: Message = ProposalMessage(
            Signed.from_wire(signed),
            Block.decode(expect_bytes(block, "proposal.block"), known),
            _signed_list(round_changes, "proposal.round_changes"),
            _signed_list(prepares, "proposal.prepares"),
        )
    elif kind == Kind.ROUND_CHANGE:
        _, signed, block, prepares = expect_array(value, "round change", 4)
        envelope = RoundChangeMessage(
            Signed.from_wire(signed),
            None
            if block is None
            else Block.decode(expect_bytes(block, "round_change.block"), known),
            _signed_list(prepares, "round_change.prepares"),
        )
    elif kind in (Kind.PREPARE, Kind.COMMIT):
        _, signed = expect_array(value, "vote", 2)
        envelope = Signed.from_wire(signed)
    else:
        raise DecodeError("unknown_kind", f"envelope kind {kind} is not known")
    inner = envelope if isinstance(envelope, Signed) else envelope.signed
    if int(inner.kind) != kind:
        raise DecodeError("kind_mismatch", f"envelope kind {kind} holds a {inner.kind.name}")
    return envelope
