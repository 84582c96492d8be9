"""Evidence of a light-client attack: a header signed by a quorum of its set that conflicts
with the chain another provider serves from the same common trusted height (docs/light.md).

Wire form (deterministic CBOR, positional, version first; tagged `metanode/light-attack/v1`
when hashed):
    [1, common_height, common_hash, conflicting_header, conflicting_certificate, trusted_hash]
`common_hash` is the header both providers agree on at `common_height`; `trusted_hash` is the
hash the other provider serves at the conflicting header's height. The validators who signed
both the conflicting header and the trusted one at that height equivocated; when the trusted
set is unchanged the conflict is a double sign, else a lunatic or amnesia attack.

A full node that accepts the evidence carries it in a block's evidence list as a
`LightAttackItem`: `["light-attack", evidence, committed certificate or null]`, the
certificate the chain committed at the conflicting height (from the proposer's store), so that
block processing checks a double sign from chain data alone (state/registry/light_attack.py).
Its three elements tell it apart from an equivocation pair (two elements).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.block import BlockHeader, CommitCertificate
from metanode.types.fields import expect_array, expect_bytes, expect_uint, expect_version

_HASH = constants.hash_bytes


@dataclass(frozen=True, slots=True)
class LightAttackEvidence:
    common_height: int
    common_hash: bytes
    conflicting_header: BlockHeader
    conflicting_certificate: CommitCertificate
    trusted_hash: bytes

    def to_wire(self) -> list[Any]:
        return [
            constants.version,
            self.common_height,
            self.common_hash,
            self.conflicting_header.to_wire(),
            self.conflicting_certificate.to_wire(),
            self.trusted_hash,
        ]

    def encode(self) -> bytes:
        return encode(self.to_wire())

    def hash(self) -> bytes:
        return tagged_hash(tags.LIGHT_ATTACK, self.encode())

    @classmethod
    def decode(cls, data: bytes) -> LightAttackEvidence:
        fields = expect_array(decode(data), "light_attack", 6)
        expect_version(fields[0], "light_attack")
        return cls(
            common_height=expect_uint(fields[1], "light_attack.common_height"),
            common_hash=expect_bytes(fields[2], "light_attack.common_hash", _HASH),
            conflicting_header=BlockHeader.from_wire(fields[3]),
            conflicting_certificate=CommitCertificate.from_wire(fields[4]),
            trusted_hash=expect_bytes(fields[5], "light_attack.trusted_hash", _HASH),
        )


ITEM_KIND = "light-attack"


@dataclass(frozen=True, slots=True)
class LightAttackItem:
    evidence: LightAttackEvidence
    committed: CommitCertificate | None  # None where the chain holds no certificate to show

    def encode(self) -> bytes:
        committed = None if self.committed is None else self.committed.to_wire()
        return encode([ITEM_KIND, self.evidence.to_wire(), committed])

    @classmethod
    def decode(cls, data: bytes) -> LightAttackItem:
        fields = expect_array(decode(data), "light_attack_item", 3)
        if fields[0] != ITEM_KIND:
            raise DecodeError("wrong_kind", f"light_attack_item starts with {ITEM_KIND!r}")
        evidence = LightAttackEvidence.decode(encode(fields[1]))
        committed = None if fields[2] is None else CommitCertificate.from_wire(fields[2])
        item = cls(evidence, committed)
        if item.encode() != data:
            raise DecodeError("not_canonical", "light_attack_item is not in its one encoding")
        return item
