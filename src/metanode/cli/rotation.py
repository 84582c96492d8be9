"""`bpci rotate-key`: replace a node's Ed25519 node key (message 43).

A new key is made and kept first, in `nodes/NAME/node-keys/` (where the running node finds it:
node/rotation.py), then the rotation is signed by the identity key (the envelope), the new key
(and, if the identity records an ML-DSA key, the new key's derived ML-DSA key as a hybrid
signature) and the recorded ML-DSA key, and committed. The node switches at the next epoch
boundary (docs/decisions/node-key-rotation.md). A rotation that fails on chain leaves an unused
key file behind, which nothing reads but the node's own key look-up.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from metanode.crypto import ed25519, pq
from metanode.errors import ConfigError
from metanode.net import hybrid
from metanode.node import keys
from metanode.state.keys.rules import ROTATE, statement
from metanode.types import RotateNodeKey

from . import wallet

SEED_BYTES = 32


def _seed_of(node_dir: Path, identity_seed: bytes, public_key: bytes, password: str) -> bytes:
    """The seed of the node key the chain names now: the identity key or a rotated one."""
    if ed25519.PrivateKey.from_seed(identity_seed).public_key == public_key:
        return identity_seed
    seed = keys.read_node_keys(node_dir, password).get(public_key)
    if seed is None:
        raise ConfigError(
            f"the chain names node key {public_key.hex()}, which {node_dir / keys.NODE_KEYS} "
            "does not hold: rotate from the home that made it"
        )
    return seed


def rotate_node_key(home: Path, name: str, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Make, keep and commit a new node key for the node NAME: (the transaction's record, what
    it says)."""
    from metanode.node import config as node_config  # noqa: PLC0415 - as in bpci.register_node

    node_dir = home / "nodes" / name
    identity_seed = wallet.node_keys(home, name).ed25519_seed
    identity = ed25519.PrivateKey.from_seed(identity_seed)
    address = keys.account_address(identity)
    current = wallet.call("GET", f"{url}/api/v1/keys/nodes/{address}")
    chain_id = wallet.call("GET", f"{url}/api/v1/status")["chain_id"]
    password = wallet.home_password(home)
    current_key = bytes.fromhex(current["node_key"])
    current_seed = _seed_of(node_dir, identity_seed, current_key, password)
    dev = node_config.load(node_dir / "config.toml").key_password is not None
    seed = secrets.token_bytes(SEED_BYTES)
    new = ed25519.PrivateKey.from_seed(seed)
    path = keys.write_node_key(
        node_dir, seed, password, keys.DEV_KDF if dev else keys.DEFAULT_PARAMS
    )
    signed = statement(chain_id, address, ROTATE, current_key, new.public_key)
    if current["mldsa_key"] is None:
        message = RotateNodeKey(new.public_key, b"", new.sign(signed), b"")
    else:
        # The links are pinned to the ML-DSA key derived from the node seed: both move.
        mldsa = hybrid.node_signer(seed)
        pair = pq.HybridPrivateKey(new, mldsa)
        recorded = hybrid.node_signer(current_seed).sign(signed)
        message = RotateNodeKey(new.public_key, mldsa.public_key, pair.sign(signed), recorded)
    record = wallet.commit(url, identity, message)
    facts = {
        "address": str(address),
        "old_key": current_key.hex(),
        "new_key": new.public_key.hex(),
        "key_file": str(path),
        "effective": "from the first height of the next epoch",
    }
    return record, facts
