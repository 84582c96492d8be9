"""`metanode init --dev | --testnet | --mainnet` and `metanode start` on each kind, as an operator
runs them: real processes, real key files, a real testnet node that commits blocks."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from metanode.cli import network
from metanode.net.ports import free_port_block
from metanode.node import keys
from metanode.node.home import node_entries, read_genesis
from metanode.state.bank.accounts import TREASURY
from metanode.types import Address

METANODE = str(Path(sys.executable).parent / "metanode")
PASSPHRASE = "a testnet passphrase 7f3a"


def metanode(
    *args: str, passphrase: str | None = PASSPHRASE, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The command as a script runs it: no terminal, so nothing can answer a prompt."""
    env = {name: value for name, value in os.environ.items() if name != keys.PASSWORD_ENV}
    if passphrase is not None:
        env[keys.PASSWORD_ENV] = passphrase
    return subprocess.run(
        [METANODE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def init(home: Path, kind: str, *options: str, passphrase: str | None = PASSPHRASE) -> str:
    result = metanode("init", f"--{kind}", "--home", str(home), *options, passphrase=passphrase)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_usage_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_each_kind_has_its_own_chain_id_fee_share_and_accounts(tmp_path: Path) -> None:
    found = {}
    for kind in ("dev", "testnet", "mainnet"):
        home = tmp_path / kind
        printed = init(home, kind, "--validators", "1")
        genesis = read_genesis(home / "genesis.json")
        assert genesis.chain_kind == kind
        assert genesis.chain_id in printed
        found[kind] = genesis
    assert found["dev"].chain_id == "metanode-dev"
    assert found["testnet"].chain_id.startswith("metanode-testnet-")
    assert found["mainnet"].chain_id.startswith("metanode-mainnet-")
    assert len({genesis.chain_id for genesis in found.values()}) == 3
    shares = {kind: genesis.auth.treasury_fee_bps for kind, genesis in found.items()}
    assert shares == {"dev": 0, "testnet": 100, "mainnet": 500}
    # A testnet has a funded faucet and no dev accounts; a mainnet has neither.
    assert found["testnet"].faucet.enabled and not found["mainnet"].faucet.enabled
    faucet = keys.account_address(
        keys.read_account(tmp_path / "testnet" / "keys" / "faucet.key", PASSPHRASE)
    )
    assert [account.address for account in found["testnet"].accounts] == [faucet]
    assert sorted(path.name for path in (tmp_path / "testnet" / "keys").iterdir()) == ["faucet.key"]
    assert found["mainnet"].accounts == ()
    assert not (tmp_path / "mainnet" / "keys").exists()
    # A second testnet is another chain, with another id.
    init(tmp_path / "testnet2", "testnet", "--validators", "1")
    assert read_genesis(tmp_path / "testnet2" / "genesis.json").chain_id != (
        found["testnet"].chain_id
    )
    assert init(tmp_path / "named", "testnet", "--validators", "1", "--chain-id", "lab-7")
    assert read_genesis(tmp_path / "named" / "genesis.json").chain_id == "lab-7"


def test_no_file_of_a_testnet_home_holds_its_passphrase(tmp_path: Path) -> None:
    for kind in ("testnet", "mainnet"):
        home = tmp_path / kind
        init(home, kind, "--validators", "2")
        files = [path for path in home.rglob("*") if path.is_file()]
        assert any(path.name == "config.toml" for path in files)
        for path in files:
            assert PASSPHRASE.encode() not in path.read_bytes(), path
            assert b"key_password" not in path.read_bytes(), path
        # And the key files open with it, under the keystore's full cost.
        keys.read_validator(home / "nodes" / "v1" / "validator.key", PASSPHRASE)


def test_init_refuses_what_it_cannot_do_with_exit_code_2(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert_usage_error(metanode("init", "--home", home), "--dev, --testnet or --mainnet")
    assert_usage_error(metanode("init", "--dev", "--testnet", "--home", home), "choose one kind")
    assert_usage_error(
        metanode("init", "--testnet", "--home", home, passphrase=None),
        keys.PASSWORD_ENV,
        "terminal",
    )
    assert_usage_error(
        metanode("init", "--mainnet", "--home", home, passphrase="short"), "at least 8 characters"
    )
    assert_usage_error(
        metanode("init", "--testnet", "--home", home, "--chain-id", "metanode-dev"),
        "names a dev chain",
    )
    assert_usage_error(
        metanode("init", "--testnet", "--home", home, "--accounts", "3"), "no dev accounts"
    )
    assert not (tmp_path / "home" / "genesis.json").exists()


def test_start_refuses_without_the_passphrase_or_on_the_wrong_kind(tmp_path: Path) -> None:
    testnet = tmp_path / "testnet"
    init(testnet, "testnet", "--validators", "1")
    node = str(testnet / "nodes" / "v0")
    assert_usage_error(
        metanode("start", "--testnet", "--home", node, passphrase=None),
        "this testnet node's keys need their passphrase",
        keys.PASSWORD_ENV,
    )
    assert_usage_error(
        metanode("start", "--testnet", "--home", node, passphrase="not the passphrase"),
        "wrong password",
    )
    dev = tmp_path / "dev"
    init(dev, "dev", "--validators", "1", "--accounts", "0")
    assert_usage_error(
        metanode("start", "--testnet", "--home", str(dev / "nodes" / "v0")),
        "is a dev chain",
        "metanode init --testnet",
    )
    # A password written into a testnet config is refused, not used.
    config = testnet / "nodes" / "v0" / "config.toml"
    config.write_text(f'key_password = "{PASSPHRASE}"\n' + config.read_text())
    assert_usage_error(metanode("start", "--testnet", "--home", node), "only dev chains may keep")


def at_terminal(*args: str, answers: list[str], timeout_s: float = 120) -> tuple[int, str]:
    """Run the command on its own pseudo-terminal with no passphrase in its environment,
    answer each hidden prompt in turn, and return its exit code and what the terminal showed."""
    env = {name: value for name, value in os.environ.items() if name != keys.PASSWORD_ENV}
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [METANODE, *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        start_new_session=True,
        # The pseudo-terminal becomes the command's own terminal, the one a hidden prompt
        # reads (/dev/tty), not whatever terminal runs the tests.
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509 - no threads
    )
    os.close(secondary)
    seen = b""
    answered = 0  # how much of `seen` had come when the last answer went: each prompt once
    pending = list(answers)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # A hidden prompt turns echo off (flushing what was typed before), then reads: answer
        # only once it waits that way, and only a prompt shown since the last answer (a slow
        # command still waiting on the last one would otherwise get the next answer too, which
        # its next prompt then flushes).
        waiting = not termios.tcgetattr(primary)[3] & termios.ECHO
        if pending and waiting and seen[answered:].rstrip().endswith(b":"):
            os.write(primary, pending.pop(0).encode() + b"\n")
            answered = len(seen)
        if not select.select([primary], [], [], 0.1)[0]:
            continue
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the command ended and closed its terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    return process.wait(timeout_s), seen.decode(errors="replace")


def test_init_and_start_ask_for_the_passphrase_at_a_terminal(tmp_path: Path) -> None:
    home = tmp_path / "testnet"
    code, output = at_terminal(
        "init",
        "--testnet",
        "--validators",
        "1",
        "--home",
        str(home),
        answers=[PASSPHRASE, PASSPHRASE],
    )
    assert code == 0, output
    assert "Repeat for confirmation" in output and PASSPHRASE not in output  # asked twice, hidden
    keys.read_validator(home / "nodes" / "v0" / "validator.key", PASSPHRASE)
    code, output = at_terminal(
        "start", "--testnet", "--home", str(home / "nodes" / "v0"), answers=["not the one"]
    )
    assert code == 2 and "wrong password" in output and "Traceback" not in output, output


def test_a_one_validator_testnet_commits_and_pays_the_treasury(tmp_path: Path) -> None:
    home = tmp_path / "testnet"
    base = free_port_block(2)
    options = ("--validators", "1", "--port-base", str(base), "--api-port-base", str(base + 1))
    init(home, "testnet", *options)
    env = dict(os.environ, **{keys.PASSWORD_ENV: PASSPHRASE})
    with (home / "node.log").open("wb") as log:
        node = subprocess.Popen(
            [METANODE, "start", "--testnet", "--home", str(home / "nodes" / "v0")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    api = f"http://127.0.0.1:{base + 1}/api/v1"
    try:
        with httpx.Client(timeout=10) as client:
            wait(lambda: status_height(client, api) >= 2, 120, "height 2")
            recipient = Address.from_public_key(bytes(range(32)))
            answer = client.post(f"{api}/faucet", json={"address": str(recipient)})
            assert answer.status_code == 202, answer.text
            tx_hash = answer.json()["hash"]
            wait(
                lambda: client.get(f"{api}/txs/{tx_hash}").json().get("status") == "committed",
                60,
                "the faucet's transfer",
            )
            fee = client.get(f"{api}/txs/{tx_hash}").json()["receipt"]["fee_charged"]
            treasury = client.get(f"{api}/accounts/{TREASURY}").json()["balances"]["FLX"]
            assert treasury == fee * 100 // 10_000 > 0
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(30)
    assert "Traceback" not in (home / "node.log").read_text(errors="replace")


def status_height(client: httpx.Client, api: str) -> int:
    try:
        return int(client.get(f"{api}/status").json()["height"])
    except (httpx.HTTPError, ValueError, KeyError):
        return -1


def wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_up_prints_no_key_of_a_testnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`up` prints a dev chain's funded keys (they are public); a testnet's faucet key, which
    the passphrase in the environment opens, it must never print."""
    home = tmp_path / "testnet"
    init(home, "testnet", "--validators", "1")
    monkeypatch.setenv(keys.PASSWORD_ENV, PASSPHRASE)
    faucet = keys.read_account(home / "keys" / "faucet.key", PASSPHRASE)
    printed = io.StringIO()
    network._print_endpoints(Console(file=printed, width=400), home, node_entries(home))
    assert "/api/v1" in printed.getvalue()
    assert faucet.seed.hex() not in printed.getvalue()
    assert "Funded dev accounts" not in printed.getvalue()
