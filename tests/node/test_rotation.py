"""A node's keys across a rotation (node/rotation.py): it signs a height with the key its entry
in that height's set names, reading `node-keys/` again for a key written while it runs, and
keeps its key when the set names one it does not hold."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from metanode.consensus.real_suite import RealSuite, ValidatorKeys
from metanode.consensus.validators import Validator, ValidatorSet
from metanode.crypto import bls, ed25519
from metanode.net.transport import Network
from metanode.node import keys
from metanode.node.rotation import Rotation
from metanode.types import Address

IDENTITY = ValidatorKeys(b"\x31" * 32, bls.PrivateKey.keygen(b"\x32" * 32).to_bytes(), b"\x33" * 32)
NEW = b"\x34" * 32
PASSWORD = "metanode-dev"


def _set(me: Address, public_key: bytes) -> ValidatorSet:
    return ValidatorSet.of(
        [Validator(me, 1, public_key, IDENTITY.bls_public_key, IDENTITY.vrf_public_key)]
    )


def test_the_node_signs_each_height_with_the_key_its_set_entry_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    suite = RealSuite(IDENTITY)
    network = Network(IDENTITY.ed25519_seed, "127.0.0.1", 1, [], lambda _peer, _frame: None)
    rotation = Rotation(tmp_path, PASSWORD, network.me, IDENTITY.ed25519_seed, network, suite)
    new_key = ed25519.PrivateKey.from_seed(NEW).public_key
    with caplog.at_level(logging.ERROR, logger="metanode.node"):
        rotation.use_set_key(_set(network.me, new_key), 5)
    assert suite.public_key == IDENTITY.public_key  # no such key file yet: it cannot switch
    assert "does not hold" in caplog.text
    keys.write_node_key(tmp_path, NEW, PASSWORD, keys.DEV_KDF)  # `bpci rotate-key`, meanwhile
    rotation.use_set_key(_set(network.me, new_key), 6)
    signature = suite.sign(b"prepare")
    assert suite.public_key == new_key
    assert ed25519.is_valid(new_key, b"prepare", signature)
    assert not ed25519.is_valid(IDENTITY.public_key, b"prepare", signature)
    # The key follows the set, whichever it names.
    rotation.use_set_key(_set(network.me, IDENTITY.public_key), 4)
    assert suite.public_key == IDENTITY.public_key
