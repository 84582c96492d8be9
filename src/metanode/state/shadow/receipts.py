"""Shadow requests and shadow receipts: off chain, what a Web2 service did for a user.

Rules: pure (no I/O, no clock); everything here is checked against the chain's state and the
executor's split-origin receipt, never taken on the service's word.

A `ShadowRequest` is the service's claim "I call `function` of `app_id` as `user`, with the
input whose BLAKE3 is `input_hash`, in transaction `tx_hash`", signed with the shadow's
Ed25519 service key. The gateway passes the transaction on only if the request matches it and
the acting rule (`queries.acting`) holds (`check_request`). Once the call ran, the service
signs a `ShadowReceipt`: the request, the block of the call, the executor's receipt hash and
the BLAKE3 of the response; `check_receipt` binds it to the executor's receipt (whose client
is the service's transaction, docs/audit.md). Payloads are never on chain: they are sealed
with HPKE to each party's X25519 key (`seal`), bound by `info` to the request.

Signed bytes: `"metanode/shadow/v1" ‖ 0x00 ‖ CBOR [kind, fields…]`, `kind` "request" or
"receipt", so one can never stand for the other (shadow ids hash `["id", domain]`).
Wire forms: request `[1, domain, user, app_id, function, input_hash, tx_hash, signature]`,
receipt `[1, request, height, receipt_hash, output_hash, signature]`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from metanode.codec import decode, encode, tags
from metanode.crypto import ed25519, symmetric
from metanode.crypto.hashing import blake3_hash, tagged_hash
from metanode.docklock.receipt import Receipt as ExecutionReceipt
from metanode.errors import DecodeError
from metanode.state.codes import OK
from metanode.state.shadow import errors, queries
from metanode.state.view import StateReader
from metanode.types import Address, CallApp, Transaction
from metanode.types import constants as types_constants
from metanode.types.fields import expect_array, expect_bytes, expect_text, expect_uint

_SIGNED = tags.SHADOW.name_bytes + b"\x00"
VERSION = 1


@dataclass(frozen=True, slots=True)
class ShadowRequest:
    domain: str
    user: Address
    app_id: bytes
    function: str
    input_hash: bytes
    tx_hash: bytes
    signature: bytes = b""

    def fields(self) -> list[Any]:
        return [
            VERSION, self.domain, self.user.raw, self.app_id, self.function, self.input_hash,
            self.tx_hash,
        ]  # fmt: skip

    def signing_message(self) -> bytes:
        return _SIGNED + encode(["request", *self.fields()])

    def signed(self, key: ed25519.PrivateKey) -> ShadowRequest:
        return replace(self, signature=key.sign(self.signing_message()))

    def to_wire(self) -> list[Any]:
        return [*self.fields(), self.signature]

    def encode(self) -> bytes:
        return encode(self.to_wire())

    def hash(self) -> bytes:
        return tagged_hash(tags.SHADOW, self.encode())

    @classmethod
    def from_wire(cls, value: Any) -> ShadowRequest:
        fields = expect_array(value, "shadow request", 8)
        if fields[0] != VERSION or type(fields[0]) is not int:
            raise DecodeError("unknown_version", "shadow request version must be 1")
        return cls(
            expect_text(fields[1], "domain", types_constants.shadow_domain_bytes_max),
            Address(expect_bytes(fields[2], "user", types_constants.address_bytes)),
            expect_bytes(fields[3], "app_id", 32),
            expect_text(fields[4], "function", types_constants.app_function_bytes_max),
            expect_bytes(fields[5], "input_hash", 32),
            expect_bytes(fields[6], "tx_hash", 32),
            expect_bytes(fields[7], "signature", 64),
        )

    @classmethod
    def decode(cls, data: bytes) -> ShadowRequest:
        return cls.from_wire(decode(data))


@dataclass(frozen=True, slots=True)
class ShadowReceipt:
    request: ShadowRequest
    height: int  # the block that committed the call
    receipt_hash: bytes  # the executor's execution receipt of the call
    output_hash: bytes  # BLAKE3 of the response
    signature: bytes = b""

    def fields(self) -> list[Any]:
        return [VERSION, self.request.to_wire(), self.height, self.receipt_hash, self.output_hash]

    def signing_message(self) -> bytes:
        return _SIGNED + encode(["receipt", *self.fields()])

    def signed(self, key: ed25519.PrivateKey) -> ShadowReceipt:
        return replace(self, signature=key.sign(self.signing_message()))

    def encode(self) -> bytes:
        return encode([*self.fields(), self.signature])

    @classmethod
    def decode(cls, data: bytes) -> ShadowReceipt:
        fields = expect_array(decode(data), "shadow receipt", 6)
        if fields[0] != VERSION or type(fields[0]) is not int:
            raise DecodeError("unknown_version", "shadow receipt version must be 1")
        return cls(
            ShadowRequest.from_wire(fields[1]),
            expect_uint(fields[2], "height"),
            expect_bytes(fields[3], "receipt_hash", 32),
            expect_bytes(fields[4], "output_hash", 32),
            expect_bytes(fields[5], "signature", 64),
        )


def check_request(reader: StateReader, request: ShadowRequest, tx: Transaction, height: int) -> int:
    """OK when the service signed `request`, the transaction is the call it describes, sent
    from the shadow owner's account, and the acting rule holds for a block of `height`."""
    shadow = queries.shadow(reader, request.domain)
    if shadow is None:
        return errors.SHADOW_UNKNOWN
    if not ed25519.is_valid(shadow.service_key, request.signing_message(), request.signature):
        return errors.SERVICE_SIGNATURE_INVALID
    message = tx.message
    if (
        tx.hash() != request.tx_hash
        or tx.sender_address != shadow.owner
        or not isinstance(message, CallApp)
        or (message.app_id, message.function) != (request.app_id, request.function)
        or blake3_hash(message.input) != request.input_hash
    ):
        return errors.RECEIPT_MISMATCH
    return queries.acting(
        reader, request.domain, request.user, request.app_id, request.function, height
    )


def check_receipt(
    receipt: ShadowReceipt, execution: ExecutionReceipt, service_key: bytes, output: bytes
) -> int:
    """OK when the service signed `receipt` and it commits to the executor's receipt of the
    request's call (the same transaction, app, function, input and output) and to `output`."""
    if not ed25519.is_valid(service_key, receipt.signing_message(), receipt.signature):
        return errors.SERVICE_SIGNATURE_INVALID
    request = receipt.request
    if (
        execution.request is None
        or execution.request.tx_hash != request.tx_hash
        or execution.hash() != receipt.receipt_hash
        or (execution.app_id, execution.function) != (request.app_id, request.function)
        or execution.input_hash != request.input_hash
        or execution.output_hash != receipt.output_hash
        or blake3_hash(output) != receipt.output_hash
    ):
        return errors.RECEIPT_MISMATCH
    return OK


def seal(payload: bytes, recipient: bytes, request: ShadowRequest, what: str) -> bytes:
    """`payload` ("request" or "response" of `request`) sealed to the X25519 `recipient`."""
    return symmetric.hpke_seal(recipient, payload, _info(request, what))


def open_sealed(
    sealed: bytes, key: symmetric.X25519PrivateKey, request: ShadowRequest, what: str
) -> bytes:
    """The payload sealed by `seal`; raises VerificationError when it is not for this key or
    was altered. Its hash is checked against the request or receipt by the caller."""
    return key.hpke_open(sealed, _info(request, what))


def _info(request: ShadowRequest, what: str) -> bytes:
    return _SIGNED + encode(["payload", what, request.hash()])
