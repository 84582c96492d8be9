"""identity's stored records and the `did:metanode` syntax.

A DID is `did:metanode:<id>`, `<id>` the base58btc (Bitcoin alphabet, no multibase prefix) of
the first 20 bytes of `tagged_hash(DID, creating Ed25519 key)`: one DID per creating key, and
the creating key's account is known from the DID record (`creator_key`), which is how the
chain tells that an issuer DID belongs to a registered authority node. Only the canonical
base58 text of exactly 20 bytes is a `did:metanode` DID, so a DID has one spelling.

Records are positional CBOR arrays with a leading version (1); a stored value of another shape
is a bug (`InvariantViolation`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import base58

from metanode.codec import tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import check
from metanode.state import constants
from metanode.state.identity import keys
from metanode.state.registry.records import IdentityLevel
from metanode.state.values import decode_array, encode_value
from metanode.state.view import Overlay, StateReader
from metanode.types import Relationship, Service, VerificationMethod
from metanode.types import constants as types_constants

METHOD_PREFIX = "did:metanode:"
ID_BYTES = 20
RECORD_VERSION = 1
FIRST_KEY = "key-1"
FRAGMENT = re.compile(r"[A-Za-z0-9_-]{1,32}")


def did_of_key(public_key: bytes) -> str:
    """The DID that `CreateDid` sent with `public_key` creates."""
    return did_of_id(tagged_hash(tags.DID, public_key)[:ID_BYTES])


def did_of_id(identifier: bytes) -> str:
    return METHOD_PREFIX + base58.b58encode(identifier).decode()


def did_id(did: object) -> bytes | None:
    """The 20-byte id of a `did:metanode` DID, or None if the text is not one (canonically)."""
    if not isinstance(did, str) or not did.startswith(METHOD_PREFIX) or not did.isascii():
        return None
    text = did[len(METHOD_PREFIX) :]
    try:
        raw = base58.b58decode(text)
    except ValueError:
        return None
    if len(raw) != ID_BYTES or base58.b58encode(raw).decode() != text:
        return None
    return raw


@dataclass(frozen=True, slots=True)
class DidRecord:
    creator_key: bytes  # the Ed25519 key that created the DID (its id is this key's hash)
    controllers: tuple[str, ...]  # DIDs that may change it; empty: itself alone
    methods: tuple[VerificationMethod, ...]
    services: tuple[Service, ...]
    created_ms: int  # block times
    updated_ms: int
    version: int  # 1 at creation, one more at each change
    deactivated: bool

    def controllers_of(self, did: str) -> tuple[str, ...]:
        return self.controllers or (did,)

    def method(self, fragment: str) -> VerificationMethod | None:
        return next((m for m in self.methods if m.fragment == fragment), None)

    def keys_for(self, relationship: Relationship) -> tuple[bytes, ...]:
        return tuple(m.public_key for m in self.methods if relationship in m.relationships)

    def changed(self, time_ms: int, **fields: object) -> DidRecord:
        return replace(self, updated_ms=time_ms, version=self.version + 1, **fields)  # type: ignore[arg-type]

    def to_wire(self) -> list[object]:
        return [
            RECORD_VERSION,
            self.creator_key,
            list(self.controllers),
            [method.to_wire() for method in self.methods],
            [service.to_wire() for service in self.services],
            self.created_ms,
            self.updated_ms,
            self.version,
            int(self.deactivated),
        ]


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    """What the chain keeps of a registered credential (the credential itself stays with its
    holder; its hash names it)."""

    issuer: str
    level: IdentityLevel
    valid_from_ms: int
    valid_until_ms: int
    status_index: int
    registered_height: int

    def is_valid_at(self, time_ms: int) -> bool:
        return self.valid_from_ms <= time_ms < self.valid_until_ms

    def to_wire(self) -> list[object]:
        return [
            RECORD_VERSION,
            self.issuer,
            int(self.level),
            self.valid_from_ms,
            self.valid_until_ms,
            self.status_index,
            self.registered_height,
        ]


def _uint(value: object, key: bytes) -> int:
    check(type(value) is int and 0 <= value <= constants.uint64_max, f"{key.hex()}: not a uint")
    return value  # type: ignore[return-value]


def _texts(value: object, key: bytes) -> tuple[str, ...]:
    check(
        type(value) is tuple and all(type(item) is str for item in value),  # type: ignore[union-attr]
        f"{key.hex()}: not an array of text",
    )
    return value  # type: ignore[return-value]


def decode_did(data: bytes, key: bytes) -> DidRecord:
    version, creator, controllers, methods, services, created, updated, count, off = decode_array(
        data, key, 9
    )
    check(version == RECORD_VERSION, f"DID record at {key.hex()}: version {version!r}")
    check(
        type(creator) is bytes and len(creator) == types_constants.ed25519_public_key_bytes,
        f"DID record at {key.hex()}: creator key",
    )
    check(type(methods) is tuple and type(services) is tuple, f"DID record at {key.hex()}")
    check(off in (0, 1) and type(off) is int, f"DID record at {key.hex()}: deactivated flag")
    return DidRecord(
        creator,  # type: ignore[arg-type]
        _texts(controllers, key),
        tuple(VerificationMethod.from_wire(m, "did.methods[]") for m in methods),  # type: ignore[attr-defined]
        tuple(Service.from_wire(s, "did.services[]") for s in services),  # type: ignore[attr-defined]
        _uint(created, key),
        _uint(updated, key),
        _uint(count, key),
        bool(off),
    )


def read_did(reader: StateReader, did: str) -> DidRecord | None:
    identifier = did_id(did)
    if identifier is None:
        return None
    key = keys.did(identifier)
    data = reader.get(key)
    return None if data is None else decode_did(data, key)


def write_did(writer: Overlay, did: str, record: DidRecord) -> None:
    identifier = did_id(did)
    check(identifier is not None, f"{did!r} is not a did:metanode DID")
    writer.put(keys.did(identifier), encode_value(record.to_wire()))  # type: ignore[arg-type]


def decode_credential(data: bytes, key: bytes) -> CredentialRecord:
    version, issuer, level, valid_from, valid_until, index, height = decode_array(data, key, 7)
    check(version == RECORD_VERSION, f"credential record at {key.hex()}: version {version!r}")
    check(type(issuer) is str, f"credential record at {key.hex()}: issuer")
    check(_uint(level, key) in set(IdentityLevel), f"credential record at {key.hex()}: level")
    return CredentialRecord(
        issuer,  # type: ignore[arg-type]
        IdentityLevel(level),
        _uint(valid_from, key),
        _uint(valid_until, key),
        _uint(index, key),
        _uint(height, key),
    )


def write_credential(
    writer: Overlay, subject: bytes, credential_hash: bytes, record: CredentialRecord
) -> None:
    writer.put(keys.credential(subject, credential_hash), encode_value(record.to_wire()))


# Bitstring Status List: 131,072 entries per list, the size the W3C recommendation names as
# the minimum for group privacy; 16 KiB per issuer, stored only once a bit is set.
status_list_bits = 131_072
STATUS_LIST_BYTES = status_list_bits // 8


def read_status_list(reader: StateReader, issuer: bytes) -> bytes:
    key = keys.status_list(issuer)
    data = reader.get(key)
    if data is None:
        return bytes(STATUS_LIST_BYTES)
    (version, bits) = decode_array(data, key, 2)
    check(
        version == RECORD_VERSION and type(bits) is bytes and len(bits) == STATUS_LIST_BYTES,
        f"status list at {key.hex()} is malformed",
    )
    return bits  # type: ignore[return-value]


def write_status_list(writer: Overlay, issuer: bytes, bits: bytes) -> None:
    check(len(bits) == STATUS_LIST_BYTES, "a status list has status_list_bits bits")
    writer.put(keys.status_list(issuer), encode_value([RECORD_VERSION, bits]))


def bit_is_set(bits: bytes, index: int) -> bool:
    """Bit `index`, counted from the first byte's most significant bit (the W3C order)."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def with_bit_set(bits: bytes, index: int) -> bytes:
    changed = bytearray(bits)
    changed[index // 8] |= 0x80 >> (index % 8)
    return bytes(changed)
