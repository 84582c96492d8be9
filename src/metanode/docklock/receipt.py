"""Execution receipts and the replay bundle.

Receipt body (deterministic CBOR, positional, tagged `metanode/exec-receipt/v1` on disk):
    version 1: [1, app_id, function, input_hash, state_root_before, state_root_after, fuel_used,
                peak_memory_bytes, witness_root, witness_length, outcome, output_hash,
                block_time, seed, executor, previous]
    version 2: [2, …the same fifteen fields…, request_tx, client, client_signature]
Version 2 is the split-origin receipt (docs/audit.md): `request_tx` is the hash of the CallApp
transaction the call came from, `client` its sender's Ed25519 key and `client_signature` the
client's signature of that transaction, so the receipt holds both origins' signatures: the
client's over what it asked, the executor's over that and what it answered. An auditor holding
the transaction checks the first with the transaction's own rule. Executors sign version 2 for
every call they know the transaction of; version 1 receipts, signed before, stay valid.
`app_id`, `input_hash` and `output_hash` are BLAKE3; state roots are app state roots
(`docklock.appstate`: the state tree's root over the app's entries and their count);
`previous` is the hash of the app's previous receipt (zero for the first), so receipts form a
chain per app. The executor's Ed25519 signature covers
`"metanode/exec-receipt/v1" ‖ 0x00 ‖ body`; the receipt hash is the tagged hash of the body
and signature.

A bundle (what `bpi exec --receipt FILE` writes) carries what a replay needs besides the
receipt: the module, the input, the initial state, the witness records and the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cbor2

from metanode.codec import decode, decode_typed, encode, tags
from metanode.crypto import ed25519
from metanode.crypto.hashing import tagged_hash
from metanode.docklock.witness import Record, logged
from metanode.errors import DecodeError, VerificationError
from metanode.state.values import encode_plain
from metanode.types import constants as types_constants
from metanode.types.fields import expect_array, expect_bytes, expect_text, expect_uint
from metanode.types.logblock import LogLeaf

if TYPE_CHECKING:
    from metanode.docklock.appstate import ProvenState

_SIGNED = tags.EXEC_RECEIPT.name_bytes + b"\x00"
_LENGTHS = {1: 17, 2: 20}  # fields of the tagged array, signature included, by version
# The wire form is `tag head ‖ array head (one byte: 17 and 20 fields are under 24) ‖ body's
# fields ‖ signature (0x58 0x40 and 64 bytes)`; the body alone is the same fields under an
# array head of one field less.
_TAG_HEAD = cbor2.dumps(cbor2.CBORTag(tags.EXEC_RECEIPT.number, []))[:-1]
_SIGNATURE_ITEM_BYTES = 2 + types_constants.ed25519_signature_bytes
_SIGNATURE_HEAD = cbor2.dumps(bytes(types_constants.ed25519_signature_bytes))[:2]
# A hybrid account signs with Ed25519 and ML-DSA-65 (types/transaction.py).
client_signature_bytes_max = (
    types_constants.ed25519_signature_bytes + types_constants.mldsa65_signature_bytes
)


@dataclass(frozen=True, slots=True)
class Request:
    """The client's origin of a call: its CallApp transaction's hash, sender and signature."""

    tx_hash: bytes
    client: bytes
    signature: bytes

    def fields(self) -> list[Any]:
        return [self.tx_hash, self.client, self.signature]


def call_seed(block_seed: bytes, app_id: bytes, version: int, seq: int) -> bytes:
    """The seed of call `seq` (executor/calls.py explains it). Its items are uint64s and byte
    strings: `encode_plain` writes the codec's bytes (tests/docklock compare them)."""
    return tagged_hash(tags.EXEC_SEED, encode_plain([1, block_seed, app_id, version, seq]))


def result_hash(state_root_after: bytes, output_hash: bytes, outcome: str, fuel_used: int) -> bytes:
    """`Receipt.result_hash` of a run's figures (the court compares a replay with it)."""
    figures = [state_root_after, output_hash, outcome, fuel_used]
    return tagged_hash(tags.EXEC_RESULT, encode_plain(figures))


@dataclass(frozen=True, slots=True)
class Receipt:
    app_id: bytes
    function: str
    input_hash: bytes
    state_root_before: bytes
    state_root_after: bytes
    fuel_used: int
    peak_memory_bytes: int
    witness_root: bytes
    witness_length: int
    outcome: str
    output_hash: bytes
    block_time: int
    seed: bytes
    executor: bytes
    previous: bytes
    signature: bytes = b""
    request: Request | None = None  # version 2 when present

    @property
    def version(self) -> int:
        return 1 if self.request is None else 2

    def body(self) -> list[Any]:
        tail = [] if self.request is None else self.request.fields()
        return [
            self.version, self.app_id, self.function, self.input_hash, self.state_root_before,
            self.state_root_after, self.fuel_used, self.peak_memory_bytes, self.witness_root,
            self.witness_length, self.outcome, self.output_hash, self.block_time, self.seed,
            self.executor, self.previous, *tail,
        ]  # fmt: skip

    def signing_message(self) -> bytes:
        """The body holds only uint64s, byte and text strings: `encode_plain` writes the
        codec's bytes without its per-type hooks (4.5 -> 1.6 us; every executor signs one
        a call; tests/docklock/test_receipt_versions.py compares them)."""
        return _SIGNED + encode_plain(self.body())

    def to_wire(self) -> cbor2.CBORTag:
        return cbor2.CBORTag(tags.EXEC_RECEIPT.number, [*self.body(), self.signature])

    def encode(self) -> bytes:
        return encode(self.to_wire())

    def hash(self) -> bytes:
        return tagged_hash(tags.EXEC_RECEIPT, encode(self.to_wire()))

    def result_hash(self) -> bytes:
        """What the replicas of one call must agree on (state/notary): the state it leaves, the
        output, the outcome and the fuel. Executor, signature and `previous` differ by replica."""
        return result_hash(self.state_root_after, self.output_hash, self.outcome, self.fuel_used)

    def leaf(
        self, call_seq: int, output_bytes: int, state_bytes: int, encoded: bytes | None = None
    ) -> LogLeaf:
        """This receipt as a notary LogBlock leaf (types/logblock.py). `encoded`: the receipt's
        own encoding (`encode()`), if the caller holds it, so that it is not encoded again for
        the hash."""
        return LogLeaf(
            self.hash() if encoded is None else tagged_hash(tags.EXEC_RECEIPT, encoded),
            self.executor,
            call_seq,
            self.previous,
            self.result_hash(),
            self.fuel_used,
            self.peak_memory_bytes,
            output_bytes,
            state_bytes,
            self.block_time,
            b"" if self.request is None else self.request.tx_hash,
        )

    def verify_signature(self) -> None:
        try:
            ed25519.verify(self.executor, self.signing_message(), self.signature)
        except VerificationError:
            raise VerificationError("the receipt's signature does not verify") from None

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        """A receipt from its wire bytes, which must be its deterministic encoding. Every
        field is type-checked by `from_wire`, so the check that `data` is that encoding needs
        none of the codec's per-type hooks (`codec.decode_typed`)."""
        return decode_typed(data, cls.from_wire)

    @classmethod
    def from_wire(cls, value: Any) -> Receipt:
        if not isinstance(value, cbor2.CBORTag) or value.tag != tags.EXEC_RECEIPT.number:
            raise DecodeError("not_a_receipt", "expected a tagged execution receipt")
        version = value.value[0] if isinstance(value.value, tuple) and value.value else None
        if type(version) is not int or version not in _LENGTHS:
            raise DecodeError("unknown_version", "execution receipt version must be 1 or 2")
        fields = expect_array(value.value, "receipt", _LENGTHS[version])
        request = None
        if version == 2:
            request = Request(
                expect_bytes(fields[16], "request_tx", 32),
                expect_bytes(fields[17], "client", 32),
                expect_bytes(fields[18], "client_signature", maximum=client_signature_bytes_max),
            )
        return cls(
            app_id=expect_bytes(fields[1], "app_id", 32),
            function=expect_text(fields[2], "function", 128),
            input_hash=expect_bytes(fields[3], "input_hash", 32),
            state_root_before=expect_bytes(fields[4], "state_root_before", 32),
            state_root_after=expect_bytes(fields[5], "state_root_after", 32),
            fuel_used=expect_uint(fields[6], "fuel_used"),
            peak_memory_bytes=expect_uint(fields[7], "peak_memory_bytes"),
            witness_root=expect_bytes(fields[8], "witness_root", 32),
            witness_length=expect_uint(fields[9], "witness_length"),
            outcome=expect_text(fields[10], "outcome", 64),
            output_hash=expect_bytes(fields[11], "output_hash", 32),
            block_time=expect_uint(fields[12], "block_time"),
            seed=expect_bytes(fields[13], "seed", 32),
            executor=expect_bytes(fields[14], "executor", 32),
            previous=expect_bytes(fields[15], "previous", 32),
            signature=expect_bytes(fields[-1], "signature", 64),
            request=request,
        )


def signing_message_of(data: bytes) -> bytes:
    """`signing_message()` of the receipt `Receipt.decode(data)` gave, cut from `data` instead
    of encoded again: since `data` is the receipt's deterministic encoding, its body's fields
    are the bytes between the array head and the signature. A received receipt's message was
    the largest part of decoding it (docs/performance.md, "Apps, w13")."""
    head = len(_TAG_HEAD)
    return _SIGNED + bytes((data[head] - 1,)) + data[head + 1 : len(data) - _SIGNATURE_ITEM_BYTES]


def encoded_of(message: bytes, signature: bytes) -> bytes:
    """`encode()` of the receipt whose `signing_message()` is `message`, signed `signature`,
    assembled from the message instead of encoded again (the inverse of `signing_message_of`):
    an executor's receipt was encoded again for its hash, for its store and for gossip, each
    as dear as the signing message (docs/performance.md, "Apps, w17")."""
    if len(signature) != types_constants.ed25519_signature_bytes:
        raise DecodeError("wrong_length", "an execution receipt's signature is 64 bytes")
    body = message[len(_SIGNED) :]
    return _TAG_HEAD + bytes((body[0] + 1,)) + body[1:] + _SIGNATURE_HEAD + signature


@dataclass(frozen=True, slots=True)
class Bundle:
    receipt: Receipt
    module: bytes
    input: bytes
    # The whole state; a court's replay has only the keys its proof shows (`ProvenState`),
    # and never encodes it.
    state_before: dict[bytes, bytes] | ProvenState
    witness: list[Record]
    output: bytes

    def encode(self) -> bytes:
        return encode(
            [
                self.receipt.to_wire(),
                self.module,
                self.input,
                self.state_before,
                [record.encode() for record in self.witness],
                self.output,
            ]
        )

    def logs(self) -> list[bytes]:
        """The lines the app logged, in order (its `log` host calls, from the witness)."""
        return logged(self.witness)

    @classmethod
    def decode(cls, data: bytes) -> Bundle:
        receipt, module, input_, state, witness, output = expect_array(decode(data), "bundle", 6)
        if not isinstance(state, cbor2.frozendict) or not isinstance(witness, tuple):
            raise DecodeError("wrong_type", "bundle state must be a map and witness an array")
        return cls(
            Receipt.from_wire(receipt),
            expect_bytes(module, "module"),
            expect_bytes(input_, "input"),
            {
                expect_bytes(k, "state key"): expect_bytes(v, "state value")
                for k, v in state.items()
            },
            [Record.decode(expect_bytes(record, "witness record")) for record in witness],
            expect_bytes(output, "output"),
        )
