"""Evidence that a proposer left a listed transaction out of a block that had room for it
(docs/inclusion.md "Punishment on chain"; checked by state/registry/omission.py).

A block's evidence list carries it as an `OmissionItem`:
    ["omission", tx, [inclusion_list, …], block, proposal]
`tx` is the left-out transaction's encoding; each `inclusion_list` is a signed list's encoding
(types/inclusion.py) of the omitting block's height that names `tx`; `block` is the omitting
block's encoding and `proposal` (wire form, types/vote.py) the consensus record in which its
proposer proposed it. The block need not have been committed: validators holding the lists
refuse to prepare it, so a censoring proposal usually is not, and signing it is the offence.
Everything the rule needs is in the item or in state, so every validator judges it alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.codec import decode, encode
from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.block import Block
from metanode.types.fields import expect_array, expect_bytes
from metanode.types.inclusion import InclusionList
from metanode.types.transaction import Transaction
from metanode.types.vote import Signed

ITEM_KIND = "omission"


@dataclass(frozen=True, slots=True)
class OmissionItem:
    tx: Transaction
    lists: tuple[InclusionList, ...]
    block: Block
    proposal: Signed

    def encode(self) -> bytes:
        return encode(
            [
                ITEM_KIND,
                self.tx.encode(),
                [item.encode() for item in self.lists],
                self.block.encode(),
                self.proposal.to_wire(),
            ]
        )

    @staticmethod
    def claims(data: bytes) -> bool:
        """Whether `data` says it is omission evidence (then it must decode as one)."""
        try:
            value = decode(data)
        except DecodeError:
            return False
        return isinstance(value, tuple) and bool(value) and value[0] == ITEM_KIND

    @classmethod
    def decode(cls, data: bytes) -> OmissionItem:
        fields = expect_array(decode(data), "omission_item", 5)
        if fields[0] != ITEM_KIND:
            raise DecodeError("wrong_kind", f"omission_item starts with {ITEM_KIND!r}")
        lists = fields[2]
        # One list per validator at most: more could only repeat a signer.
        if type(lists) is not tuple or not 1 <= len(lists) <= constants.validators_max:
            raise DecodeError(
                "wrong_type",
                f"omission_item.lists must be an array of 1 to {constants.validators_max}",
            )
        item = cls(
            Transaction.decode(expect_bytes(fields[1], "omission_item.tx")),
            tuple(
                InclusionList.decode(expect_bytes(entry, "omission_item.lists[]"))
                for entry in lists
            ),
            Block.decode(expect_bytes(fields[3], "omission_item.block")),
            Signed.from_wire(fields[4]),
        )
        if item.encode() != data:
            raise DecodeError("not_canonical", "omission_item is not in its one encoding")
        return item
