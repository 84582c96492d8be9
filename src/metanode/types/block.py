"""Block headers, blocks and commit certificates.

Wire forms (deterministic CBOR, positional, version first):
    header      [1, chain_id, height, round, timestamp_ms, previous_hash, txs_root, state_root,
                 receipts_root, validator_set_hash, next_validator_set_hash, proposer, vrf_proof,
                 last_certificate_hash]
    block       [1, header, [tx bytes…], [evidence bytes…], last_certificate or null]
    certificate [1, height, round, block_hash, signer_bitmap, aggregate_signature]

Transactions sit in a block as byte strings holding their own encodings, so a node hashes and
verifies the bytes it received and never re-encodes a transaction. `txs_root` is the RFC 6962
root over the transaction hashes. The block hash is the tagged hash of the encoded header.
Block h (h ≥ 2) carries the commit certificate of h - 1 (`last_certificate`, CometBFT's
LastCommit), and its header commits to it (`last_certificate_hash`, the tagged hash of the
certificate's encoding; zero bytes at height 1, which has none): the state machine counts from
its signer bitmap who signed h - 1 (state/registry/downtime.py).
`timestamp_ms` is the proposer's time in milliseconds, checked by consensus against the parent;
it is the only clock the state machine reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from metanode.codec import decode, encode, tags
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
from metanode.types.transaction import Transaction

_HASH = constants.hash_bytes


@dataclass(frozen=True, slots=True)
class BlockHeader:
    chain_id: str
    height: int
    round: int
    timestamp_ms: int
    previous_hash: bytes
    txs_root: bytes
    state_root: bytes
    receipts_root: bytes
    validator_set_hash: bytes
    next_validator_set_hash: bytes
    proposer: Address
    vrf_proof: bytes
    last_certificate_hash: bytes

    def to_wire(self) -> list[Any]:
        return [
            constants.version,
            self.chain_id,
            self.height,
            self.round,
            self.timestamp_ms,
            self.previous_hash,
            self.txs_root,
            self.state_root,
            self.receipts_root,
            self.validator_set_hash,
            self.next_validator_set_hash,
            self.proposer.raw,
            self.vrf_proof,
            self.last_certificate_hash,
        ]

    def encode(self) -> bytes:
        return encode(self.to_wire())

    def hash(self) -> bytes:
        return tagged_hash(tags.BLOCK_HEADER, self.encode())

    @classmethod
    def decode(cls, data: bytes) -> BlockHeader:
        return cls.from_wire(decode(data))

    @classmethod
    def from_wire(cls, value: Any) -> BlockHeader:
        fields = expect_array(value, "header", 14)
        expect_version(fields[0], "header")
        return cls(
            chain_id=expect_text(fields[1], "header.chain_id", constants.chain_id_bytes_max),
            height=expect_uint(fields[2], "header.height"),
            round=expect_uint(fields[3], "header.round"),
            timestamp_ms=expect_uint(fields[4], "header.timestamp_ms"),
            previous_hash=expect_bytes(fields[5], "header.previous_hash", _HASH),
            txs_root=expect_bytes(fields[6], "header.txs_root", _HASH),
            state_root=expect_bytes(fields[7], "header.state_root", _HASH),
            receipts_root=expect_bytes(fields[8], "header.receipts_root", _HASH),
            validator_set_hash=expect_bytes(fields[9], "header.validator_set_hash", _HASH),
            next_validator_set_hash=expect_bytes(
                fields[10], "header.next_validator_set_hash", _HASH
            ),
            proposer=Address(expect_bytes(fields[11], "header.proposer", constants.address_bytes)),
            vrf_proof=expect_bytes(fields[12], "header.vrf_proof", constants.vrf_proof_bytes),
            last_certificate_hash=expect_bytes(fields[13], "header.last_certificate_hash", _HASH),
        )


KnownTxs = Callable[[bytes], Transaction | None]


def _transactions(items: tuple[Any, ...], known: KnownTxs | None) -> tuple[Transaction, ...]:
    """A block's transactions: those `known` holds taken from it, the rest decoded in one call
    (`Transaction.decode_many`, one crossing into the compiled core for the block). The error
    raised is the first in the block's order, as decoding item by item would raise it."""
    raws: list[bytes] = []
    not_bytes: DecodeError | None = None
    for index, item in enumerate(items):
        try:
            raws.append(expect_bytes(item, f"block.txs[{index}]"))
        except DecodeError as error:
            not_bytes = error
            break
    held = [None if known is None else known(raw) for raw in raws]
    fresh = iter(
        Transaction.decode_many([raw for raw, tx in zip(raws, held, strict=True) if tx is None])
    )
    txs = []
    for tx in held:
        decoded = next(fresh) if tx is None else tx
        if isinstance(decoded, DecodeError):
            raise decoded
        txs.append(decoded)
    if not_bytes is not None:
        raise not_bytes
    return tuple(txs)


def last_certificate_hash(certificate: CommitCertificate | None) -> bytes:
    """What a header holds for the certificate its block carries: zero bytes for none."""
    return bytes(_HASH) if certificate is None else certificate.hash()


@dataclass(frozen=True, slots=True)
class Block:
    header: BlockHeader
    txs: tuple[Transaction, ...]
    evidence: tuple[bytes, ...] = ()
    last_certificate: CommitCertificate | None = None
    encoded: bytes = field(default=b"", compare=False, repr=False)

    def hash(self) -> bytes:
        return self.header.hash()

    def encode(self) -> bytes:
        if self.encoded:
            return self.encoded
        return encode(
            [
                constants.version,
                self.header.to_wire(),
                [tx.encode() for tx in self.txs],
                list(self.evidence),
                None if self.last_certificate is None else self.last_certificate.to_wire(),
            ]
        )

    @classmethod
    def decode(cls, data: bytes, known: KnownTxs | None = None) -> Block:
        """`known` maps a transaction's exact bytes to the decoded transaction a node already
        holds (its mempool): a block of transactions it has seen is not decoded twice."""
        if len(data) > constants.block_bytes_max:
            raise DecodeError(
                "too_long", f"block is {len(data)} bytes, at most {constants.block_bytes_max}"
            )
        fields = expect_array(decode(data), "block", 5)
        expect_version(fields[0], "block")
        header = BlockHeader.from_wire(fields[1])
        tx_items = fields[2]
        if not isinstance(tx_items, tuple) or len(tx_items) > constants.block_txs_max:
            raise DecodeError(
                "wrong_type", f"block.txs must be an array of at most {constants.block_txs_max}"
            )
        txs = _transactions(tx_items, known)
        evidence_items = fields[3]
        if not isinstance(evidence_items, tuple):
            raise DecodeError("wrong_type", "block.evidence must be an array")
        evidence = tuple(
            expect_bytes(item, f"block.evidence[{index}]")
            for index, item in enumerate(evidence_items)
        )
        last = None if fields[4] is None else CommitCertificate.from_wire(fields[4])
        return cls(header, txs, evidence, last, bytes(data))


def commit_seal_message(height: int, round_: int, digest: bytes) -> bytes:
    """What a validator's BLS commit seal signs; a certificate aggregates these (here, not in
    consensus, as the state machine checks certificates of light-client attack evidence)."""
    return tagged_hash(tags.COMMIT_SEAL, encode([height, round_, digest]))


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    """Proof that a quorum committed `block_hash` at (height, round): the signers' positions in
    the validator set as a bitmap (bit i of byte i // 8, least significant bit first) and one
    aggregate BLS signature over their commit seals."""

    height: int
    round: int
    block_hash: bytes
    signer_bitmap: bytes
    aggregate_signature: bytes

    def signer_indexes(self) -> list[int]:
        return [
            index
            for index in range(len(self.signer_bitmap) * 8)
            if self.signer_bitmap[index // 8] >> (index % 8) & 1
        ]

    @staticmethod
    def bitmap_for(indexes: list[int], validator_count: int) -> bytes:
        bitmap = bytearray((validator_count + 7) // 8)
        for index in indexes:
            bitmap[index // 8] |= 1 << (index % 8)
        return bytes(bitmap)

    def to_wire(self) -> list[Any]:
        return [
            constants.version,
            self.height,
            self.round,
            self.block_hash,
            self.signer_bitmap,
            self.aggregate_signature,
        ]

    def encode(self) -> bytes:
        return encode(self.to_wire())

    def hash(self) -> bytes:
        return tagged_hash(tags.COMMIT_CERTIFICATE, self.encode())

    @classmethod
    def decode(cls, data: bytes) -> CommitCertificate:
        return cls.from_wire(decode(data))

    @classmethod
    def from_wire(cls, value: Any) -> CommitCertificate:
        fields = expect_array(value, "certificate", 6)
        expect_version(fields[0], "certificate")
        return cls(
            height=expect_uint(fields[1], "certificate.height"),
            round=expect_uint(fields[2], "certificate.round"),
            block_hash=expect_bytes(fields[3], "certificate.block_hash", _HASH),
            signer_bitmap=expect_bytes(
                fields[4], "certificate.signer_bitmap", maximum=(constants.validators_max + 7) // 8
            ),
            aggregate_signature=expect_bytes(
                fields[5], "certificate.aggregate_signature", constants.bls_signature_bytes
            ),
        )
