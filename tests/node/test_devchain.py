"""The one-validator dev chain (`[dev] automine`, node/devchain.py) on a real node process:
commits on demand, no empty blocks unless asked, snapshots and revert of the whole state, time
travel of the block clock, funding; and the dev tools refused on any other chain."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from metanode.cli import main as cli_main
from metanode.devkit.chain import DevChain, DevChainError
from metanode.errors import ConfigError
from metanode.net.ports import free_port_block
from metanode.node import config as node_config
from metanode.node import devchain
from metanode.node import home as dev_home
from metanode.types import Address, Denom, Transaction, Transfer

from .cluster import running

COIN = 10**9
COUNTER = Path(__file__).resolve().parents[2] / "examples" / "counter.wat"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevChain]:
    with DevChain(Path(tmp_path_factory.mktemp("devchain")) / "home", accounts=3) as dev:
        yield dev


def fresh() -> Address:
    return Address(os.urandom(20))


def test_a_transfer_commits_on_demand_and_an_idle_chain_makes_no_blocks(chain: DevChain) -> None:
    before = chain.height()
    target = fresh()
    record = chain.transfer(chain.key("dev0"), target, 3 * COIN)
    assert record["ok"] and record["height"] == before + 1
    assert chain.balance(target) == 3 * COIN
    time.sleep(1.5)  # idle: a chain with the default pacing would have made an empty block
    assert chain.height() == before + 1


def test_a_read_with_wait_ms_is_answered_at_the_commit(chain: DevChain) -> None:
    tx_hash = chain.submit(chain.key("dev1"), Transfer(fresh(), COIN, Denom.FLX))
    record = chain.client.get(f"{chain.url}/api/v1/txs/{tx_hash}", params={"wait_ms": 20_000})
    assert record.json()["committed"] is True


def test_revert_brings_the_whole_state_back_and_the_chain_goes_on(chain: DevChain) -> None:
    key = chain.key("dev0")
    target = fresh()
    chain.transfer(key, target, COIN)
    status = chain.status()
    taken = chain.snapshot()
    for _ in range(3):
        chain.transfer(key, target, COIN)
    later = chain.snapshot()
    assert chain.balance(target) == 4 * COIN
    reverted = chain.revert(taken)
    assert (reverted["height"], reverted["state_root"]) == (status["height"], status["state_root"])
    after = chain.status()
    assert (after["height"], after["state_root"]) == (status["height"], status["state_root"])
    assert after["mempool"] == 0
    assert chain.balance(target) == COIN
    # The chain commits on from the snapshot's height, with the account's nonce back too.
    record = chain.transfer(key, target, 2 * COIN)
    assert record["ok"] and record["height"] == status["height"] + 1
    assert chain.balance(target) == 3 * COIN
    # Repeatable: the id stays valid; the snapshot taken after it is gone.
    assert chain.revert(taken)["state_root"] == status["state_root"]
    assert chain.balance(target) == COIN
    with pytest.raises(DevChainError, match=rf"no snapshot {later} .*HTTP 404"):
        chain.revert(later)
    # Consumed, as Hardhat's evm_revert does, when asked.
    chain.revert(taken, keep=False)
    with pytest.raises(DevChainError, match=rf"no snapshot {taken} .*HTTP 404"):
        chain.revert(taken)


def test_a_read_waiting_for_a_commit_is_answered_when_a_revert_drops_it(chain: DevChain) -> None:
    taken = chain.snapshot()
    key = chain.key("dev2")
    sender = Address.from_public_key(key.public_key)
    nonce = chain.request("GET", f"/api/v1/accounts/{sender}")["nonce"]
    # Five nonces ahead: queued behind the gap, it stays in the mempool until the revert.
    unsigned = Transaction(
        chain.chain_id, key.public_key, nonce + 5, 1_000, 10**6, Transfer(fresh(), 1, Denom.FLX)
    )
    tx = unsigned.with_signature(key.sign(unsigned.signing_message()))
    headers = {"content-type": "application/cbor"}
    chain.request("POST", "/api/v1/txs", content=tx.encode(), headers=headers)
    answers: list[int] = []

    def read() -> None:
        url = f"{chain.url}/api/v1/txs/{tx.hash().hex()}"
        answers.append(httpx.get(url, params={"wait_ms": 30_000}, timeout=40).status_code)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.5)  # the read is waiting
    chain.revert(taken)
    reader.join(15)
    assert answers == [404]  # answered at the revert (else only after 30 s): the tx is gone


def test_revert_brings_the_apps_state_back_too(chain: DevChain) -> None:
    key = chain.key("dev1")
    app = chain.deploy(key, COUNTER)
    assert chain.call(key, app, "increment").output == (1).to_bytes(8, "little")
    taken = chain.snapshot()
    for count in (2, 3):
        result = chain.call(key, app, "increment")
        assert result.ok and result.output == count.to_bytes(8, "little")
    chain.revert(taken)
    # The executor's state and its receipt chain are back at call 0: the next call is seq 1
    # again and counts to 2.
    result = chain.call(key, app, "increment")
    assert result.ok and result.seq == 1 and result.output == (2).to_bytes(8, "little")


def test_time_travel_moves_block_time_forward_only(chain: DevChain) -> None:
    offset = chain.advance(7200)
    assert offset >= 7200_000
    record = chain.transfer(chain.key("dev2"), fresh(), COIN)
    block = chain.request("GET", f"/api/v1/blocks/{record['height']}")
    assert block["timestamp_ms"] >= time.time() * 1000 + 7000_000
    answer = chain.client.post(f"{chain.url}/api/v1/dev/time", json={"advance_s": -5})
    assert answer.status_code == 422


def test_dev_fund_funds_an_address_from_the_cli(chain: DevChain) -> None:
    target = fresh()
    result = subprocess.run(
        [
            *(sys.executable, "-m", "metanode.cli.main", "dev", "fund", str(target), "2.5"),
            *("--node", chain.url, "--home", str(chain.home), "--json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tx"]["ok"] is True
    assert chain.balance(target) == 2_500_000_000


def test_dev_tools_are_refused_on_a_chain_without_automine(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=1, accounts=1) as network:
        network.wait_height(1, timeout_s=60)
        url = network.url("v0")
        for path, body in (
            ("snapshot", None),
            ("revert", {"id": 1}),
            ("time", {"advance_s": 1}),
            ("fund", {"address": str(fresh()), "amount": 1}),
        ):
            answer = httpx.post(f"{url}/api/v1/dev/{path}", json=body, timeout=10)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["type"].endswith("dev-only")
        height = network.height("v0")
        result = subprocess.run(
            [
                *(sys.executable, "-m", "metanode.cli.main", "dev", "snapshot"),
                *("--node", url, "--home", str(tmp_path / "net")),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 1
        assert "Dev chains only" in result.stderr and "metanode dev up" in result.stderr
        assert network.height("v0") >= height


def test_automine_is_refused_on_other_chains_and_on_several_validators() -> None:
    on = node_config.Dev(automine=True)
    with pytest.raises(ConfigError, match="refused on a testnet chain"):
        devchain.check_allowed(on, "testnet", 1)
    with pytest.raises(ConfigError, match="one validator, this one has 4"):
        devchain.check_allowed(on, "dev", 4)
    devchain.check_allowed(on, "dev", 1)
    devchain.check_allowed(node_config.Dev(), "mainnet", 4)


def test_the_dev_section_round_trips_through_the_config_file(tmp_path: Path) -> None:
    entry = dev_home.init_devchain(tmp_path / "home", accounts=0, block_interval_ms=250)
    loaded = node_config.load(entry.config_path)
    assert loaded.dev == node_config.Dev(automine=True, block_interval_ms=250)
    plain = dev_home.init_dev(tmp_path / "other", validators=1, accounts=0)[0]
    assert "[dev]" not in plain.config_path.read_text()


@pytest.mark.slow
def test_a_block_interval_makes_empty_blocks(tmp_path: Path) -> None:
    with DevChain(tmp_path / "home", accounts=0, block_interval_ms=100) as dev:
        deadline = time.monotonic() + 20
        while dev.height() < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert dev.height() >= 3


def test_dev_up_refuses_a_home_of_another_chain_before_touching_it(tmp_path: Path) -> None:
    home = tmp_path / "testnet"
    (entry,) = dev_home.init_public(home, "testnet", "a long passphrase", validators=1)
    config = entry.config_path.read_text()
    result = CliRunner().invoke(cli_main.app, ["dev", "up", "--home", str(home)])
    assert isinstance(result.exception, ConfigError)
    assert "holds a testnet chain" in str(result.exception)
    assert entry.config_path.read_text() == config


@pytest.mark.slow
def test_dev_up_tmp_removes_its_chain_at_exit(tmp_path: Path) -> None:
    api_port = free_port_block(2)
    command = [sys.executable, "-m", "metanode.cli.main", "dev", "up", "--tmp", "--accounts", "1"]
    ports = ["--port-base", str(api_port + 1), "--api-port-base", str(api_port)]
    with (tmp_path / "printed.log").open("w") as printed:
        process = subprocess.Popen(command + ports, stdout=printed, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{api_port}/api/v1/status").status_code == 200:
                    break
            time.sleep(0.1)
        home = Path(re.findall(r"/\S*metanode-dev-\w+", (tmp_path / "printed.log").read_text())[0])
        assert (home / "genesis.json").exists()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
    assert not home.exists()
