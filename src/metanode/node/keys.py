"""Key files of a node and of accounts, on the keystore (Argon2id + ChaCha20-Poly1305).

A validator's file holds its three secrets (Ed25519 seed, BLS secret, VRF seed; 32 bytes
each), kind `validator`; the Ed25519 key is also the node key that TLS binds (net/tls.py). An
account's file holds one Ed25519 seed, kind `account`. A rotated node key (message 43) is one
Ed25519 seed, kind `node`, in `node-keys/<public key hex>.key` beside the node's config: the
node signs each height with the key its validator-set entry names, the identity key or one of
these (docs/decisions/node-key-rotation.md).

Passphrases: a dev home's is public (`metanode-dev`, kept in each config.toml, cheap key
derivation: dev keys are printed anyway). A testnet or mainnet home's is the operator's: given
at `init` and at every `start` through METANODE_KEY_PASSWORD or a prompt, never written to
disk, and its key files use the keystore's full Argon2id cost.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from metanode.crypto import bls, ed25519, keystore
from metanode.crypto.keystore import DEFAULT_PARAMS, KdfParams
from metanode.errors import ConfigError, KeystoreError
from metanode.types import Address

if TYPE_CHECKING:
    from metanode.consensus.real_suite import ValidatorKeys

PASSWORD_ENV = "METANODE_KEY_PASSWORD"
# Dev homes print their keys and keep their password in the config, so their key files guard
# nothing secret; a cheap key derivation keeps `metanode up` quick. Never for other chains.
DEV_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
# A testnet or mainnet passphrase guards real keys against whoever copies the files: Argon2id
# makes each guess costly, and a floor on the length keeps the guesses many.
PASSPHRASE_CHARS_MIN = 8
VALIDATOR = "validator"
ACCOUNT = "account"
NODE = "node"
NODE_KEYS = "node-keys"
_SEED_BYTES = 32


def password(configured: str | None) -> str:
    value = configured if configured is not None else os.environ.get(PASSWORD_ENV)
    if not value:
        raise ConfigError(
            f"no key password: set {PASSWORD_ENV} (only dev homes keep it in config.toml)"
        )
    return value


class PassphraseError(ConfigError):
    """No usable key passphrase: none given where one is needed, too short, or kept in a
    testnet or mainnet node's config.toml."""


def check_new_passphrase(passphrase: str) -> str:
    if len(passphrase) < PASSPHRASE_CHARS_MIN:
        raise PassphraseError(
            f"the key passphrase must have at least {PASSPHRASE_CHARS_MIN} characters"
        )
    return passphrase


def node_passphrase(kind: str, configured: str | None, prompt: Callable[[], str] | None) -> str:
    """The passphrase of a node's key files: a dev node's from its config (or the
    environment); any other node's from `METANODE_KEY_PASSWORD`, else from `prompt` (None
    when nobody can answer one), never from its config."""
    if kind == "dev":
        return password(configured)
    if configured is not None:
        raise PassphraseError(
            f"config.toml holds key_password, which only dev chains may keep: this is a {kind} "
            f"node; delete that line and set {PASSWORD_ENV} (or answer the prompt)"
        )
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    if prompt is None:
        raise PassphraseError(
            f"this {kind} node's keys need their passphrase: set {PASSWORD_ENV}, or start it "
            "in a terminal to be asked for it"
        )
    return prompt()


def new_validator_keys() -> ValidatorKeys:
    # The consensus suite loads only where validator keys are made or read: most commands that
    # read a key file read an account's (cli/ start-up).
    from metanode.consensus.real_suite import ValidatorKeys  # noqa: PLC0415

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
    from metanode.consensus.real_suite import ValidatorKeys  # noqa: PLC0415 - as new_validator_keys

    kind, secret = keystore.read_keyfile(path, password_)
    if kind != VALIDATOR or len(secret) != 3 * _SEED_BYTES:
        raise KeystoreError(f"{path} holds a {kind!r} key, not a validator's three keys")
    return ValidatorKeys(secret[:32], secret[32:64], secret[64:])


def write_node_key(
    node_dir: Path, seed: bytes, password_: str, params: KdfParams = DEFAULT_PARAMS
) -> Path:
    """Keep a new node key beside the node's config, named by its public key."""
    public_key = ed25519.PrivateKey.from_seed(seed).public_key
    directory = node_dir / NODE_KEYS
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / f"{public_key.hex()}.key"
    keystore.write_keyfile(path, seed, password_, kind=NODE, params=params)
    return path


def read_node_keys(node_dir: Path, password_: str) -> dict[bytes, bytes]:
    """The node's rotated keys, public key → seed (none before its first rotation)."""
    directory = node_dir / NODE_KEYS
    found: dict[bytes, bytes] = {}
    for path in sorted(directory.glob("*.key")) if directory.is_dir() else ():
        kind, seed = keystore.read_keyfile(path, password_)
        if kind != NODE or len(seed) != _SEED_BYTES:
            raise KeystoreError(f"{path} holds a {kind!r} key, not a node key")
        found[ed25519.PrivateKey.from_seed(seed).public_key] = seed
    return found


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
