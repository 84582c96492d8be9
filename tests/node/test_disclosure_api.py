"""The gateway's SD-JWT check on a real node process: a dev chain's bank authority issues a
KYC credential in SD-JWT form, the holder shows country and level only, and
`POST /api/v1/disclosures/verify` answers exactly those; a presentation with an altered
disclosure is a 422 problem naming the rule. Slow: its own node (the default suite's gateway
check is tests/cli/test_registry_cli.py's `check-disclosure`, on a shared one)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from metanode.crypto import ed25519, sd_jwt
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.state.identity import disclosure
from metanode.state.identity.records import did_of_key
from tests.node.cluster import running

pytestmark = pytest.mark.slow
HOLDER = ed25519.PrivateKey(bytes(range(32)))


def test_the_gateway_verifies_a_selective_disclosure(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=1) as cluster:
        cluster.wait_height(1)
        bank = keys.read_account(tmp_path / "net" / "keys" / "bank.key", dev_home.DEV_PASSWORD)
        issuer = did_of_key(bank.public_key)
        now = int(time.time())
        attributes = {
            "sub": did_of_key(HOLDER.public_key),
            "kyc_level": "standard",
            "given_name": "Asha",
            "birthdate": "1990-01-15",
            "country": "IN",
        }
        issued = disclosure.issue_kyc(
            issuer, "key-1", bank, HOLDER.public_key, attributes, now - 60, now + 86_400
        )
        shown = sd_jwt.present(issued, ["country", "kyc_level"], HOLDER, "shop.example", "n-42")
        url = cluster.url("v0") + "/api/v1/disclosures/verify"
        body = {"presentation": shown, "audience": "shop.example", "nonce": "n-42"}
        answer = cluster.client.post(url, json=body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["disclosed"] == {"country": "IN", "kyc_level": "standard"}
        assert (result["issuer"], result["key_bound"]) == (issuer, True)
        jws, first, *rest = shown.split("~")
        salt, name, _ = json.loads(base64.urlsafe_b64decode(first + "=="))
        forged = base64.urlsafe_b64encode(json.dumps([salt, name, "FR"]).encode()).decode()
        body["presentation"] = "~".join([jws, forged.rstrip("="), *rest])
        refused = cluster.client.post(url, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["rule"] == "disclosure_unreferenced"
