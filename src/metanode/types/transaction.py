"""Signed transactions.

Wire form (deterministic CBOR, positional):
    [version, chain_id, sender, nonce, fee, expiry_height, message, signature]            Ed25519
    [version, chain_id, sender, nonce, fee, expiry_height, message, pq_key, signature]    hybrid

The signature covers `"metanode/tx-sig/v1" || 0x00 || body`, where `body` is the same array
without its last element; a hybrid account signs that message with both Ed25519 and ML-DSA-65
(`metanode.crypto.pq`). The transaction hash is `tagged_hash(TX, encoding)`.

A decoded transaction keeps the bytes it arrived as: its hash and the signed body are computed
from them, never from a re-encoding (decode once, hash once, verify once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from metanode import core
from metanode.codec import decode_typed, encode, tags
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
from metanode.types.messages import (
    Denom,
    Message,
    ProveKyc,
    PublishZkIssuer,
    RotateNodeKey,
    RuleDispute,
    SubmitLogBlock,
    Transfer,
    message_from_wire,
    message_to_wire,
)

_SIGNED_PREFIX = tags.TX_SIGNATURE.name_bytes + b"\x00"


def _bytes_item_length(length: int) -> int:
    """Bytes taken by a CBOR byte string of `length` bytes: head plus content."""
    if length < 24:
        return 1 + length
    if length < 0x100:
        return 2 + length
    if length < 0x1_0000:
        return 3 + length
    return 5 + length


def bytes_max(message: Message) -> int:
    """A transaction's size bound, by the message it carries."""
    if isinstance(message, SubmitLogBlock | RuleDispute):
        # A ruling carries proofs of the keys its call touches and the loser's witness records
        # (outputs and values up to the cage's limits), as a LogBlock its leaves.
        return constants.logblock_tx_bytes_max
    if isinstance(message, ProveKyc | PublishZkIssuer):
        return constants.privacy_tx_bytes_max
    if isinstance(message, RotateNodeKey):
        return constants.rotation_tx_bytes_max
    return constants.tx_bytes_max


@dataclass(frozen=True, slots=True)
class Transaction:
    chain_id: str
    sender: bytes
    nonce: int
    fee: int
    expiry_height: int
    message: Message
    signature: bytes = b""
    pq_public_key: bytes | None = None
    encoded: bytes = field(default=b"", compare=False, repr=False)
    # The hash, once computed: the pool, the block decoder, the validator's preverify and the
    # state machine all ask the same object for it (four SHA-256 runs a transaction before).
    # The compiled decoder hashes a transfer without the GIL and sets it (`_from_compiled`).
    _hash: bytes = field(default=b"", init=False, compare=False, repr=False)
    # The sender's address, once computed: the compiled decoder hashes it without the GIL
    # (rust/src/transaction.rs), so execution and indexing read it here.
    _sender_address: Address | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def is_hybrid(self) -> bool:
        return self.pq_public_key is not None

    @property
    def sender_address(self) -> Address:
        address = self._sender_address
        if address is None:
            if self.pq_public_key is None:
                address = Address.from_public_key(self.sender)
            else:
                address = Address.from_public_key(self.sender, self.pq_public_key)
            object.__setattr__(self, "_sender_address", address)  # a pure function's cache
        return address

    def body_fields(self) -> list[Any]:
        body: list[Any] = [
            constants.version,
            self.chain_id,
            self.sender,
            self.nonce,
            self.fee,
            self.expiry_height,
            message_to_wire(self.message),
        ]
        if self.pq_public_key is not None:
            body.append(self.pq_public_key)
        return body

    def signing_message(self) -> bytes:
        """What the account signs: the domain prefix and the encoded body."""
        if self.encoded:
            signature_item = _bytes_item_length(len(self.signature))
            body = bytes([self.encoded[0] - 1]) + self.encoded[1:-signature_item]
            return _SIGNED_PREFIX + body
        return _SIGNED_PREFIX + encode(self.body_fields())

    def encode(self) -> bytes:
        if self.encoded:
            return self.encoded
        return encode([*self.body_fields(), self.signature])

    def hash(self) -> bytes:
        digest = self._hash
        if not digest:
            digest = tagged_hash(tags.TX, self.encode())
            object.__setattr__(self, "_hash", digest)  # a cache of a pure function of the fields
        return digest

    def with_signature(self, signature: bytes) -> Transaction:
        unsigned = Transaction(
            self.chain_id,
            self.sender,
            self.nonce,
            self.fee,
            self.expiry_height,
            self.message,
            signature,
            self.pq_public_key,
        )
        return Transaction.decode(unsigned.encode())

    @classmethod
    def decode(cls, data: bytes) -> Transaction:
        """Strict decoding within the size bound of the message carried: `tx_bytes_max`, or
        the larger `logblock_tx_bytes_max` for a LogBlock (message 22) or a ruling (27), or
        `privacy_tx_bytes_max` for a zero-knowledge proof or an issuer's definitions (33, 34),
        or `rotation_tx_bytes_max` for a node key rotation (43).
        Bytes past the larger bound are refused before decoding."""
        too_long = f"transaction is {len(data)} bytes, at most"
        if len(data) > constants.logblock_tx_bytes_max:
            raise DecodeError("too_long", f"{too_long} {constants.logblock_tx_bytes_max}")
        encoded = bytes(data)
        tx = decode_typed(encoded, lambda value: cls.from_wire(value, encoded))
        if len(data) > bytes_max(tx.message):
            raise DecodeError(
                "too_long_for_message", f"{too_long} {bytes_max(tx.message)} for its message"
            )
        return tx

    @classmethod
    def decode_many(cls, items: Sequence[bytes]) -> list[Transaction | DecodeError]:
        """`decode` of each item, its DecodeError in its place if it has one. The compiled core
        decodes transfers for the whole list in one call (`metanode.core`); other messages,
        refused items (for the reference's message naming the field) and the reference
        (`METANODE_CORE=python`) go through `decode`."""
        compiled = core.native()
        if compiled is None:
            return [_decoded_or_error(item) for item in items]
        return [
            _from_compiled(item, fields)
            for item, fields in zip(
                items,
                compiled.decode_transactions(items, _TAG_NUMBERS, _HASH_PREFIX),
                strict=True,
            )
        ]

    @classmethod
    def from_wire(cls, value: Any, encoded: bytes) -> Transaction:
        fields = expect_array(value, "transaction", (8, 9))
        expect_version(fields[0], "transaction")
        pq_public_key = None
        if len(fields) == 9:
            pq_public_key = expect_bytes(
                fields[7], "transaction.pq_key", constants.mldsa65_public_key_bytes
            )
            signature_length = constants.ed25519_signature_bytes + constants.mldsa65_signature_bytes
        else:
            signature_length = constants.ed25519_signature_bytes
        return cls(
            chain_id=expect_text(fields[1], "transaction.chain_id", constants.chain_id_bytes_max),
            sender=expect_bytes(
                fields[2], "transaction.sender", constants.ed25519_public_key_bytes
            ),
            nonce=expect_uint(fields[3], "transaction.nonce"),
            fee=expect_uint(fields[4], "transaction.fee"),
            expiry_height=expect_uint(fields[5], "transaction.expiry_height"),
            message=message_from_wire(fields[6]),
            signature=expect_bytes(fields[-1], "transaction.signature", signature_length),
            pq_public_key=pq_public_key,
            encoded=encoded,
        )


log = logging.getLogger("metanode.types")

_TAG_NUMBERS = sorted(tags.BY_NUMBER)
# `tagged_hash(TX, …)`'s prefix, for the core to hash each transfer it decodes.
_HASH_PREFIX = tags.TX.name_bytes + b"\x00"
CORE_PANIC = "core_panic"


def _from_compiled(item: bytes, fields: tuple[Any, ...] | None) -> Transaction | DecodeError:
    """One item of `decode_transactions`: a transfer's fields with its address and hash, None
    (not a transfer) or (rule, offset), which the reference decodes again for its message
    naming the field; or the rule `core_panic`, a panic the core caught
    (rust/src/transaction.rs, `guarded`).

    A panicking item is decoded by the reference too: whether a transaction is valid is
    consensus, and must not depend on which implementation a node runs (a node on the core
    refusing what one on the reference accepts would split them). The panic is a bug in rust/,
    so it is logged as an error."""
    if fields is None:
        return _decoded_or_error(item)
    if len(fields) == 2:
        if fields[0] == CORE_PANIC:
            log.error(
                "the compiled core panicked decoding a transaction (a bug in rust/); "
                "the reference decoded it",
                extra={"bytes": len(item), "hash_prefix": item[:16].hex()},
            )
        return _decoded_or_error(item)
    chain_id, sender, nonce, fee, expiry, to, amount, denom, pq_key, sig, address, digest = fields
    transfer = Transfer(Address(to), amount, Denom(denom))
    tx = Transaction(chain_id, sender, nonce, fee, expiry, transfer, sig, pq_key, item)
    object.__setattr__(tx, "_sender_address", Address(address))
    object.__setattr__(tx, "_hash", digest)
    return tx


def _decoded_or_error(data: bytes) -> Transaction | DecodeError:
    try:
        return Transaction.decode(data)
    except DecodeError as error:
        return error
