"""An inclusion list: a validator's signed statement, at one height, of the transactions that
have waited in its pool beyond a bound (docs/inclusion.md).

Wire form (deterministic CBOR, positional, version first):
    [1, chain_id, height, public_key, [tx_hash, …], signature]
`tx_hashes` ascend strictly (one encoding per list); `public_key` is the validator's Ed25519
node key, whose address must be in the set at `height`; `signature` is Ed25519 over the
tagged hash (`metanode/inclusion-list/v1`) of the list without it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode, tags
from metanode.crypto import ed25519
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.address import Address
from metanode.types.fields import (
    expect_array,
    expect_bytes,
    expect_text,
    expect_uint,
    expect_version,
)

# Transactions one list may name: a block's worth of the smallest would be far more, but a
# list names only what waited too long, and a long list is the sign of full blocks, not
# censorship.
list_txs_max = 1_000
_HASH = constants.hash_bytes
_chain_id_chars_max = 64


@dataclass(frozen=True, slots=True)
class InclusionList:
    chain_id: str
    height: int
    public_key: bytes
    tx_hashes: tuple[bytes, ...]
    signature: bytes

    @property
    def validator(self) -> Address:
        return Address.from_public_key(self.public_key)

    def _unsigned(self) -> list[Any]:
        return [
            constants.version,
            self.chain_id,
            self.height,
            self.public_key,
            list(self.tx_hashes),
        ]

    def signing_message(self) -> bytes:
        return tagged_hash(tags.INCLUSION_LIST, encode(self._unsigned()))

    def encode(self) -> bytes:
        return encode([*self._unsigned(), self.signature])

    def verify(self) -> None:
        """Raise VerificationError unless the signature is the public key's."""
        ed25519.verify(self.public_key, self.signing_message(), self.signature)

    @classmethod
    def signed(
        cls, key: ed25519.PrivateKey, chain_id: str, height: int, tx_hashes: list[bytes]
    ) -> InclusionList:
        unsigned = cls(chain_id, height, key.public_key, tuple(sorted(set(tx_hashes))), b"")
        return cls(
            chain_id,
            height,
            key.public_key,
            unsigned.tx_hashes,
            key.sign(unsigned.signing_message()),
        )

    @classmethod
    def decode(cls, data: bytes) -> InclusionList:
        fields = expect_array(decode(data), "inclusion_list", 6)
        expect_version(fields[0], "inclusion_list")
        hashes = fields[4]
        if type(hashes) not in (list, tuple) or len(hashes) > list_txs_max:
            raise DecodeError(
                "wrong_type", f"inclusion_list.tx_hashes must be an array of at most {list_txs_max}"
            )
        tx_hashes = tuple(
            expect_bytes(item, "inclusion_list.tx_hashes[]", _HASH) for item in hashes
        )
        if any(a >= b for a, b in itertools.pairwise(tx_hashes)):
            raise DecodeError("wrong_order", "inclusion_list.tx_hashes must ascend strictly")
        found = cls(
            chain_id=expect_text(fields[1], "inclusion_list.chain_id", _chain_id_chars_max),
            height=expect_uint(fields[2], "inclusion_list.height"),
            public_key=expect_bytes(
                fields[3], "inclusion_list.public_key", constants.ed25519_public_key_bytes
            ),
            tx_hashes=tx_hashes,
            signature=expect_bytes(
                fields[5], "inclusion_list.signature", constants.ed25519_signature_bytes
            ),
        )
        if found.encode() != data:
            raise DecodeError("not_canonical", "inclusion_list is not in its one encoding")
        return found
