"""Key files: a secret encrypted at rest under a password, written atomically with mode 0600.

Format (deterministic CBOR, tagged `metanode/keystore/v1`):
    [1, kind, ["argon2id", time_cost, memory_kib, parallelism, salt], nonce, check, sealed]
- Argon2id (memory-hard) turns the password and salt into a 32-byte master key; HKDF-SHA256
  derives from it an encryption key and a 16-byte password check.
- `sealed` is ChaCha20-Poly1305 over the secret, with everything before it as associated data,
  so a change to any byte of the header or the ciphertext is detected.
- The password check tells a wrong password (check differs) from an altered file (check
  matches, the AEAD tag does not). A changed salt or cost changes the derived check too, so its
  message names both possibilities.
KDF costs read from a file are bounded, so a hostile file cannot make us allocate terabytes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import argon2.exceptions
import argon2.low_level
import cbor2

from metanode.codec import decode, encode, tags
from metanode.crypto import symmetric
from metanode.errors import DecodeError, KeyFormatError, KeystoreError, VerificationError

VERSION = 1
SALT_BYTES = 16
CHECK_BYTES = 16
KEY_BYTES = 32
FILE_BYTES_MAX = 64 * 1024
KIND_BYTES_MAX = 64
time_cost_max = 16
memory_kib_max = 1024 * 1024  # 1 GiB
parallelism_max = 8


@dataclass(frozen=True, slots=True)
class KdfParams:
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 1

    def check(self) -> None:
        if not (
            1 <= self.time_cost <= time_cost_max
            and 1 <= self.parallelism <= parallelism_max
            and 8 * self.parallelism <= self.memory_kib <= memory_kib_max
        ):
            raise KeystoreError(
                f"key-derivation costs out of bounds: t={self.time_cost} "
                f"m={self.memory_kib} KiB p={self.parallelism}"
            )


# Strong by default; tests pass a cheaper set explicitly.
DEFAULT_PARAMS = KdfParams()


def derive_keys(
    password: str, salt: bytes, params: KdfParams, label: bytes = b"metanode keystore"
) -> tuple[bytes, bytes]:
    """(encryption key, password check) from a password; `label` separates the uses (key
    files, backups: node/backup.py) so one password never yields the same key for two."""
    master = argon2.low_level.hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_BYTES,
        type=argon2.low_level.Type.ID,
    )
    key = symmetric.hkdf_sha256(master, salt, label + b" encryption key", KEY_BYTES)
    check = symmetric.hkdf_sha256(master, salt, label + b" password check", CHECK_BYTES)
    return key, check


def _header(kind: str, params: KdfParams, salt: bytes, nonce: bytes, check: bytes) -> list[Any]:
    kdf = ["argon2id", params.time_cost, params.memory_kib, params.parallelism, salt]
    return [VERSION, kind, kdf, nonce, check]


def write_keyfile(
    path: Path | str,
    secret: bytes,
    password: str,
    *,
    kind: str,
    params: KdfParams = DEFAULT_PARAMS,
) -> None:
    """Encrypt `secret` into `path` (mode 0600), replacing it atomically."""
    path = Path(path)
    if not password:
        raise KeystoreError("refusing to write a key file with an empty password")
    if not kind or len(kind.encode()) > KIND_BYTES_MAX:
        raise KeystoreError(f"the key kind must be 1..{KIND_BYTES_MAX} bytes")
    params.check()
    salt = secrets.token_bytes(SALT_BYTES)
    nonce = secrets.token_bytes(symmetric.AEAD_NONCE_BYTES)
    key, check = derive_keys(password, salt, params)
    header = _header(kind, params, salt, nonce, check)
    sealed = symmetric.seal(key, nonce, secret, encode(header))
    data = encode(cbor2.CBORTag(tags.KEYSTORE.number, [*header, sealed]))
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise KeystoreError(f"cannot write key file {path}: {error.strerror}") from None


def read_keyfile(path: Path | str, password: str) -> tuple[str, bytes]:
    """(kind, secret) from a key file; KeystoreError says what is wrong with it."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(FILE_BYTES_MAX + 1)
    except OSError as error:
        raise KeystoreError(f"cannot read key file {path}: {error.strerror}") from None
    if len(data) > FILE_BYTES_MAX:
        raise KeystoreError(f"{path} is larger than any key file ({FILE_BYTES_MAX} bytes)")
    fields = _parse(path, data)
    _version, kind, kdf, nonce, check, sealed = fields
    _, time_cost, memory_kib, parallelism, salt = kdf
    params = KdfParams(time_cost, memory_kib, parallelism)
    params.check()
    try:
        key, expected_check = derive_keys(password, salt, params)
    except argon2.exceptions.Argon2Error as error:
        raise KeystoreError(f"{path}: key derivation failed: {error}") from None
    if not secrets.compare_digest(expected_check, check):
        raise KeystoreError(f"wrong password for {path} (or its salt or cost header was altered)")
    header = _header(kind, params, salt, nonce, check)
    try:
        secret = symmetric.open_sealed(key, nonce, sealed, encode(header))
    except (VerificationError, KeyFormatError):
        raise KeystoreError(f"{path} was altered: its contents fail authentication") from None
    return kind, secret


def _parse(path: Path, data: bytes) -> tuple[Any, ...]:
    try:
        value = decode(data)
    except DecodeError as error:
        raise KeystoreError(
            f"{path} is not a key file, or it is truncated or corrupted ({error.rule})"
        ) from None
    if not isinstance(value, cbor2.CBORTag) or value.tag != tags.KEYSTORE.number:
        raise KeystoreError(f"{path} is not a Metanode key file")
    fields = value.value
    shape_ok = (
        isinstance(fields, tuple)
        and len(fields) == 6
        and fields[0] == VERSION
        and isinstance(fields[1], str)
        and isinstance(fields[2], tuple)
        and len(fields[2]) == 5
        and fields[2][0] == "argon2id"
        and all(type(item) is int for item in fields[2][1:4])
        and isinstance(fields[2][4], bytes)
        and len(fields[2][4]) == SALT_BYTES
        and isinstance(fields[3], bytes)
        and len(fields[3]) == symmetric.AEAD_NONCE_BYTES
        and isinstance(fields[4], bytes)
        and len(fields[4]) == CHECK_BYTES
        and isinstance(fields[5], bytes)
    )
    if not shape_ok:
        raise KeystoreError(f"{path} has an unknown key-file layout or version")
    return fields
