"""policy's stored records, each with its encoder and strict decoder (a stored value of the
wrong shape is a bug: the rule checked the document before writing it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.errors import InvariantViolation, check
from metanode.state.policy import keys
from metanode.state.policy.document import PolicyDocument, PolicyRefused, decode_document
from metanode.state.values import decode_array, decode_uints, encode_uints, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Address
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class SignedPolicy:
    document: bytes  # canonical CBOR, as signed
    signer: bytes  # Ed25519 public key
    signature: bytes
    height: int  # the block that registered it

    def to_wire(self) -> list[Any]:
        return [self.document, self.signer, self.signature, self.height]

    def decoded(self) -> PolicyDocument:
        try:
            return decode_document(self.document)
        except PolicyRefused as error:
            raise InvariantViolation(f"a stored policy does not decode: {error}") from None

    @property
    def signer_address(self) -> Address:
        return Address.from_public_key(self.signer)


def read_policy(reader: StateReader, app_id: bytes, version: int) -> SignedPolicy | None:
    key = keys.policy(app_id, version)
    data = reader.get(key)
    if data is None:
        return None
    document, signer, signature, height = decode_array(data, key, 4)
    check(
        type(document) is bytes
        and type(signer) is bytes
        and len(signer) == types_constants.ed25519_public_key_bytes
        and type(signature) is bytes
        and type(height) is int,
        f"policy record at {key.hex()}: malformed",
    )
    return SignedPolicy(document, signer, signature, height)


def write_policy(writer: Overlay, app_id: bytes, version: int, record: SignedPolicy) -> None:
    writer.put(keys.policy(app_id, version), encode_value(record.to_wire()))
    writer.put(keys.current(app_id), encode_uints([version]))


def current_version(reader: StateReader, app_id: bytes) -> int:
    """The app's current policy version; 0 if it has none."""
    key = keys.current(app_id)
    data = reader.get(key)
    return 0 if data is None else decode_uints(data, key, 1)[0]


def read_region(reader: StateReader, address: Address) -> str | None:
    key = keys.region(address)
    data = reader.get(key)
    if data is None:
        return None
    (region,) = decode_array(data, key, 1)
    check(type(region) is str, f"region at {key.hex()}: not text")
    return region  # type: ignore[no-any-return]


def write_region(writer: Overlay, address: Address, region: str) -> None:
    writer.put(keys.region(address), encode_value([region]))


def contained_since(reader: StateReader, app_id: bytes) -> int | None:
    key = keys.contained(app_id)
    data = reader.get(key)
    return None if data is None else decode_uints(data, key, 1)[0]
