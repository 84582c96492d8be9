"""`metanode up | status | init | keys | tx | query | faucet` as an operator runs them: real
processes, real sockets, a real chain."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metanode.cli.network import node_urls
from metanode.errors import MetanodeError
from metanode.net.ports import free_port_block
from tests.node.cluster import Cluster, running

METANODE = str(Path(sys.executable).parent / "metanode")


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [METANODE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def status(home: Path) -> dict:
    result = run("status", "--home", str(home), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_common_height(home: Path, height: int, timeout_s: float) -> float:
    """Until every node of the home is at `height` or above, asked here through the gateways:
    a `metanode status` process every 0.2 s took about a second of CPU each from the nodes it
    waited for. The tests read `metanode status` themselves once the height is reached."""
    started = time.monotonic()
    with httpx.Client(timeout=2) as client:
        while time.monotonic() - started < timeout_s:
            if _at_height(client, home, height):
                return time.monotonic() - started
            time.sleep(0.2)
    raise AssertionError(f"no common height {height} within {timeout_s} s: {status(home)}")


def _at_height(client: httpx.Client, home: Path, height: int) -> bool:
    try:
        urls = node_urls(home)
    except MetanodeError:  # `up` has not written the configs yet
        return False
    for _, url in urls:
        try:
            if client.get(f"{url}/api/v1/status").json()["height"] < height:
                return False
        except (httpx.HTTPError, ValueError, KeyError):
            return False
    return True


def test_up_brings_four_validators_to_a_common_height_and_resumes_the_same_chain(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    base = free_port_block(8)
    command = [METANODE, "up", "--home", str(home), "--port-base", str(base)]
    command += ["--api-port-base", str(base + 4)]
    up = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_common_height(home, 3, 60)
        nodes = status(home)["nodes"]
        assert [node["name"] for node in nodes] == ["v0", "v1", "v2", "v3"]
        assert set(nodes[0]) == {"name", "height", "round", "peers", "mempool"}
        assert all(node["peers"] == 3 for node in nodes)
    finally:
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=30)
    assert up.returncode == 0, output
    assert "dev0" in output and "/api/v1" in output  # endpoints and funded accounts printed
    reached = max(node["height"] for node in nodes)
    assert all(node["height"] is None for node in status(home)["nodes"])  # all stopped

    again = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_common_height(home, reached + 2, 60)  # the same chain, going on
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One running chain for the tests that only send to it and read it: they do not meet
    (the URL forms read the latest block, whatever it holds)."""
    with running(tmp_path_factory.mktemp("metanode-cli") / "net", validators=1) as chain:
        chain.wait_height(1, timeout_s=120)  # a process importing on a busy machine
        yield chain


def test_keys_tx_query_and_faucet_against_a_running_chain(cluster: Cluster) -> None:
    home = str(cluster.home)
    added = run("keys", "add", "alice", "--home", home, timeout=120)
    assert added.returncode == 0, added.stderr
    alice = added.stdout.split()[1]
    listed = json.loads(run("keys", "list", "--home", home, "--json").stdout)
    assert alice in {item["address"] for item in listed["keys"]}
    sent = run(
        "tx",
        "send",
        "--to",
        alice,
        "--amount",
        "2.5",
        "--from",
        "dev0",
        "--wait",
        "--home",
        home,
        "--json",
    )
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["status"] == "committed"
    balance = json.loads(run("query", "balance", alice, "--home", home, "--json").stdout)
    assert balance["balances"]["FLX"] == "2.5"
    assert balance["balances_base_units"]["FLX"] == 2_500_000_000
    gift = run("faucet", alice, "--amount", "7", "--home", home, "--json")
    assert gift.returncode == 0, gift.stderr
    answer = json.loads(gift.stdout)
    assert answer["amount"] == "7" and answer["amount_base_units"] == 7 * 10**9
    cluster.wait(lambda: cluster.committed("v0", answer["hash"]), 20, "the faucet transfer")
    gift = run("faucet", alice, "--amount", "100", "--home", home)  # what a person reads
    assert gift.returncode == 0, gift.stderr
    assert gift.stdout.startswith(f"the faucet sent 100 FLX to {alice} in transaction ")
    tx_hash = gift.stdout.split()[-1]
    cluster.wait(lambda: cluster.committed("v0", tx_hash), 20, "the faucet transfer")
    shown = run("query", "balance", alice, "--home", home)
    assert shown.returncode == 0, shown.stderr
    assert "FLX      109.5 FLX" in shown.stdout.splitlines()
    assert "0 NEX" in shown.stdout and "000000" not in shown.stdout.replace(alice, "")
    block = json.loads(run("query", "block", "latest", "--home", home, "--json").stdout)
    assert block["certificate"]["block_hash"] == block["hash"]
    # More than alice holds: the pool sees it would fail and refuses it, saying why.
    short = run("tx", "send", "--to", alice, "--amount", "1000", "--from", "alice", "--home", home)
    assert short.returncode == 1 and "Traceback" not in short.stderr
    assert "insufficient_funds" in short.stderr and "109.5 FLX" in short.stderr, short.stderr
    # A zero amount passes admission and fails when it runs: it reads FAILED, first.
    failed = run("tx", "send", "--to", alice, "--amount", "0", "--wait", "--home", home)
    assert failed.returncode == 1, failed.stderr
    first = failed.stdout.splitlines()[0]
    assert first.startswith("FAILED: amount must not be zero (bank.amount_must_not_be_zero)")
    assert "fee charged 0.000001 FLX" in first, first
    as_json = run("tx", "send", "--to", alice, "--amount", "0", "--wait", "--home", home, "--json")
    assert as_json.returncode == 1
    record = json.loads(as_json.stdout)
    assert record["status"] == "failed" and record["committed"] and record["ok"] is False
    shown = run("query", "tx", record["hash"], "--home", home)
    assert shown.returncode == 0 and shown.stdout.startswith("FAILED: amount must not be zero")
    typo = alice[:-1] + ("q" if alice[-1] != "q" else "p")  # one character changed
    bad = run("tx", "send", "--to", typo, "--amount", "1", "--home", home)
    assert bad.returncode == 2  # a usage error
    assert "checksum" in bad.stderr and "Traceback" not in bad.stderr


def test_node_takes_the_url_up_prints_and_host_port(cluster: Cluster) -> None:
    base = cluster.url("v0")  # http://127.0.0.1:PORT
    forms = [base, base + "/", base + "/api/v1", base + "/api/v1/"]
    forms.append(base.removeprefix("http://"))
    for form in forms:
        block = run("query", "block", "latest", "--node", form, "--json")
        assert block.returncode == 0, (form, block.stderr)
        assert json.loads(block.stdout)["certificate"]["block_hash"]
    wrong = run("query", "block", "latest", "--node", base + "/api/v2")
    assert wrong.returncode == 2 and "the gateway URL that `metanode up` prints" in wrong.stderr


def test_a_bad_config_names_the_field(tmp_path: Path) -> None:
    node = tmp_path / "node"
    node.mkdir()
    (node / "config.toml").write_text(
        'name = "x"\n[p2p.listen]\nport = 70000\n[api.listen]\nport = 1\n'
    )
    result = run("start", "--home", str(node))
    assert result.returncode == 2  # a usage error
    assert "p2p.listen.port" in result.stderr and "Traceback" not in result.stderr
