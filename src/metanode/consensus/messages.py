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

import enum
from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import Address, Block
from metanode.types import constants as type_constants
from metanode.types.block import KnownTxs
from metanode.types.fields import expect_array, expect_bytes, expect_uint

from . import constants

_SIGNED_PREFIX = tags.CONSENSUS_MESSAGE.name_bytes + b"\x00"
_HASH = type_constants.hash_bytes


class Kind(enum.IntEnum):
    PROPOSAL = 1
    PREPARE = 2
    COMMIT = 3
    ROUND_CHANGE = 4


@dataclass(frozen=True, slots=True)
class Signed:
    kind: Kind
    height: int
    round: int
    digest: bytes
    prepared_round: int | None
    seal: bytes
    signer: Address
    signature: bytes = b""

    def fields(self) -> list[Any]:
        return [
            int(self.kind),
            self.height,
            self.round,
            self.digest,
            self.prepared_round,
            self.seal,
            self.signer.raw,
        ]

    def signing_message(self) -> bytes:
        return _SIGNED_PREFIX + encode(self.fields())

    def to_wire(self) -> list[Any]:
        return [*self.fields(), self.signature]

    @property
    def slot(self) -> tuple[Address, Kind, int, int]:
        """Two different records in one slot are equivocation."""
        return (self.signer, self.kind, self.height, self.round)

    @classmethod
    def from_wire(cls, value: Any) -> Signed:
        fields = expect_array(value, "consensus message", 8)
        kind_code = expect_uint(fields[0], "message.kind")
        try:
            kind = Kind(kind_code)
        except ValueError:
            raise DecodeError("unknown_kind", f"message kind {kind_code} is not known") from None
        prepared_round = fields[4]
        if prepared_round is not None:
            prepared_round = expect_uint(
                prepared_round, "message.prepared_round", constants.round_max
            )
        digest = expect_bytes(fields[3], "message.digest", maximum=_HASH)
        seal = expect_bytes(fields[5], "message.seal", maximum=type_constants.bls_signature_bytes)
        if kind is Kind.ROUND_CHANGE:
            if (prepared_round is None) != (digest == b""):
                raise DecodeError(
                    "bad_round_change", "prepared round and digest must both be set or both empty"
                )
        elif len(digest) != _HASH or prepared_round is not None:
            raise DecodeError(
                "bad_message", f"{kind.name} needs a 32-byte digest and no prepared round"
            )
        if (kind is Kind.COMMIT) != (len(seal) == type_constants.bls_signature_bytes) or (
            kind is not Kind.COMMIT and seal
        ):
            raise DecodeError("bad_seal", "a COMMIT carries a 96-byte seal, other kinds none")
        return cls(
            kind=kind,
            height=expect_uint(fields[1], "message.height"),
            round=expect_uint(fields[2], "message.round", constants.round_max),
            digest=digest,
            prepared_round=prepared_round,
            seal=seal,
            signer=Address(expect_bytes(fields[6], "message.signer", type_constants.address_bytes)),
            signature=expect_bytes(
                fields[7], "message.signature", type_constants.ed25519_signature_bytes
            ),
        )


def commit_seal_message(height: int, round_: int, digest: bytes) -> bytes:
    """What a validator's BLS commit seal signs; a certificate aggregates these."""
    return tagged_hash(tags.COMMIT_SEAL, encode([height, round_, digest]))


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
