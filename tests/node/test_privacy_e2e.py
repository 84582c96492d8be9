"""Zero-knowledge KYC on real processes: the dev chain's bank authority makes its AnonCreds
set-up and publishes it, a dev account proves "level ≥ standard and age ≥ 18" through the
gateway against the status list the gateway serves, every validator verifies it, the gateway
shows the account's attestation, and the same proof sent again is refused as a replay.
Slow: the authority's CL key takes seconds to a minute to make."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from metanode.crypto import zk
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.state.identity.records import did_of_key
from metanode.state.privacy import records
from metanode.state.privacy.params import DEFAULT
from metanode.state.registry.records import IdentityLevel
from metanode.types import Address, ProveKyc, PublishZkIssuer, Transaction
from tests.node.cluster import Cluster, running

pytestmark = pytest.mark.slow


def send(cluster: Cluster, key: Any, nonce: int, message: Any, fee: int = 1_000) -> dict[str, Any]:
    unsigned = Transaction(dev_home.DEV_CHAIN_ID, key.public_key, nonce, fee, 100_000, message)
    tx = unsigned.with_signature(key.sign(unsigned.signing_message()))
    result = cluster.submit("v0", [tx])[0]
    assert result["accepted"], result
    url = cluster.url("v0") + f"/api/v1/txs/{tx.hash().hex()}"
    cluster.wait(lambda: cluster.client.get(url).json()["committed"], 120, "the transaction")
    return cluster.client.get(url).json()


def test_a_kyc_proof_is_verified_by_the_validators_and_a_replay_refused(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=2) as cluster:
        bank = keys.read_account(tmp_path / "net" / "keys" / "bank.key", dev_home.DEV_PASSWORD)
        issuer = did_of_key(bank.public_key)
        definitions, secrets = zk.setup_issuer(issuer, 32, tmp_path / "tails")
        (tails,) = (tmp_path / "tails").iterdir()
        cluster.wait_height(1)
        status = zk.status_list(definitions, secrets, [], int(time.time()) - 5)
        published = send(cluster, bank, 0, PublishZkIssuer(issuer, definitions.to_json(), status))
        assert published["ok"], published
        # The holder reads the current status list from the gateway and proves against it.
        listed = cluster.get("v0", f"/api/v1/privacy/issuers/{issuer}")
        assert listed["capacity"] == 32
        status = json.dumps(listed["status_list"]).encode()
        holder_secret = zk.link_secret()
        credential = zk.issue(
            definitions, secrets, status, holder_secret, IdentityLevel.ENHANCED, 19900115, 3
        )
        holder = cluster.dev_keys()[0]
        address = Address.from_public_key(holder.public_key)
        statement = zk.Statement(
            issuer, IdentityLevel.STANDARD, records.born_by(int(time.time() * 1_000), 18)
        )
        nonce = records.proof_nonce(dev_home.DEV_CHAIN_ID, address, 0)
        proof = zk.prove(credential, holder_secret, statement, nonce, definitions, status, tails)
        message = ProveKyc(issuer, IdentityLevel.STANDARD, 18, proof)
        accepted = send(cluster, holder, 0, message, DEFAULT.proof_fee_min)
        assert accepted["ok"], accepted
        replayed = send(cluster, holder, 1, message, DEFAULT.proof_fee_min)
        assert replayed["receipt"]["code_name"] == "privacy.proof_replayed", replayed
        attested = cluster.get("v0", f"/api/v1/privacy/attestations/{address}")
        assert (attested["issuer"], attested["level_min"]) == (issuer, IdentityLevel.STANDARD)
        height = replayed["height"]
        cluster.wait(lambda: cluster.height("v1") >= height, 60, "v1 to reach the replay")
        roots = {cluster.block(name, height)["state_root"] for name in ("v0", "v1")}
        assert len(roots) == 1
