"""Post-quantum on a 4-validator network of real processes (docs/pq.md): on a chain that
requires hybrid links every link is hybrid (the metric), blocks commit over them, an account
migrated to hybrid keys on chain has its old-style transactions refused while the new keys
spend its coins, and a validator adds an ML-DSA key to its identity while the chain goes on,
its peers re-pinning it to that key at the next epoch boundary. A validator rotates its node
key with `bpci rotate-key` and the chain commits on across the epoch boundary where the new key
starts signing; the old key is then refused, for votes and for links."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metanode.consensus.messages import Kind, Signed
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
    SubmitEvidence,
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


def _epochs_of_six(document: dict[str, Any]) -> None:
    document.setdefault("parameters", {}).setdefault("staking", {})["epoch_blocks"] = 6


def _set_key(cluster: Cluster, name: str, identity: str, query: str = "") -> str:
    members = cluster.get(name, f"/api/v1/validators{query}")["validators"]
    return next(member["public_key"] for member in members if member["address"] == identity)


def _double_vote(key: ed25519.PrivateKey, signer: Address, height: int) -> SubmitEvidence:
    signed = []
    for digest in (bytes(32), b"\x01" * 32):
        unsigned = Signed(Kind.PREPARE, height, 0, digest, None, b"", signer)
        signature = key.sign(unsigned.signing_message())
        signed.append(Signed(Kind.PREPARE, height, 0, digest, None, b"", signer, signature))
    return SubmitEvidence(signed[0], signed[1])


@pytest.mark.slow  # four node processes across an epoch boundary
def test_a_validator_rotates_its_node_key_without_a_halt(tmp_path: Path) -> None:
    with running(tmp_path / "net", genesis=_epochs_of_six) as cluster:
        cluster.wait_height(2, timeout_s=120)
        rotated = subprocess.run(
            [
                sys.executable,
                "-m",
                "metanode.cli.bpci",
                "rotate-key",
                "--key",
                "v1",
                "--home",
                str(cluster.home),
                "--node",
                cluster.url("v1"),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        facts = json.loads(rotated.stdout)
        identity, old_key, new_key = facts["address"], facts["old_key"], facts["new_key"]
        assert facts["tx"]["receipt"]["code_name"] == "ok"
        assert _set_key(cluster, "v0", identity) == old_key  # the set in force keeps it
        # The set of the next epoch carries the new key; the chain commits on across the
        # boundary (4 validators: a halt would show as no height past it).
        cluster.wait(
            lambda: _set_key(cluster, "v2", identity) == new_key, 180, "the next epoch's set"
        )
        first = cluster.get("v2", "/api/v1/validators")["set_since"]
        assert _set_key(cluster, "v2", identity, f"?height={first - 1}") == old_key
        cluster.wait_height(first + 4, timeout_s=180)
        # v1 signs its heights with the new key and links again under it: every node holds
        # three links, and v1 said so in its log.
        cluster.wait(
            lambda: all(_links(cluster, name).get("hybrid") == 3.0 for name in cluster.names),
            180,
            "every node to link again with v1",
        )
        assert "consensus key switched" in cluster.log("v1")
        assert "node key rotated" in cluster.log("v1")
        # The old key is refused for new votes: a double vote it signs past the boundary is no
        # evidence against v1, while the new key's would be.
        seed = node_keys.read_validator(
            cluster.home / "nodes" / "v1" / "validator.key", dev_home.DEV_PASSWORD
        ).ed25519_seed
        old = ed25519.PrivateKey.from_seed(seed)
        assert old.public_key.hex() == old_key
        reporter = cluster.dev_keys()[1]
        evidence = _signed(reporter, 0, _double_vote(old, Address.parse(identity), first))
        assert cluster.submit("v0", [evidence])[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v0", evidence.hash().hex()), 120, "the evidence")
        receipt = cluster.get("v0", f"/api/v1/txs/{evidence.hash().hex()}")
        assert receipt["receipt"]["code_name"] == "registry.evidence_signature_invalid"
        cluster.wait_height(cluster.height("v0") + 2, timeout_s=120)
