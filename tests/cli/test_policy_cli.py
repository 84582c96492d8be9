"""BISO policies and Bus BIOS routing on a real dev chain (a node process, LMDB, its gateway,
the `bpci` and `metanode gov` commands as people run them): a policy registered and shown,
calls lit Green (committed), Yellow (quarantined, admitted, marked) and Red (refused with the
node's signed record naming the policy version and rule, a request missing fields included),
then governance's emergency mode contains the app: its calls are refused, on the gateway and
on chain, while blocks go on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from metanode.cli import wallet
from metanode.cli.governance import proposal_content
from metanode.crypto.hashing import blake3_hash
from metanode.devkit.chain import DevChain
from metanode.docklock.cage import wat_to_wasm
from metanode.errors import ConfigError
from metanode.net.ports import free_port_block
from metanode.node import home as dev_home
from metanode.state.policy.routing import RoutingRecord
from metanode.types import Address, AppContainment, CallApp, Transaction, Vote, VoteOption

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COUNTER = wat_to_wasm((EXAMPLES / "counter.wat").read_text())
APP = blake3_hash(COUNTER).hex()
COIN = 10**9
VOTING_PERIOD_BLOCKS = 30
POLICY = {
    "app_id": APP,
    "classification": "confidential",
    "allowed_regions": ["eu-west", "eu-central"],
    "blocked_regions": ["us-east"],
    "purposes": ["billing"],
    "data_types": ["usage"],
    "review_data_types": ["health"],
    "consent_required": True,
    "encrypt_in_transit": True,
    "encrypt_at_rest": True,
    "retention_days": 30,
}
GOOD = {"region": "eu-west", "purpose": "billing", "data_types": ["usage"],
        "consent": "receipt-1", "transport": "https"}  # fmt: skip


def cli(chain: DevChain, tool: str, *argv: str, code: int = 0) -> Any:
    done = subprocess.run(
        [str(BIN / tool), *argv, "--home", str(chain.home), "--node", chain.url, "--json"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == code, done.stderr + done.stdout
    return json.loads(done.stdout) if done.stdout.strip() else None


def signed_call(chain: DevChain, name: str) -> Transaction:
    key = chain.key(name)
    sender = Address.from_public_key(key.public_key)
    nonce = chain.request("GET", f"/api/v1/accounts/{sender}")["nonce"]
    message = CallApp(bytes.fromhex(APP), 0, "increment", b"", 10_000)
    unsigned = Transaction(chain.chain_id, key.public_key, nonce, 1_000, chain.height() + 100,
                           message)  # fmt: skip
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


def route(chain: DevChain, tx: Transaction, request: dict[str, Any]) -> httpx.Response:
    body = {"tx": tx.encode().hex(), "request": request}
    return chain.client.post(f"{chain.url}/api/v1/apps/{APP}/calls", json=body)


def check_record(answer: dict[str, Any], light: str, rule: str, version: int) -> None:
    """The routing record says what the answer says, and the node's signature holds for it
    and for nothing else."""
    routing = answer["routing"]
    record = RoutingRecord.decode(bytes.fromhex(routing["record"]))
    assert (record.light.value, record.app_id.hex(), record.rule) == (light, APP, rule)
    assert (record.policy_version, record.tx_hash.hex()) == (version, routing["tx_hash"])
    public_key = bytes.fromhex(routing["node_public_key"])
    signature = bytes.fromhex(routing["signature"])
    assert record.verify(public_key, signature)
    assert not replace(record, rule="forged").verify(public_key, signature)


@pytest.mark.parametrize(
    ("contain", "release", "expected"),
    [(APP, None, AppContainment(bytes.fromhex(APP), True)),
     (None, APP, AppContainment(bytes.fromhex(APP), False))],
)  # fmt: skip
def test_gov_propose_builds_containment_and_refuses_a_bad_app_id(
    contain: str | None, release: str | None, expected: AppContainment
) -> None:
    assert proposal_content([], None, "FLX", None, None, None, contain, release) == expected
    with pytest.raises(ConfigError, match="64 lower-case hex"):
        proposal_content([], None, "FLX", None, None, None, contain and "xyz", release and "XY")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("policy")
    base = free_port_block(2)
    entry = dev_home.init_devchain(home, port_base=base, api_port_base=base + 1)
    # One inspected call a minute, so the second Yellow call meets the quarantine's limit.
    config = entry.config_path.read_text()
    assert "quarantine_calls_per_minute = 30" in config
    entry.config_path.write_text(
        config.replace("quarantine_calls_per_minute = 30", "quarantine_calls_per_minute = 1")
    )
    path = home / dev_home.GENESIS
    genesis = json.loads(path.read_text())
    genesis["governance"] = {
        "parameters": {"deposit_period_blocks": 100, "voting_period_blocks": VOTING_PERIOD_BLOCKS}
    }
    path.write_text(json.dumps(genesis, indent=2))
    with DevChain(home, block_interval_ms=400) as running:
        running.deploy(running.key("dev0"), COUNTER, fuel_limit=100_000)
        # The validator (the only executor) pays its own transactions' fees.
        assert running.transfer(running.key("dev0"), validator_address(running), 10 * COIN)["ok"]
        yield running


def validator_address(chain: DevChain) -> Address:
    (validator,) = dev_home.node_entries(chain.home)
    return Address.from_public_key(wallet.node_keys(chain.home, validator.name).public_key)


def test_a_policy_lights_calls_and_the_gateway_routes_them(chain: DevChain, tmp_path: Path) -> None:
    # A contradiction is refused before anything is sent, naming the code.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**POLICY, "blocked_regions": ["eu-west"]}))
    done = subprocess.run(
        [str(BIN / "bpci"), "policy", "register", str(bad), "--from", "dev0",
         "--home", str(chain.home), "--node", chain.url],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "policy.contradiction" in done.stderr + done.stdout
    # The chain's one executor runs in an allowed region, so the app's calls have one.
    (validator,) = dev_home.node_entries(chain.home)
    declared = cli(chain, "bpci", "policy", "region", "eu-west", "--from", validator.name)
    assert declared["tx"]["ok"]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(POLICY))
    registered = cli(chain, "bpci", "policy", "register", str(path), "--from", "dev0")
    assert registered["tx"]["ok"] and registered["version"] == 1
    shown = cli(chain, "bpci", "policy", "show", APP)
    assert shown["document"]["allowed_regions"] == ["eu-central", "eu-west"]
    assert shown["signer"] == str(Address.from_public_key(chain.key("dev0").public_key))
    assert shown["contained_since"] is None
    green = cli(
        chain,
        "bpci",
        "policy",
        "evaluate",
        APP,
        "--region",
        "eu-west",
        "--purpose",
        "billing",
        "--data-type",
        "usage",
        "--consent",
        "c",
        "--transport",
        "https",
    )
    assert (green["light"], green["rule"]) == ("green", "allowed")
    red = cli(chain, "bpci", "policy", "evaluate", APP, "--region", "us-east", code=1)
    assert (red["light"], red["rule"]) == ("red", "region_blocked")

    # Green: admitted and committed, with the node's signed record.
    answer = route(chain, signed_call(chain, "dev1"), GOOD)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["admitted"]["accepted"] and body["decision"]["rule"] == "allowed"
    check_record(body, "green", "allowed", 1)
    assert chain.wait(body["routing"]["tx_hash"])["ok"]
    # Yellow: quarantined (admitted), its record marked yellow with the rule, kept by the node.
    answer = route(chain, signed_call(chain, "dev1"), {**GOOD, "data_types": ["health"]})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    check_record(body, "yellow", "data_type_review", 1)
    kept = chain.request("GET", f"/api/v1/routing/{body['routing']['tx_hash']}")
    assert kept == body["routing"]
    assert chain.wait(body["routing"]["tx_hash"])["ok"]
    limited = route(chain, signed_call(chain, "dev1"), {**GOOD, "data_types": ["health"]})
    assert limited.status_code == 429 and "quarantine" in limited.json()["type"]
    # Red: refused with a signed record, never an error page; nothing reaches the mempool.
    for request, rule in [({**GOOD, "region": "us-east"}, "region_blocked"),
                          ({}, "region_missing"),
                          ({**GOOD, "transport": "http"}, "transport_unencrypted")]:  # fmt: skip
        tx = signed_call(chain, "dev2")
        answer = route(chain, tx, request)
        assert answer.status_code == 403, answer.text
        body = answer.json()
        assert body["admitted"] is None and body["decision"]["light"] == "red"
        check_record(body, "red", rule, 1)
        unknown = chain.client.get(f"{chain.url}/api/v1/txs/{tx.hash().hex()}")
        assert unknown.status_code == 404  # neither pending nor committed
    # `bpi call` takes the same path: Red is refused, exit 1, with the signed record.
    refused = cli(chain, "bpi", "call", APP, "increment", "--region", "us-east", code=1)
    assert (refused["light"], refused["rule"]) == ("red", "region_blocked")
    check_record(refused, "red", "region_blocked", 1)
    # A body that is not a call of the app is a usage error, not a light.
    transfer = chain.client.post(
        f"{chain.url}/api/v1/apps/{APP}/calls", json={"tx": "00", "request": GOOD}
    )
    assert transfer.status_code == 400
    unknown = chain.client.post(
        f"{chain.url}/api/v1/apps/{APP}/policy/evaluate", json={**GOOD, "country": "x"}
    )
    assert unknown.status_code == 422
    metrics = chain.client.get(f"{chain.url}/metrics").text
    assert 'metanode_policy_routed_total{light="red"} 4.0' in metrics
    assert 'metanode_policy_routed_total{light="yellow"} 1.0' in metrics
    assert "metanode_policy_quarantine_limited_total 1.0" in metrics


@pytest.mark.slow
def test_emergency_mode_contains_the_app_while_the_chain_goes_on(chain: DevChain) -> None:
    (validator,) = dev_home.node_entries(chain.home)
    proposed = cli(chain, "metanode", "gov", "propose", "--from", "dev3", "--title",
                   "Contain the counter", "--contain", APP, "--deposit", "1000")  # fmt: skip
    assert proposed["tx"]["ok"], proposed
    proposal = proposed["proposal"]
    # The validator votes at once (a CLI process may take longer than the voting period).
    voted = chain.send(wallet.signer(chain.home, validator.name), Vote(proposal, VoteOption.YES))
    assert voted["ok"], voted
    deadline = time.monotonic() + 180
    shown = cli(chain, "metanode", "gov", "show", str(proposal))
    while shown["status"] != "executed":
        assert time.monotonic() < deadline, f"the containment did not execute: {shown}"
        time.sleep(1)
        shown = cli(chain, "metanode", "gov", "show", str(proposal))
    contained = cli(chain, "bpci", "policy", "evaluate", APP, code=1)
    assert (contained["light"], contained["rule"]) == ("red", "app_contained")
    # The gateway refuses new calls with a signed record; on chain a call is refused too.
    answer = route(chain, signed_call(chain, "dev4"), GOOD)
    assert answer.status_code == 403 and answer.json()["decision"]["rule"] == "app_contained"
    check_record(answer.json(), "red", "app_contained", 0)
    record = chain.send(chain.key("dev4"), CallApp(bytes.fromhex(APP), 0, "increment", b"", 10))
    assert record["receipt"]["code_name"] == "policy.app_contained"
    # The chain goes on.
    height = chain.height()
    deadline = time.monotonic() + 60
    while chain.height() <= height + 2:
        assert time.monotonic() < deadline, "blocks stopped"
        time.sleep(0.25)
