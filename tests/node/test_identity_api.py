"""The DID resolver on a real node process: a DID created by a transaction resolves to its W3C
DID document, and text that is not a DID or a DID never created get their resolution errors."""

from __future__ import annotations

from pathlib import Path

from metanode.node import home as dev_home
from metanode.state.identity.records import did_of_key
from metanode.types import CreateDid, Service, Transaction
from tests.node.cluster import running


def test_a_created_did_resolves_through_the_gateway(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=1) as cluster:
        cluster.wait_height(1)
        key = cluster.dev_keys()[0]
        service = Service("hub", "LinkedDomains", "https://node.example")
        unsigned = Transaction(
            dev_home.DEV_CHAIN_ID, key.public_key, 0, 1_000, 10_000, CreateDid((), (service,))
        )
        tx = unsigned.with_signature(key.sign(unsigned.signing_message()))
        assert cluster.submit("v0", [tx])[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v0", tx.hash().hex()), 60, "the DID to commit")
        did = did_of_key(key.public_key)
        answer = cluster.client.get(cluster.url("v0") + f"/api/v1/dids/{did}")
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["didDocument"]["id"] == did
        assert result["didDocument"]["service"][0]["serviceEndpoint"] == "https://node.example"
        assert result["didDocumentMetadata"]["deactivated"] is False
        missing = cluster.client.get(cluster.url("v0") + f"/api/v1/dids/{did_of_key(bytes(32))}")
        assert missing.status_code == 404
        assert missing.json()["didResolutionMetadata"]["error"] == "notFound"
        invalid = cluster.client.get(cluster.url("v0") + "/api/v1/dids/did:web:example.com")
        assert invalid.status_code == 400
        assert invalid.json()["didResolutionMetadata"]["error"] == "invalidDid"
