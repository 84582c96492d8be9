"""The notary's gateway reads on a real node process: a LogBlock signed by the (one-validator)
committee commits through the gateway, then its receipt, its inclusion proof and the app's
LogBlocks are served, and the proof verifies against the root the chain stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import nacl.signing

from metanode.consensus.real_suite import ValidatorKeys
from metanode.crypto import bls, merkle
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.types import (
    Address,
    CallApp,
    DeployApp,
    LogBlock,
    LogLeaf,
    SubmitLogBlock,
    Transaction,
)
from tests.node.cluster import Cluster, running
from tests.state.test_notary import APP, COUNTER, FUEL_LIMIT, FUEL_PRICE, Replicas


def commit_logblock(cluster: Cluster) -> tuple[ValidatorKeys, list[LogLeaf], LogBlock, Transaction]:
    """Deploy the counter app, call it twice and commit the one validator's LogBlock of both
    calls; answers the validator's keys, the leaves, the LogBlock and its transaction."""
    validator = keys.read_validator(
        cluster.home / "nodes" / "v0" / "validator.key", dev_home.DEV_PASSWORD
    )
    # The one validator is the draw's only candidate: it executes both calls.
    leaves = Replicas(keys=[nacl.signing.SigningKey(validator.ed25519_seed)]).leaves(0, 1)
    root = merkle.root_from_leaf_hashes([leaf.receipt_hash for leaf in leaves])
    unsigned = LogBlock(APP, 1, 0, 1, root, tuple(leaves))
    secret = bls.PrivateKey.from_bytes(validator.bls_secret)
    logblock = replace(unsigned, signers=b"\x01", aggregate=secret.sign(unsigned.signing_message()))
    key = cluster.dev_keys()[0]
    messages = [
        DeployApp(COUNTER, 1, FUEL_PRICE, FUEL_LIMIT),
        CallApp(APP, 0, "increment", b"", FUEL_LIMIT),
        CallApp(APP, 0, "increment", b"", FUEL_LIMIT),
        SubmitLogBlock(logblock),
    ]
    txs = []
    for nonce, message in enumerate(messages):
        tx = Transaction(dev_home.DEV_CHAIN_ID, key.public_key, nonce, 1_000, 10_000, message)
        txs.append(tx.with_signature(key.sign(tx.signing_message())))
    assert all(answer["accepted"] for answer in cluster.submit("v0", txs))
    tx = txs[-1]
    cluster.wait(lambda: cluster.committed("v0", tx.hash().hex()), 60, "the LogBlock")
    return validator, list(leaves), logblock, tx


def test_a_committed_logblock_is_served_with_its_proofs(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=1) as cluster:
        cluster.wait_height(1)
        validator, leaves, logblock, tx = commit_logblock(cluster)
        assert cluster.get("v0", f"/api/v1/txs/{tx.hash().hex()}")["status"] == "committed"
        for index, leaf in enumerate(leaves):
            found = cluster.get("v0", f"/api/v1/receipts/{leaf.receipt_hash.hex()}")
            assert found["leaf"]["call_seq"] == leaf.call_seq
            assert found["leaf_index"] == index
            assert found["logblock_hash"] == logblock.hash().hex()
            proof = cluster.get("v0", f"/api/v1/receipts/{leaf.receipt_hash.hex()}/proof")
            assert proof["height"] == found["height"] and proof["root"] == logblock.root.hex()
            merkle.verify_inclusion(
                leaf.receipt_hash,
                proof["leaf_index"],
                proof["tree_size"],
                [bytes.fromhex(item) for item in proof["path"]],
                bytes.fromhex(proof["root"]),
            )
        # Billing: both calls settled, in the statements of the epoch that committed them.
        current = cluster.get("v0", f"/api/v1/apps/{APP.hex()}/statements")["current_epoch"]
        executor = str(Address.from_public_key(validator.public_key))
        for path in (f"apps/{APP.hex()}", f"executors/{executor}"):
            statements = [
                cluster.get("v0", f"/api/v1/{path}/statements?epoch={epoch}")
                for epoch in range(current + 1)
            ]
            settled = [item for item in statements if item["calls"]]
            assert [item["calls"] for item in settled] == [2]
            (item,) = settled
            charged = sum(leaf.fuel_used for leaf in leaves) * FUEL_PRICE
            assert (item["fuel"] * FUEL_PRICE, item["charged"]) == (charged, charged)
            assert item["paid"] + item["treasury"] == charged and item["minted"] > 0
        bad = cluster.client.get(
            cluster.url("v0") + f"/api/v1/apps/{APP.hex()}/statements?epoch=-1"
        )
        assert bad.status_code == 422
        page = cluster.get("v0", f"/api/v1/logblocks?app={APP.hex()}")
        assert [item["root"] for item in page["logblocks"]] == [logblock.root.hex()]
        assert page["next"] is None
        missing = cluster.client.get(cluster.url("v0") + f"/api/v1/receipts/{'00' * 32}/proof")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
