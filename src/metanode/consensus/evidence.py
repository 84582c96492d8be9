"""Equivocation evidence: two messages signed by one validator for the same (kind, height,
round) with different content. Anyone can check it with the validator set alone; the next
proposer carries it in its block (slashing arrives with the staking penalties). A block's
evidence list also carries light-client attack items (types/light_attack.py), which full nodes
accept through the gateway, and omission evidence (types/omission.py), which validators build
from the inclusion lists they hold; `item_height` reads the height of each kind."""

from __future__ import annotations

from dataclasses import dataclass

from metanode.codec import decode, encode
from metanode.errors import DecodeError, VerificationError
from metanode.types.fields import expect_array
from metanode.types.light_attack import LightAttackItem
from metanode.types.omission import OmissionItem

from .messages import Signed
from .suite import Suite
from .validators import ValidatorSet


@dataclass(frozen=True, slots=True)
class Evidence:
    first: Signed
    second: Signed

    def encode(self) -> bytes:
        # Deterministic order: the same pair gives the same bytes whichever was seen first.
        pair = sorted([self.first.to_wire(), self.second.to_wire()], key=encode)
        return encode(pair)

    @classmethod
    def decode(cls, data: bytes) -> Evidence:
        first, second = expect_array(decode(data), "evidence", 2)
        evidence = cls(Signed.from_wire(first), Signed.from_wire(second))
        if evidence.encode() != data:
            raise DecodeError("unsorted_evidence", "evidence pairs are stored in sorted order")
        return evidence

    def verify(self, validators: ValidatorSet, suite: Suite) -> None:
        if self.first.slot != self.second.slot:
            raise VerificationError("the two messages are not for the same kind, height, round")
        if self.first.fields() == self.second.fields():
            raise VerificationError("the two messages are the same message")
        validator = validators.get(self.first.signer)
        if validator is None:
            raise VerificationError("the signer is not in the validator set")
        for message in (self.first, self.second):
            if not suite.verify(validator.public_key, message.signing_message(), message.signature):
                raise VerificationError("a message's signature does not verify")


def item_height(item: bytes) -> int:
    """The height an item of a block's evidence list accuses (the conflicting header's, for a
    light-client attack; the omitting block's, for omission evidence)."""
    if OmissionItem.claims(item):
        return OmissionItem.decode(item).block.header.height
    try:
        return Evidence.decode(item).first.height
    except DecodeError:
        return LightAttackItem.decode(item).evidence.conflicting_header.height
