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

A PROPOSAL goes on the wire compact (docs/decisions/compact-proposals.md): its block's third
field is then not the block's bytes but `[header, [tx_hash…], [evidence…], last_certificate or
null]`, and each receiver rebuilds the block from the transactions it holds (node/compact.py).
The block, its hash and the signed record are the same in both forms; only the wire differs, so
the engine sees a `ProposalMessage` either way and never a `CompactProposal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode
from metanode.errors import DecodeError
from metanode.types import Block
from metanode.types import constants as types_constants
from metanode.types.block import BlockHeader, CommitCertificate, KnownTxs, commit_seal_message
from metanode.types.fields import expect_array, expect_bytes, expect_uint
from metanode.types.vote import Kind, Signed

from . import constants

__all__ = [
    "CompactProposal",
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


@dataclass(frozen=True, slots=True)
class CompactProposal:
    """A PROPOSAL as it travels: the block's header, evidence and last certificate whole, its
    transactions by hash only (`compact_of`)."""

    signed: Signed
    header: BlockHeader
    tx_hashes: tuple[bytes, ...]
    evidence: tuple[bytes, ...]
    last_certificate: CommitCertificate | None
    round_changes: tuple[Signed, ...] = ()
    prepares: tuple[Signed, ...] = ()


def compact_of(message: ProposalMessage) -> CompactProposal:
    block = message.block
    return CompactProposal(
        message.signed,
        block.header,
        tuple(tx.hash() for tx in block.txs),
        block.evidence,
        block.last_certificate,
        message.round_changes,
        message.prepares,
    )


Message = ProposalMessage | RoundChangeMessage | Signed
# What a CONSENSUS frame holds: a message, or a proposal in its compact wire form.
Envelope = Message | CompactProposal


def encode_message(message: Envelope) -> bytes:
    if isinstance(message, CompactProposal | ProposalMessage):
        return encode(
            [
                int(Kind.PROPOSAL),
                message.signed.to_wire(),
                _block_field(message),
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


def _block_field(message: CompactProposal | ProposalMessage) -> Any:
    if isinstance(message, ProposalMessage):
        return message.block.encode()
    last = message.last_certificate
    return [
        message.header.to_wire(),
        list(message.tx_hashes),
        list(message.evidence),
        None if last is None else last.to_wire(),
    ]


def _signed_list(value: Any, name: str) -> tuple[Signed, ...]:
    if not isinstance(value, tuple) or len(value) > constants.messages_per_round_max:
        raise DecodeError("wrong_type", f"{name} must be an array of signed messages")
    return tuple(Signed.from_wire(item) for item in value)


def _compact_block(
    value: Any, signed: Signed, round_changes: Any, prepares: Any
) -> CompactProposal:
    header, hashes, evidence, last = expect_array(value, "proposal.compact", 4)
    if not isinstance(hashes, tuple) or len(hashes) > types_constants.block_txs_max:
        raise DecodeError(
            "wrong_type",
            f"proposal.tx_hashes must be an array of at most {types_constants.block_txs_max}",
        )
    if not isinstance(evidence, tuple):
        raise DecodeError("wrong_type", "proposal.evidence must be an array")
    return CompactProposal(
        signed,
        BlockHeader.from_wire(header),
        _hashes(hashes),
        tuple(
            expect_bytes(item, f"proposal.evidence[{index}]") for index, item in enumerate(evidence)
        ),
        None if last is None else CommitCertificate.from_wire(last),
        _signed_list(round_changes, "proposal.round_changes"),
        _signed_list(prepares, "proposal.prepares"),
    )


def _hashes(items: tuple[Any, ...]) -> tuple[bytes, ...]:
    size = types_constants.hash_bytes
    for index, item in enumerate(items):
        if type(item) is not bytes or len(item) != size:
            # Named only when wrong: naming every item cost a third of a 2,000-hash decoding.
            expect_bytes(item, f"proposal.tx_hashes[{index}]", size)
    return items


def decode_message(data: bytes, known: KnownTxs | None = None) -> Envelope:
    """`known`: see `Block.decode` (a node passes its mempool's lookup). A PROPOSAL whose block
    field is an array is the compact form: a `CompactProposal` comes back."""
    value = decode(data)
    if not isinstance(value, tuple) or not value:
        raise DecodeError("wrong_type", "a consensus envelope is a non-empty array")
    kind = expect_uint(value[0], "envelope.kind")
    if kind == Kind.PROPOSAL:
        _, signed, block, round_changes, prepares = expect_array(value, "proposal", 5)
        envelope: Envelope
        if isinstance(block, tuple):
            envelope = _compact_block(block, Signed.from_wire(signed), round_changes, prepares)
        else:
            envelope = ProposalMessage(
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
