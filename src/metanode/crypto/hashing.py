"""Hashing: SHA-256 with a domain tag for consensus objects, BLAKE3 for bulk content.

`tagged_hash(tag, data) = SHA-256(tag.name || 0x00 || data)`. The 0x00 separator cannot occur
in an ASCII tag name, so no (tag, data) pair collides with another (tag', data') by shifting
bytes between the two. BLAKE3 comes from the `blake3` package (the official Rust
implementation); SHA-256 from `hashlib` (OpenSSL).
"""

from __future__ import annotations

import hashlib

import blake3 as _blake3

from metanode.codec.tags import DomainTag
from metanode.errors import KeyFormatError

HASH_BYTES = 32
BLAKE3_KEY_BYTES = 32


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def tagged_hash(tag: DomainTag, data: bytes) -> bytes:
    return hashlib.sha256(tag.prefix + data).digest()


def blake3_hash(data: bytes, *, length: int = HASH_BYTES) -> bytes:
    return _blake3.blake3(data).digest(length=length)


def blake3_keyed_hash(key: bytes, data: bytes, *, length: int = HASH_BYTES) -> bytes:
    if len(key) != BLAKE3_KEY_BYTES:
        raise KeyFormatError(f"a BLAKE3 key is {BLAKE3_KEY_BYTES} bytes, got {len(key)}")
    return _blake3.blake3(data, key=key).digest(length=length)


def blake3_derive_key(context: str, material: bytes, *, length: int = HASH_BYTES) -> bytes:
    return _blake3.blake3(material, derive_key_context=context).digest(length=length)
