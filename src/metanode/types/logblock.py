"""Notary LogBlocks: the receipts of a range of one app's calls, rolled into an RFC 6962 root
and signed by a quorum of the notary committee (state/notary commits them; docs/notary.md).

Wire form (deterministic CBOR, positional, tagged `metanode/logblock/v1` when self-describing):
    [1, app_id, app_version, first_seq, last_seq, root, [leaf…], signers, aggregate]
    leaf = [receipt_hash, executor, call_seq, previous, result_hash, fuel_used,
            peak_memory_bytes, output_bytes, state_bytes, block_time, (request_tx)]
`request_tx` is present exactly when the receipt is split-origin (version 2): the hash of the
CallApp transaction its client signed, which the chain compares with the call's (state/notary:
`request_mismatch`). One leaf, one encoding: a version 1 receipt's leaf has ten items.
`root` is the RFC 6962 root whose leaf hashes are the leaves' receipt hashes, in leaf order
(sorted by (call_seq, executor)); a receipt hash is a tagged hash, so it cannot pose as an
interior node (the argument `state.machine.txs_root` makes). The committee signs
`"metanode/logblock/v1" ‖ 0x00 ‖ body`, body being the array without `signers` and
`aggregate`, so its signature covers every leaf's usage figures too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2

from metanode.codec import encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.fields import expect_array, expect_bytes, expect_uint

_SIGNED = tags.LOGBLOCK.name_bytes + b"\x00"
_WIRE_HEAD = cbor2.dumps([None] * 9)[:1]  # the CBOR head of a nine-item array
_HASH = constants.hash_bytes
_KEY = constants.ed25519_public_key_bytes


def _plain(value: Any) -> bytes:
    """The deterministic encoding of a LogBlock's body, wire array or one of their items: only
    uint64s, byte strings and arrays, for which cbor2 writes the RFC 8949 §4.2.1 bytes
    (shortest heads, definite lengths, no maps to sort) without the codec's per-type hooks:
    a body of 512 leaves 0.94 -> 0.28 ms, encoded by every notary for each candidate and by
    every node for each LogBlock on chain (docs/performance.md, "Apps, w20"). The fields are
    type-checked where a LogBlock comes in (`from_wire`); tests compare with `codec.encode`."""
    return cbor2.dumps(value)


@dataclass(frozen=True, slots=True)
class LogLeaf:
    """One executor's receipt of one call, with what the chain pays and bills by. `previous`
    and `result_hash` come from the receipt (`docklock.receipt.leaf_of`); `output_bytes` and
    `state_bytes` (the call's output size, the app's state size after it) are measured by the
    executor and attested by the notaries' signature."""

    receipt_hash: bytes
    executor: bytes  # Ed25519 public key
    call_seq: int
    previous: bytes
    result_hash: bytes
    fuel_used: int
    peak_memory_bytes: int
    output_bytes: int
    state_bytes: int
    block_time: int  # ms, the chain block time the call ran at
    request_tx: bytes = b""  # a version 2 receipt's `request.tx_hash`; empty for version 1

    def to_wire(self) -> list[Any]:
        tail = [self.request_tx] if self.request_tx else []
        return [
            self.receipt_hash, self.executor, self.call_seq, self.previous, self.result_hash,
            self.fuel_used, self.peak_memory_bytes, self.output_bytes, self.state_bytes,
            self.block_time, *tail,
        ]  # fmt: skip

    @property
    def order(self) -> tuple[int, bytes]:
        return (self.call_seq, self.executor)

    @classmethod
    def from_wire(cls, value: Any) -> LogLeaf:
        fields = expect_array(value, "logblock.leaf", (10, 11))
        return cls(
            expect_bytes(fields[0], "leaf.receipt_hash", _HASH),
            expect_bytes(fields[1], "leaf.executor", _KEY),
            expect_uint(fields[2], "leaf.call_seq"),
            expect_bytes(fields[3], "leaf.previous", _HASH),
            expect_bytes(fields[4], "leaf.result_hash", _HASH),
            expect_uint(fields[5], "leaf.fuel_used"),
            expect_uint(fields[6], "leaf.peak_memory_bytes"),
            expect_uint(fields[7], "leaf.output_bytes"),
            expect_uint(fields[8], "leaf.state_bytes"),
            expect_uint(fields[9], "leaf.block_time"),
            expect_bytes(fields[10], "leaf.request_tx", _HASH) if len(fields) == 11 else b"",
        )


@dataclass(frozen=True, slots=True)
class LogBlock:
    app_id: bytes
    app_version: int
    first_seq: int
    last_seq: int
    root: bytes
    leaves: tuple[LogLeaf, ...]
    signers: bytes = b""  # bit i (of byte i // 8, lowest bit first) = committee member i signed
    aggregate: bytes = bytes(constants.bls_signature_bytes)

    def body(self) -> list[Any]:
        return [
            1,
            self.app_id,
            self.app_version,
            self.first_seq,
            self.last_seq,
            self.root,
            [leaf.to_wire() for leaf in self.leaves],
        ]

    def signing_message(self) -> bytes:
        return _SIGNED + _plain(self.body())

    def to_wire(self) -> list[Any]:
        return [*self.body(), self.signers, self.aggregate]

    def encode(self) -> bytes:
        return encode(cbor2.CBORTag(tags.LOGBLOCK.number, self.to_wire()))

    def hash(self) -> bytes:
        return tagged_hash(tags.LOGBLOCK, _plain(self.to_wire()))

    def hash_and_signing_message(self) -> tuple[bytes, bytes]:
        """(`hash()`, `signing_message()`) from one encoding of the body, the leaves' bulk: a
        notary's candidate needs both, and encoding up to 512 leaves twice was 2% of a loaded
        node's CPU (docs/performance.md, "Apps, w16")."""
        message, wire = self.signing_message_and_wire()
        return tagged_hash(tags.LOGBLOCK, wire), message

    def signing_message_and_wire(self) -> tuple[bytes, bytes]:
        """(`signing_message()`, the encoding of `to_wire()`) from one encoding of the body: the
        chain checks the aggregate over the first and stores the second (state/notary). The
        wire array is the body's seven items and then `signers` and `aggregate`, so its
        encoding is the body's under a nine-item head with those two appended (both heads are
        one byte: under 24 items)."""
        body = _plain(self.body())
        wire = _WIRE_HEAD + body[1:] + _plain(self.signers) + _plain(self.aggregate)
        return _SIGNED + body, wire

    def signed_by(self, member: int) -> bool:
        byte = member // 8
        return byte < len(self.signers) and bool(self.signers[byte] >> (member % 8) & 1)

    @classmethod
    def from_wire(cls, value: Any) -> LogBlock:
        fields = expect_array(value, "logblock", 9)
        if fields[0] != 1:
            raise DecodeError("unknown_version", "LogBlock version must be 1")
        leaves = fields[6]
        if not isinstance(leaves, tuple) or len(leaves) > constants.logblock_leaves_max:
            raise DecodeError(
                "wrong_type",
                f"logblock.leaves must be an array of at most {constants.logblock_leaves_max}",
            )
        bitmap_max = (constants.notary_committee_max + 7) // 8
        return cls(
            expect_bytes(fields[1], "logblock.app_id", _HASH),
            expect_uint(fields[2], "logblock.app_version"),
            expect_uint(fields[3], "logblock.first_seq"),
            expect_uint(fields[4], "logblock.last_seq"),
            expect_bytes(fields[5], "logblock.root", _HASH),
            tuple(LogLeaf.from_wire(leaf) for leaf in leaves),
            expect_bytes(fields[7], "logblock.signers", maximum=bitmap_max),
            expect_bytes(fields[8], "logblock.aggregate", constants.bls_signature_bytes),
        )
