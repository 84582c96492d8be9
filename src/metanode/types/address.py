"""Account addresses: the first 20 bytes of the tagged hash of the account's public key(s),
shown to people as bech32m (BIP 350) with the prefix `mn`.

20 bytes as in Ethereum and Cosmos: 160 bits leave a 2^80 birthday bound, ample for accounts,
and every stored transfer carries one. bech32m comes from the `bech32m` package (the BIP 350
reference code); we only choose the prefix and the 8-to-5 bit conversion.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bech32m import codecs as bech32

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import constants

PREFIX = "mn"


@dataclass(frozen=True, slots=True, order=True)
class Address:
    raw: bytes

    def __post_init__(self) -> None:
        if type(self.raw) is not bytes or len(self.raw) != constants.address_bytes:
            raise DecodeError(
                "wrong_length", f"an address is {constants.address_bytes} bytes, got {self.raw!r}"
            )

    @classmethod
    def from_public_key(cls, *public_keys: bytes) -> Address:
        """One key for an Ed25519 account; the Ed25519 and ML-DSA keys of a hybrid account."""
        return _address_of(public_keys)

    def __str__(self) -> str:
        data = bech32.convertbits(self.raw, 8, 5)
        return bech32.bech32_encode(PREFIX, bytes(data), bech32.Encoding.BECH32M)

    @classmethod
    def parse(cls, text: str) -> Address:
        """Read `mn1…`; a typo fails the checksum and says so."""
        if not isinstance(text, str):
            raise DecodeError("wrong_type", "an address is text such as mn1…")
        try:
            prefix, data, encoding = bech32.bech32_decode(text)
        except bech32.DecodeError:
            raise DecodeError(
                "bad_address_checksum",
                f"{text!r} is not a valid bech32m address: the checksum does not match "
                "(a mistyped or truncated character?)",
            ) from None
        if prefix != PREFIX:
            raise DecodeError("wrong_address_prefix", f"address prefix {prefix!r}, expected 'mn'")
        if encoding is not bech32.Encoding.BECH32M:
            raise DecodeError("not_bech32m", "the address uses the bech32 checksum, not bech32m")
        try:
            raw = bytes(bech32.convertbits(data, 5, 8, pad=False))
        except bech32.DecodeError:
            raise DecodeError("bad_address_padding", f"{text!r} has invalid padding") from None
        return cls(raw)


# Each transaction names its sender by key, and admission, execution and indexing all need the
# address: a bounded cache makes that one hash per active account instead of several per tx.
@functools.lru_cache(maxsize=1 << 16)
def _address_of(public_keys: tuple[bytes, ...]) -> Address:
    material = b"".join(len(key).to_bytes(2, "big") + key for key in public_keys)
    return Address(tagged_hash(tags.ADDRESS, material)[: constants.address_bytes])
