"""Key files of a node and of accounts, on the keystore (Argon2id + ChaCha20-Poly1305).

A validator's file holds its three secrets (Ed25519 seed, BLS secret, VRF seed; 32 bytes
each), kind `validator`; the Ed25519 key is also the node key that TLS binds (net/tls.py). An
account's file holds one Ed25519 seed, kind `account`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from metanode.consensus.real_suite import ValidatorKeys
from metanode.crypto import bls, ed25519, keystore
from metanode.crypto.keystore import DEFAULT_PARAMS, KdfParams
from metanode.errors import ConfigError, KeystoreError
from metanode.types import Address

PASSWORD_ENV = "METANODE_KEY_PASSWORD"
# Dev homes print their keys and keep their password in the config, so their key files guard
# nothing secret; a cheap key derivation keeps `metanode up` quick. Never for other chains.
DEV_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
VALIDATOR = "validator"
ACCOUNT = "account"
_SEED_BYTES = 32


def password(configured: str | None) -> str:
    value = configured if configured is not None else os.environ.get(PASSWORD_ENV)
    if not value:
        raise ConfigError(
            f"no key password: set {PASSWORD_ENV} (only dev homes keep it in config.toml)"
        )
    return value


def new_validator_keys() -> ValidatorKeys:
    return ValidatorKeys(
        secrets.token_bytes(_SEED_BYTES),
        bls.PrivateKey.keygen(secrets.token_bytes(_SEED_BYTES)).to_bytes(),
        secrets.token_bytes(_SEED_BYTES),
    )


def write_validator(
    path: Path, keys: ValidatorKeys, password_: str, params: KdfParams = DEFAULT_PARAMS
) -> None:
    secret = keys.ed25519_seed + keys.bls_secret + keys.vrf_seed
    keystore.write_keyfile(path, secret, password_, kind=VALIDATOR, params=params)


def read_validator(path: Path, password_: str) -> ValidatorKeys:
    kind, secret = keystore.read_keyfile(path, password_)
    if kind != VALIDATOR or len(secret) != 3 * _SEED_BYTES:
        raise KeystoreError(f"{path} holds a {kind!r} key, not a validator's three keys")
    return ValidatorKeys(secret[:32], secret[32:64], secret[64:])


def write_account(
    path: Path, seed: bytes, password_: str, params: KdfParams = DEFAULT_PARAMS
) -> None:
    keystore.write_keyfile(path, seed, password_, kind=ACCOUNT, params=params)


def read_account(path: Path, password_: str) -> ed25519.PrivateKey:
    kind, secret = keystore.read_keyfile(path, password_)
    if kind != ACCOUNT or len(secret) != _SEED_BYTES:
        raise KeystoreError(f"{path} holds a {kind!r} key, not an account key")
    return ed25519.PrivateKey.from_seed(secret)


def account_address(key: ed25519.PrivateKey) -> Address:
    return Address.from_public_key(key.public_key)
