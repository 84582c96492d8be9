"""`bpi init | deploy | call | scale | monitor | logs` and `bpci deploy | monitor` against one
real 1-validator dev chain (real processes, sockets, LMDB): deploy examples/counter.wat, call
it, and read the app and its ordered, escrowed calls back through the gateway; an operator
deploys an app that logs, and the node executes and notarises it, as the commands show."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from metanode.docklock import cage
from metanode.node.home import DEV_CHAIN_ID
from metanode.types import Address, CallApp, Transaction
from tests.node.cluster import Cluster, running

BIN = Path(sys.executable).parent
COUNTER = Path(__file__).resolve().parents[2] / "examples" / "counter.wat"


def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / argv[0]), *argv[1:]]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running(tmp_path_factory.mktemp("apps-cli") / "net", validators=1) as cluster:
        cluster.wait_height(1)
        yield cluster


def bpi(chain: Cluster, *argv: str) -> dict:
    done = run("bpi", *argv, "--home", str(chain.home), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_deploy_call_scale_and_read_back(chain: Cluster, tmp_path: Path) -> None:
    module = tmp_path / "counter.wat"
    module.write_text(COUNTER.read_text())
    (tmp_path / "app.toml").write_text("[app]\nreplicas = 1\nfuel_limit = 100000\n")
    deployed = bpi(chain, "deploy", str(module), "--fuel-price", "0.000000002")
    app_id = cage.app_id(cage.wat_to_wasm(COUNTER.read_text())).hex()
    assert deployed["app"] == app_id
    assert deployed["tx"]["ok"] and deployed["height"] >= 1
    assert deployed["fuel_price"] == "0.000000002 FLX per fuel"
    assert (deployed["replicas"], deployed["fuel_limit"]) == (1, 100_000)

    first = bpi(chain, "call", app_id, "increment", "--fuel-limit", "5000")
    second = bpi(chain, "call", app_id, "increment")
    assert (first["seq"], second["seq"]) == (0, 1)
    assert bpi(chain, "scale", app_id, "--replicas", "2")["tx"]["ok"]

    view = chain.get("v0", f"/api/v1/apps/{app_id}")
    assert (view["replicas"], view["fuel_price"], view["fuel_limit"], view["calls"]) == (
        2,
        2,
        100_000,
        2,
    )
    assert view["versions"][0]["functions"] == ["increment"]
    (validator,) = chain.get("v0", "/api/v1/validators")["validators"]
    assert view["executors"] == [validator["address"]]  # no executors registered: validators
    # The epoch is the chain's, read at each request: a boundary may fall between the two.
    listed = chain.get("v0", "/api/v1/apps")["apps"]
    assert [{**app, "epoch": None} for app in listed] == [{**view, "epoch": None}]

    def call_one() -> list[tuple[int, str, int]]:
        calls = chain.get("v0", f"/api/v1/apps/{app_id}/calls?from=1")["calls"]
        return [(call["seq"], call["status"], call["escrow"]) for call in calls]

    # The node executes and notarises the call (node/hosting), whose LogBlock settles it.
    chain.wait(lambda: call_one() == [(1, "settled", 100_000 * 2)], 30, "call 1 settled")
    assert chain.client.get(chain.url("v0") + f"/api/v1/apps/{'0' * 64}").status_code == 404


def test_init_scaffolds_an_app_that_deploys_with_its_manifest(
    chain: Cluster, tmp_path: Path
) -> None:
    done = run("bpi", "init", str(tmp_path / "hello"))
    assert done.returncode == 0, done.stderr
    deployed = bpi(chain, "deploy", str(tmp_path / "hello" / "app.wat"))
    assert (deployed["replicas"], deployed["fuel_limit"]) == (2, 1_000_000)
    assert deployed["fuel_price"] == "0.000000001 FLX per fuel"
    view = chain.get("v0", f"/api/v1/apps/{deployed['app']}")
    assert view["versions"][0]["functions"] == ["hello"]


def test_refusals(chain: Cluster, tmp_path: Path) -> None:
    home = ("--home", str(chain.home))
    wait = run("bpi", "call", "00" * 32, "increment", "--wait", *home)
    assert wait.returncode == 1 and wait.stderr.count("\n") == 1
    bad_id = run("bpi", "call", "xyz", "increment", *home)
    assert bad_id.returncode == 2 and bad_id.stderr.count("\n") == 1
    forbidden = tmp_path / "escape.wat"
    forbidden.write_text('(module (import "wasi" "clock" (func)))')
    refused = run("bpi", "deploy", str(forbidden), *home)
    assert refused.returncode == 1
    assert "apps.module_forbidden_import" in refused.stdout


LOGGER = """(module
  (import "env" "input_len" (func $input_len (result i32)))
  (import "env" "input_read" (func $input_read (param i32)))
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "got ")
  (func (export "say")
    (local $n i32)
    (local.set $n (call $input_len))
    (call $input_read (i32.const 4))
    (call $log (i32.const 0) (i32.add (local.get $n) (i32.const 4)))
    (call $output_write (i32.const 4) (local.get $n))))
"""
WORDS = ("one", "two", "three")


def cli(chain: Cluster, *argv: str) -> str:
    done = run(*argv, "--home", str(chain.home))
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_an_operator_deploys_and_watches_an_app_that_logs(chain: Cluster, tmp_path: Path) -> None:
    module = tmp_path / "logger.wat"
    module.write_text(LOGGER)
    (tmp_path / "app.toml").write_text("[app]\nreplicas = 1\nfuel_limit = 100000\n")
    deployed = json.loads(cli(chain, "bpci", "deploy", str(module), "--key", "v0", "--json"))
    app = deployed["app"]
    node_id = chain.get("v0", "/api/v1/status")["node_id"]
    assert chain.get("v0", f"/api/v1/apps/{app}")["owner"] == node_id

    follower = subprocess.Popen(
        [str(BIN / "bpi"), "logs", app, "--follow", "--json", "--home", str(chain.home)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        key = chain.dev_keys()[0]
        first = chain.get("v0", f"/api/v1/accounts/{Address.from_public_key(key.public_key)}")
        for nonce, word in enumerate(WORDS[:-1], first["nonce"]):
            message = CallApp(bytes.fromhex(app), 0, "say", word.encode(), 100_000)
            unsigned = Transaction(DEV_CHAIN_ID, key.public_key, nonce, 1_000, 10_000, message)
            signed = unsigned.with_signature(key.sign(unsigned.signing_message()))
            assert chain.submit("v0", [signed])[0]["accepted"]
        # Calls are notarised in order: once the last one is, all are.
        cli(chain, "bpi", "call", app, "say", WORDS[-1], "--wait", "--wait-s", "60", "--json")
        expected = [(seq, f"got {word}") for seq, word in enumerate(WORDS)]
        assert follower.stdout is not None
        followed = [json.loads(follower.stdout.readline()) for _ in WORDS]
        assert [(line["seq"], line["log"]) for line in followed] == expected
    finally:
        follower.terminate()
        follower.wait(10)
    lines = cli(chain, "bpi", "logs", app, "--json").splitlines()
    assert [(json.loads(line)["seq"], json.loads(line)["log"]) for line in lines] == expected
    assert json.loads(lines[0])["hex"] == b"got one".hex()
    assert cli(chain, "bpi", "logs", app, "--from", "1").splitlines() == [
        "1 got two",
        "2 got three",
    ]

    seen = json.loads(cli(chain, "bpi", "monitor", app, "--json"))
    assert (seen["calls"], seen["replicas"], seen["notarised_to"]) == (3, 1, 2)
    assert seen["disputes"] == {"ranges_withheld": 0, "court_open": 0, "court_settled": 0}
    assert seen["logblocks"] >= 1 and seen["last_logblock"]["last_seq"] == 2
    assert seen["settled_recent"] == 3 and seen["fuel_used_recent"] > 0
    assert seen["executors"] == [
        {
            "node": node_id,
            "gateway": chain.url("v0"),
            "drawn_now": True,
            "last_seq": 2,
            "answered_recent": 3,
        }
    ]
    assert seen["agreement"] == {"compared": 0, "disagreed": []}  # one replica: nothing to compare
    text = cli(chain, "bpi", "monitor", app, "--once")
    assert f"app {app}" in text and "notarised to call 2" in text
    assert "disputes: 0 ranges withheld, court 0 open 0 settled" in text

    hosted = json.loads(cli(chain, "bpci", "monitor", "--key", "v0", "--json"))
    assert hosted["node"] == node_id
    (mine,) = [item for item in hosted["apps"] if item["app"] == app]
    assert (mine["calls"], mine["last_run"], mine["behind"], mine["notarised_to"]) == (3, 2, 0, 2)
    assert mine["disputes"] == seen["disputes"]
    assert hosted["paid"].endswith("FLX") and hosted["minted"].endswith("NEX")


def test_monitor_and_logs_refuse_what_names_no_app(chain: Cluster) -> None:
    assert run("bpi", "monitor", "zz", "--home", str(chain.home)).returncode == 2
    missing = run("bpi", "monitor", "00" * 32, "--json", "--home", str(chain.home))
    assert missing.returncode == 1 and "not deployed" in missing.stderr
