"""`bpi init | deploy | call | scale` against one real 1-validator dev chain (real processes,
sockets, LMDB): deploy examples/counter.wat, call it, and read the app and its ordered,
escrowed calls back through the gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from metanode.docklock import cage
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
    assert chain.get("v0", "/api/v1/apps")["apps"] == [view]

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
