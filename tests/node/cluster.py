"""A local network of real node processes for tests: real TLS sockets, real LMDB, real keys.

`Cluster` makes a dev home on free ports, starts each validator as `metanode start` in its own
process, and reads them through their gateways. Nothing is simulated.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from metanode.crypto import ed25519
from metanode.net import http
from metanode.net.ports import free_port_block
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.types import Address, Denom, Transaction, Transfer

# Four node processes start within seconds alone, but took over a minute at load 12-15 on the
# shared 2-core machine (three network tests timed out waiting for height 2 or 3): a test's
# own waits for blocks and commits count from when every gateway answers.
START_TIMEOUT_S = 240.0


class Cluster:
    def __init__(
        self,
        home: Path,
        validators: int = 4,
        accounts: int = 20,
        epoch_blocks: int | None = 1,
    ) -> None:
        """`epoch_blocks` goes into the genesis (None: the genesis default, `StakingParams`):
        one block by default, so that the tests' bonds, jailings, slashings and executor
        draws reach the chain at the next height, as they wait for them to."""
        self.home = home
        base = free_port_block(2 * validators)
        self.entries = dev_home.init_dev(
            home,
            validators=validators,
            accounts=accounts,
            port_base=base,
            api_port_base=base + validators,
        )
        self.names = [entry.name for entry in self.entries]
        self.api_port = {name: base + validators + i for i, name in enumerate(self.names)}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.client = http.client(10)
        if epoch_blocks is not None:
            self.edit_genesis(
                lambda document: (
                    document["parameters"]
                    .setdefault("staking", {})
                    .update(epoch_blocks=epoch_blocks)
                )
            )

    @classmethod
    def at(cls, home: Path, api_port: dict[str, int]) -> Cluster:
        """The nodes of an existing home (a restored node), their gateways on `api_port`."""
        cluster = cls.__new__(cls)
        cluster.home, cluster.entries = home, []
        cluster.names, cluster.api_port = list(api_port), dict(api_port)
        cluster.processes = {}
        cluster.client = http.client(10)
        return cluster

    def configure(self, name: str, setting: str, value: int) -> None:
        """Set one numeric `setting` (its name is unique in the file) in a node's config.toml."""
        path = self.home / "nodes" / name / "config.toml"
        lines = path.read_text().splitlines()
        at = [i for i, line in enumerate(lines) if line.startswith(f"{setting} = ")]
        assert len(at) == 1, f"{setting} is not one line of {path}"
        lines[at[0]] = f"{setting} = {value}"
        path.write_text("\n".join(lines) + "\n")

    def edit_genesis(self, edit: Callable[[dict[str, Any]], None]) -> None:
        """Change the genesis document (as JSON) before the first node starts."""
        path = self.home / dev_home.GENESIS
        document = json.loads(path.read_text())
        edit(document)
        path.write_text(json.dumps(document, indent=2))

    # processes ---------------------------------------------------------------------------------

    def start(self, name: str, *options: str) -> None:
        """Start node `name` with `metanode start`, given `options` (`--state-sync`)."""
        node_dir = self.home / "nodes" / name
        # The node writes node.log itself; what it prints (its console log, a crash) is kept
        # beside it.
        with (node_dir / "stderr.log").open("ab") as printed:
            self.processes[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "metanode.cli.main",
                    "start",
                    "--home",
                    str(node_dir),
                    *options,
                ],
                stdout=printed,
                stderr=subprocess.STDOUT,
            )

    def start_all(self) -> None:
        for name in self.names:
            self.start(name)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
        self.client.close()

    def log(self, name: str) -> str:
        """What a node logged (node.log, JSON lines) and printed outside its log (stderr.log)."""
        node_dir = self.home / "nodes" / name
        return "\n".join(
            path.read_text(errors="replace")
            for path in (node_dir / "node.log", node_dir / "stderr.log")
            if path.exists()
        )

    # gateways ----------------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.api_port[name]}"

    def get(self, name: str, path: str) -> Any:
        answer = self.client.get(self.url(name) + path)
        answer.raise_for_status()
        return answer.json()

    def status(self, name: str) -> dict[str, Any] | None:
        try:
            return self.get(name, "/api/v1/status")
        except (httpx.HTTPError, ValueError):
            return None

    def height(self, name: str) -> int:
        status = self.status(name)
        return -1 if status is None else status["height"]

    def wait(self, condition: Any, timeout_s: float, what: str) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if condition():
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")

    def wait_started(self, timeout_s: float = START_TIMEOUT_S) -> float:
        """Until every started node's gateway answers or its process has ended (a test that
        expects a node to fail finds out why in its own way)."""
        return self.wait(
            lambda: all(
                process.poll() is not None or self.status(name) is not None
                for name, process in self.processes.items()
            ),
            timeout_s,
            "every started node's gateway to answer",
        )

    def wait_height(
        self, height: int, names: list[str] | None = None, timeout_s: float = 30
    ) -> float:
        names = names or list(self.processes)
        return self.wait(
            lambda: all(self.height(name) >= height for name in names),
            timeout_s,
            f"{names} to reach height {height}",
        )

    def block(self, name: str, height: int) -> dict[str, Any]:
        return self.get(name, f"/api/v1/blocks/{height}")

    # accounts ----------------------------------------------------------------------------------

    def dev_keys(self) -> list[ed25519.PrivateKey]:
        # The faucet's and the dev authorities' keys are funded too, but have other jobs.
        others = {"faucet", *dev_home.DEV_AUTHORITIES}
        paths = [path for path in dev_home.account_key_files(self.home) if path.stem not in others]
        return [keys.read_account(path, dev_home.DEV_PASSWORD) for path in paths]

    def transfers(
        self, per_account: int, start_nonce: int = 0, height: int = 0
    ) -> list[Transaction]:
        """Signed transfers from every dev account to the next one, nonces in order."""
        senders = self.dev_keys()
        txs = []
        for index, key in enumerate(senders):
            to = Address.from_public_key(senders[(index + 1) % len(senders)].public_key)
            for nonce in range(start_nonce, start_nonce + per_account):
                txs.append(self.transfer(key, nonce, to, 1 + nonce, height))
        return txs

    @staticmethod
    def transfer(
        key: ed25519.PrivateKey, nonce: int, to: Address, amount: int, height: int = 0
    ) -> Transaction:
        """One signed FLX transfer at the chain's usual fee, valid until `height` + 10,000."""
        unsigned = Transaction(
            dev_home.DEV_CHAIN_ID,
            key.public_key,
            nonce,
            1_000,
            height + 10_000,
            Transfer(to, amount, Denom.FLX),
        )
        return unsigned.with_signature(key.sign(unsigned.signing_message()))

    def submit(self, name: str, txs: list[Transaction]) -> list[dict[str, Any]]:
        answer = self.client.post(
            self.url(name) + "/api/v1/txs/batch", json={"txs": [tx.encode().hex() for tx in txs]}
        )
        answer.raise_for_status()
        return answer.json()["results"]

    def committed(self, name: str, tx_hash: str) -> bool:
        answer = self.client.get(self.url(name) + f"/api/v1/txs/{tx_hash}")
        return answer.status_code == 200 and answer.json()["committed"]


def tiny_second_validator(document: dict[str, Any]) -> None:
    """A genesis edit: v1 stakes a thousandth of v0, so v0 alone holds a quorum and v1 may be
    down or join late (state sync tests and bench/sync.py)."""
    document["validators"][1]["stake"] = document["validators"][0]["stake"] // 1_000


@contextlib.contextmanager
def running(
    home: Path,
    validators: int = 4,
    settings: Mapping[str, int] | None = None,
    genesis: Callable[[dict[str, Any]], None] | None = None,
    **options: Any,
) -> Iterator[Cluster]:
    """A started cluster, stopped at the end; `genesis` edits the genesis document and
    `settings` go into every node's config, before the first node starts."""
    cluster = Cluster(home, validators, **options)
    if genesis is not None:
        cluster.edit_genesis(genesis)
    for name in cluster.names:
        for setting, value in (settings or {}).items():
            cluster.configure(name, setting, value)
    cluster.start_all()
    try:
        cluster.wait_started()
        yield cluster
    finally:
        cluster.stop_all()
