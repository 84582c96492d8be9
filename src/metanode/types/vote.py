"""The signed consensus record: one record for all four QBFT kinds (PROPOSAL, PREPARE, COMMIT,
ROUND-CHANGE), wire form `[kind, height, round, digest, prepared_round, seal, signer, sig]`.

It lives in layer 2 because the state machine reads it too: an equivocation-evidence
transaction carries two of these records and the registry verifies them on chain.
`metanode.consensus.messages` explains each field and re-exports both names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from metanode.codec import encode, tags
from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.address import Address
from metanode.types.fields import expect_array, expect_bytes, expect_uint

_SIGNED_PREFIX = tags.CONSENSUS_MESSAGE.name_bytes + b"\x00"
_HASH = constants.hash_bytes


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
                prepared_round, "message.prepared_round", constants.consensus_round_max
            )
        digest = expect_bytes(fields[3], "message.digest", maximum=_HASH)
        seal = expect_bytes(fields[5], "message.seal", maximum=constants.bls_signature_bytes)
        if kind is Kind.ROUND_CHANGE:
            if (prepared_round is None) != (digest == b""):
                raise DecodeError(
                    "bad_round_change", "prepared round and digest must both be set or both empty"
                )
        elif len(digest) != _HASH or prepared_round is not None:
            raise DecodeError(
                "bad_message", f"{kind.name} needs a 32-byte digest and no prepared round"
            )
        if (kind is Kind.COMMIT) != (len(seal) == constants.bls_signature_bytes) or (
            kind is not Kind.COMMIT and seal
        ):
            raise DecodeError("bad_seal", "a COMMIT carries a 96-byte seal, other kinds none")
        return cls(
            kind=kind,
            height=expect_uint(fields[1], "message.height"),
            round=expect_uint(fields[2], "message.round", constants.consensus_round_max),
            digest=digest,
            prepared_round=prepared_round,
            seal=seal,
            signer=Address(expect_bytes(fields[6], "message.signer", constants.address_bytes)),
            signature=expect_bytes(
                fields[7], "message.signature", constants.ed25519_signature_bytes
            ),
        )
