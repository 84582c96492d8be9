"""`bpci`, `bpci-core` and `metanode did | credential` as an operator runs them, against one
real 1-validator dev chain (real processes, sockets, LMDB), with the gateway reads they use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metanode.net import tls
from tests.node.cluster import Cluster, running

BIN = Path(sys.executable).parent


def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / argv[0]), *argv[1:]]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def ok(*argv: str) -> dict:
    done = run(*argv, "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def usage_error(*argv: str) -> str:
    done = run(*argv)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()  # one line a person reads, no traceback
    return line


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running(tmp_path_factory.mktemp("registry-cli") / "net", validators=1) as cluster:
        cluster.wait_height(1, timeout_s=120)  # a process importing on a busy VM
        yield cluster


def test_bpci_joins_registers_a_community_node_that_syncs_and_lists_it(
    chain: Cluster, tmp_path: Path
) -> None:
    gateway = chain.url("v0")
    joined = ok("bpci", "join", "--peer", gateway, "--home", str(tmp_path / "new"))
    node_dir = Path(joined["node_dir"])
    assert joined["chain_id"] == "metanode-dev" and joined["peers"] == ["v0"]
    genesis = httpx.get(gateway + "/api/v1/genesis")
    assert (tmp_path / "new" / "genesis.json").read_text() == genesis.text  # byte for byte
    peers = httpx.get(gateway + "/api/v1/peers").json()
    assert peers["node"]["node_id"] == chain.status("v0")["node_id"]  # type: ignore[index]
    assert peers["peers"] == []

    address = joined["node_id"]  # the node key is the account that registers
    funded = ok("metanode", "faucet", address, "--amount", "10", "--home", str(chain.home))
    chain.wait(lambda: chain.committed("v0", funded["hash"]), 20, "the faucet transfer")
    new_home = str(tmp_path / "new")
    registered = ok(
        "bpci", "register", "--node-type=community", "--key", "node", "--stake", "0",
        "--home", new_home, "--node", gateway,
    )  # fmt: skip
    assert registered["tx"]["status"] == "committed" and registered["address"] == address
    assert registered["roles"] == ["executor"] and registered["stake"] == "0 GEN"
    assert registered["peer_admitted"] == address  # announced to v0, which admitted it
    listed = ok("bpci", "nodes", "--node", gateway)["nodes"]
    by_type = {item["node_type"]: item for item in listed}  # the dev authorities, and it
    assert sorted(by_type) == ["bank", "community", "government"] and len(listed) == 3
    assert by_type["community"]["address"] == address
    assert by_type["community"]["status"] in ("pending", "active")
    assert by_type["bank"]["roles"] == ["authority"]
    one = ok("bpci", "nodes", address, "--node", gateway)
    assert one["p2p_address"] == f"127.0.0.1:{joined['p2p_port']}"
    assert one["did"].startswith("did:metanode:") and one["stake_base_units"] == 0
    shown = run("bpci", "nodes", "--node", gateway)
    assert shown.returncode == 0 and "community" in shown.stdout and "0 GEN" in shown.stdout
    again = run("bpci", "register", "--node-type=community", "--key", "node", "--home", new_home,
                "--node", gateway)  # fmt: skip
    assert again.returncode == 1 and "FAILED: already registered" in again.stdout
    # It leaves: exit_height is when its (zero) stake is paid back and it turns exited.
    left = ok("bpci", "exit", "--key", "node", "--home", new_home, "--node", gateway)
    assert left["tx"]["status"] == "committed" and left["address"] == address
    assert left["exit_height"] > left["tx"]["height"]
    assert left["status"] in ("pending", "active", "unbonding", "exited")
    twice = run("bpci", "exit", "--key", "node", "--home", new_home, "--node", gateway)
    assert twice.returncode == 1 and "FAILED: node already leaving" in twice.stdout
    usage_error("bpci", "exit", "--key", "nobody", "--home", new_home, "--node", gateway)
    # Unjail frees only a validator jailed for missed commits (tests/state/test_downtime.py).
    free = run("bpci", "unjail", "--key", "node", "--home", new_home, "--node", gateway)
    assert free.returncode == 1 and "FAILED: validator not jailed" in free.stdout
    refused = run(
        "bpci", "unjail", "--key", "node", "--home", new_home, "--node", gateway, "--json"
    )
    outcome = json.loads(refused.stdout)["tx"]
    assert refused.returncode == 1 and outcome["status"] == "failed"
    assert outcome["receipt"]["code_name"] == "registry.validator_not_jailed"
    usage_error("bpci", "unjail", "--key", "nobody", "--home", new_home, "--node", gateway)

    # The gateway reads behind them: a page, its cursor, one node, an unknown node.
    addresses = [item["address"] for item in listed]
    page = httpx.get(gateway + "/api/v1/registry/nodes", params={"limit": 2}).json()
    assert [item["address"] for item in page["nodes"]] == addresses[:2]
    assert page["next"] == addresses[1]
    after = httpx.get(gateway + "/api/v1/registry/nodes", params={"after": addresses[1]}).json()
    assert [item["address"] for item in after["nodes"]] == addresses[2:]
    assert after["next"] is None
    unknown = httpx.get(gateway + f"/api/v1/registry/nodes/{chain.status('v0')['node_id']}")  # type: ignore[index]
    assert unknown.status_code == 404
    validators = httpx.get(gateway + "/api/v1/validators").json()
    assert validators["total_power"] == 1_000 and len(validators["validators"]) == 1

    usage_error("bpci", "register", "--node-type=bogus", "--key", "node", "--home", new_home)
    usage_error("bpci", "register", "--node-type=community", "--key", "node", "--p2p", "nope",
                "--home", new_home, "--node", gateway)  # fmt: skip
    usage_error("bpci", "nodes", "mn1nope", "--node", gateway)
    usage_error("bpci", "join", "--peer", gateway, "--home", new_home)  # it holds a network

    # A node outside the validator set runs and block-syncs: v0 admitted it when it
    # registered, with no config edit and no restart, and keeps it for its next start.
    assert (chain.home / "nodes" / "v0" / "admitted" / f"{address}.pem").exists()
    again = httpx.post(
        gateway + "/api/v1/peers", json={"certificate": (node_dir / "node.pem").read_text()}
    )
    assert again.status_code == 200 and again.json() == {
        "node_id": address, "host": "127.0.0.1", "port": joined["p2p_port"], "new": False,
    }  # fmt: skip
    stranger = tls.certificate_pem(os.urandom(32)).decode()  # a key no record holds
    for certificate, why in ((stranger, "is not a registered node"), ("junk", "not a valid")):
        refused = httpx.post(gateway + "/api/v1/peers", json={"certificate": certificate})
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"].endswith("/peer-refused")
        assert why in refused.json()["detail"]
    syncing = subprocess.Popen(
        [str(BIN / "metanode"), "start", "--home", str(node_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        target = chain.height("v0")
        url = f"http://127.0.0.1:{joined['api_port']}/api/v1/status"

        def synced() -> bool:
            try:
                return httpx.get(url).json()["height"] >= target
            except (httpx.HTTPError, ValueError):
                return False

        chain.wait(synced, 60, f"the joined node to sync to {target}")
        assert httpx.get(url).json()["validator"] is False
    finally:
        syncing.terminate()
        syncing.wait(20)


def test_bpci_core_refuses_usage_errors() -> None:
    usage_error("bpci-core", "register", "--key", "x", "--kyc", "none.json")  # no --enterprise
    usage_error("bpci-core", "notary", "--key", "x", "--kyc", "none.json")  # no --committee-join


def test_metanode_did_and_credential_commands(chain: Cluster, tmp_path: Path) -> None:
    home = str(chain.home)
    created = ok("metanode", "did", "create", "--from", "dev1", "--home", home)
    did = created["did"]
    assert created["tx"]["status"] == "committed"
    resolved = ok("metanode", "did", "resolve", did, "--home", home)
    assert resolved["didDocument"]["id"] == did
    assert resolved["didDocumentMetadata"]["versionId"] == "1"

    # dev1 is no authority: its credential is well signed, but the chain does not hold it.
    credential = tmp_path / "kyc.json"
    issued = ok(
        "metanode", "credential", "issue", "--from", "dev1", "--subject", did, "--level", "full",
        "--index", "7", "--out", str(credential), "--home", home,
    )  # fmt: skip
    assert issued["issuer"] == did and json.loads(credential.read_text())["proof"]
    checked = run("metanode", "credential", "verify", str(credential), "--home", home, "--json")
    assert checked.returncode == 1
    facts = json.loads(checked.stdout)
    assert facts["proof_valid"] is True and facts["registered"] is False
    assert facts["valid"] is False
    revoked = ok("metanode", "credential", "revoke", str(credential), "--from", "dev1",
                 "--home", home)  # fmt: skip
    assert revoked["status_index"] == 7 and revoked["tx"]["status"] == "committed"
    twice = run("metanode", "credential", "revoke", str(credential), "--from", "dev1",
                "--home", home)  # fmt: skip
    assert twice.returncode == 1 and "FAILED: credential revoked" in twice.stdout

    rotated = ok("metanode", "did", "rotate", did, "--from", "dev1", "--new-key", "dev2",
                 "--home", home)  # fmt: skip
    assert rotated["method"] == f"{did}#key-1"
    assert run("metanode", "credential", "verify", str(credential), "--home", home).returncode == 1
    refused = run("metanode", "did", "deactivate", did, "--from", "dev1", "--home", home)
    assert refused.returncode == 1 and "not controller" in refused.stdout  # rotated away
    ok("metanode", "did", "deactivate", did, "--from", "dev2", "--home", home)
    gone = ok("metanode", "did", "resolve", did, "--home", home)
    assert gone["didDocumentMetadata"]["deactivated"] is True

    usage_error("metanode", "did", "resolve", "did:example:123", "--home", home)
    usage_error("metanode", "credential", "verify", str(tmp_path / "missing.json"), "--home", home)
    usage_error("metanode", "credential", "issue", "--from", "dev1", "--subject", did,
                "--level", "platinum", "--index", "1", "--out", "x", "--home", home)  # fmt: skip


def test_metanode_credential_selective_disclosure(chain: Cluster, tmp_path: Path) -> None:
    home = str(chain.home)
    issued, shown = tmp_path / "kyc.sd-jwt", tmp_path / "shown.txt"
    ok(
        "metanode", "credential", "issue-sd", "--from", "bank", "--holder", "dev1",
        "--attribute", "country=IN", "--attribute", "kyc_level=full",
        "--attribute", "birthdate=1990-01-15", "--out", str(issued), "--home", home,
    )  # fmt: skip
    presented = ok(
        "metanode", "credential", "present", str(issued), "--from", "dev1", "--show", "country",
        "--audience", "shop", "--nonce", "n-1", "--out", str(shown), "--home", home,
    )  # fmt: skip
    assert presented["disclosed"] == ["country"]
    checked = ok("metanode", "credential", "check-disclosure", str(shown), "--audience", "shop",
                 "--nonce", "n-1", "--home", home)  # fmt: skip
    assert checked["valid"] is True and checked["disclosed"] == {"country": "IN"}
    # Another verifier's nonce: refused with its rule, exit 1.
    refused = run("metanode", "credential", "check-disclosure", str(shown), "--audience", "shop",
                  "--nonce", "n-2", "--home", home, "--json")  # fmt: skip
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["rule"] == "key_binding_invalid"
    usage_error("metanode", "credential", "present", str(issued), "--from", "dev1",
                "--show", "salary", "--audience", "a", "--nonce", "n", "--out", "x",
                "--home", home)  # fmt: skip


def test_bpci_core_notary_joins_the_committee_by_registering_with_the_notary_role(
    chain: Cluster, tmp_path: Path
) -> None:
    """Last in the module: the node turns active as a notary; one registry notary is below
    the committee's floor of 4, so the validator set stays the committee."""
    gateway, home = chain.url("v0"), str(chain.home)
    new_home = str(tmp_path / "notary")
    address = ok("bpci", "join", "--peer", gateway, "--home", new_home)["node_id"]
    # Dev accounts hold 1,000,000 GEN each; the notary role locks 2,000,000.
    for sender, denom, coins in (
        ("dev5", "GEN", "1000000"),
        ("dev6", "GEN", "1000000"),
        ("dev7", "GEN", "1"),
        ("dev7", "FLX", "100"),
    ):
        ok("metanode", "tx", "send", "--to", address, "--amount", coins, "--denom", denom,
           "--from", sender, "--wait", "--home", home)  # fmt: skip
    did = ok("metanode", "did", "create", "--from", "node", "--home", new_home,
             "--node", gateway)["did"]  # fmt: skip
    credential = tmp_path / "kyc.json"
    ok("metanode", "credential", "issue", "--from", "bank", "--subject", did, "--level", "full",
       "--index", "7", "--out", str(credential), "--home", home)  # fmt: skip

    joined = ok("bpci-core", "notary", "--committee-join", "--key", "node", "--kyc",
                str(credential), "--home", new_home, "--node", gateway)  # fmt: skip
    assert joined["tx"]["status"] == "committed" and joined["kyc_level"] == "full"
    assert (joined["roles"], joined["stake"]) == (["notary"], "2000000 GEN")
    chain.wait(
        lambda: chain.get("v0", f"/api/v1/registry/nodes/{address}")["status"] == "active",
        60,
        "the notary to turn active at the next epoch",
    )
    record = ok("bpci", "nodes", address, "--node", gateway)
    assert (record["node_type"], record["roles"]) == ("enterprise", ["notary"])
    # A second registration is refused by the chain: no transaction adds a role to a record.
    again = run("bpci-core", "notary", "--committee-join", "--key", "node", "--kyc",
                str(credential), "--home", new_home, "--node", gateway)  # fmt: skip
    assert again.returncode == 1 and "already registered" in again.stdout
