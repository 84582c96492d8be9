"""Post-quantum on a 4-validator network of real processes (docs/pq.md): on a chain that
requires hybrid links every link is hybrid (the metric), blocks commit over them, an account
migrated to hybrid keys on chain has its old-style transactions refused while the new keys
spend its coins, and a validator adds an ML-DSA key to its identity while the chain goes on,
its peers re-pinning it to that key at the next epoch boundary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from metanode.crypto import ed25519, pq
from metanode.net import hybrid
from metanode.node import home as dev_home
from metanode.node import keys as node_keys
from metanode.state.keys.rules import ACCOUNT, NODE, statement
from metanode.types import (
    AddNodeKey,
    Address,
    Denom,
    Message,
    MigrateAccount,
    Transaction,
    Transfer,
)

from .cluster import Cluster, running

FEE = 1_000


def _require_hybrid_links(document: dict[str, Any]) -> None:
    document.setdefault("parameters", {})["keys"] = {"hybrid_links_required": 1}


def _links(cluster: Cluster, name: str) -> dict[str, float]:
    text = cluster.client.get(cluster.url(name) + "/metrics").text
    return {
        kind: float(value)
        for kind, value in re.findall(r'^metanode_p2p_links\{kind="(\w+)"\} (\S+)$', text, re.M)
    }


def _authenticated(cluster: Cluster, name: str) -> float:
    text = cluster.client.get(cluster.url(name) + "/metrics").text
    found = re.search(r"^metanode_p2p_links_pq_authenticated (\S+)$", text, re.M)
    return float(found.group(1)) if found else -1.0


def _signed(key: ed25519.PrivateKey, nonce: int, message: Message) -> Transaction:
    unsigned = Transaction(dev_home.DEV_CHAIN_ID, key.public_key, nonce, FEE, 10_000, message)
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


def _hybrid(key: pq.HybridPrivateKey, nonce: int, message: Message) -> Transaction:
    ed_key, mldsa_key = key.public_keys
    unsigned = Transaction(
        dev_home.DEV_CHAIN_ID, ed_key, nonce, FEE, 10_000, message, pq_public_key=mldsa_key
    )
    signing = unsigned.signing_message()
    return unsigned.with_signature(key.ed25519.sign(signing) + key.mldsa.sign(signing))


@pytest.mark.slow  # four node processes for about a minute
def test_hybrid_links_everywhere_and_an_account_migrated_on_chain(tmp_path: Path) -> None:
    with running(tmp_path / "net", genesis=_require_hybrid_links) as cluster:
        cluster.wait_height(2, timeout_s=120)
        cluster.wait(
            lambda: all(
                _links(cluster, name) == {"hybrid": 3.0, "classical": 0.0} for name in cluster.names
            ),
            120,
            "every node to hold three hybrid links",
        )
        old = cluster.dev_keys()[0]
        old_address = Address.from_public_key(old.public_key)
        new = pq.HybridPrivateKey.generate()
        signed = statement(dev_home.DEV_CHAIN_ID, old_address, ACCOUNT)
        migrate = _signed(old, 0, MigrateAccount(*new.public_keys, new.sign(signed)))
        assert cluster.submit("v0", [migrate])[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v1", migrate.hash().hex()), 120, "the migration")
        receipt = cluster.get("v1", f"/api/v1/txs/{migrate.hash().hex()}")
        assert receipt["receipt"]["code_name"] == "ok"

        someone = Address.from_public_key(bytes(32))
        (refused,) = cluster.submit("v2", [_signed(old, 1, Transfer(someone, 1, Denom.FLX))])
        assert not refused["accepted"] and refused["reason"] == "account_migrated"
        spend = _hybrid(new, 0, Transfer(someone, 1, Denom.FLX))
        assert cluster.submit("v3", [spend])[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v0", spend.hash().hex()), 120, "the new keys")

        # A validator adds its ML-DSA key on the running chain, which commits on without it
        # pausing (4 validators: a halt would show as no height past the key's block).
        path = cluster.home / "nodes" / "v1" / "validator.key"
        seed = node_keys.read_validator(path, dev_home.DEV_PASSWORD).ed25519_seed
        node_key = ed25519.PrivateKey.from_seed(seed)
        identity = Address.from_public_key(node_key.public_key)
        nonce = cluster.get("v1", f"/api/v1/accounts/{identity}")["nonce"]
        mldsa = hybrid.node_signer(seed)  # the key v1 signs its link handshakes with
        pair = pq.HybridPrivateKey(node_key, mldsa)
        signed = statement(dev_home.DEV_CHAIN_ID, identity, NODE)
        add = _signed(node_key, nonce, AddNodeKey(mldsa.public_key, pair.sign(signed)))
        assert cluster.submit("v1", [add])[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v2", add.hash().hex()), 120, "the node key")
        receipt = cluster.get("v2", f"/api/v1/txs/{add.hash().hex()}")
        assert receipt["receipt"]["code_name"] == "ok"
        cluster.wait_height(receipt["height"] + 3, timeout_s=120)
        # At the next epoch boundary the others re-pin v1 to that key and link again,
        # authenticated by it; the chain goes on.
        others = [name for name in cluster.names if name != "v1"]
        cluster.wait(
            lambda: all(_authenticated(cluster, name) == 1.0 for name in others),
            120,
            "v1's peers to re-pin it and link authenticated",
        )
        cluster.wait_height(cluster.height("v0") + 3, timeout_s=120)
