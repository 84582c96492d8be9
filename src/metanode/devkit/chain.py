"""A dev chain for app developers' tests and benches: `metanode dev up` run as a process, and a
client that keeps one HTTP connection to its gateway (docs/devloop.md).

Nothing is simulated: the chain is a real node process (its own interpreter, LMDB stores,
signatures), and every call here is a gateway request. The client signs transactions with the
home's dev keys and counts each account's nonces itself (one gateway read per account, then
none), so a test's transaction costs one request to submit and one to wait for its commit; a
revert forgets the counts, since the chain's nonces went back with it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from metanode.cli.wallet import problem_detail
from metanode.crypto import ed25519
from metanode.errors import MetanodeError
from metanode.net.ports import free_port_block
from metanode.node import config as node_config
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.types import Address, Denom, Transaction, Transfer
from metanode.types.messages import Message

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
# How long one read of a transaction waits for its commit (the gateway holds it).
COMMIT_WAIT_MS = 30_000
REQUEST_TIMEOUT_S = COMMIT_WAIT_MS / 1000 + 5
tx_lifetime_blocks = 1_000
fee_min = 1_000


class DevChainError(MetanodeError):
    """The dev chain did not start, or refused or failed a request (the message says which)."""


class DevChain:
    """`metanode dev up --home HOME` on free ports; `start()` returns once its gateway answers.
    A home that holds no chain yet is made by `dev up` with `accounts` funded dev accounts; a
    caller may make it first (`node.home.init_devchain`, with a genesis of its own)."""

    def __init__(self, home: Path, *, accounts: int = 10, block_interval_ms: int = 0) -> None:
        self.home = home
        self.accounts = accounts
        self.block_interval_ms = block_interval_ms
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.client = httpx.Client(timeout=REQUEST_TIMEOUT_S)
        self.chain_id = dev_home.DEV_CHAIN_ID
        self._nonces: dict[Address, int] = {}
        # The highest height seen: what a transaction's expiry counts from, with no request.
        self._height = 0
        self._keys: dict[str, ed25519.PrivateKey] = {}

    # Process -----------------------------------------------------------------------------------

    def start(self) -> DevChain:
        self.home.mkdir(parents=True, exist_ok=True)
        entries = dev_home.node_entries(self.home)
        command = [
            *(sys.executable, "-m", "metanode.cli.main", "dev", "up", "--home", str(self.home)),
            *("--accounts", str(self.accounts), "--block-interval-ms", str(self.block_interval_ms)),
            *("--log-level", "warning"),
        ]
        if entries:  # a home made before: `dev up` listens where its config says
            api_port = node_config.load(entries[0].config_path).api.listen.port
        else:
            port_base = free_port_block(2)
            api_port = port_base + 1
            command += ["--port-base", str(port_base), "--api-port-base", str(api_port)]
        with (self.home / "dev-up.log").open("ab") as printed:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=printed, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevChainError(
                    f"the dev chain exited ({self.process.returncode}): {self.log()}"
                )
            try:
                status = self.client.get(f"{self.url}/api/v1/status")
                if status.status_code == 200:
                    self.chain_id = status.json()["chain_id"]
                    self._height = status.json()["height"]
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise DevChainError(f"the dev chain did not answer within {START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """SIGTERM (the node closes its stores), then a kill if it does not end in time."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.client.close()

    def __enter__(self) -> DevChain:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def log(self) -> str:
        """The tail of what the chain printed (its console log, a crash)."""
        path = self.home / "dev-up.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # Gateway ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, **options: Any) -> Any:
        answer = self.client.request(method, f"{self.url}{path}", **options)
        if answer.status_code >= 400:
            detail = problem_detail(answer)
            raise DevChainError(f"{detail} (HTTP {answer.status_code} on {path})")
        return answer.json()

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/api/v1/status")
        return result

    def height(self) -> int:
        height = int(self.status()["height"])
        self._height = max(self._height, height)
        return height

    def balance(self, address: Address, denom: Denom = Denom.FLX) -> int:
        return int(self.request("GET", f"/api/v1/accounts/{address}")["balances"][denom.name])

    # Accounts and transactions -----------------------------------------------------------------

    def key(self, name: str = "dev0") -> ed25519.PrivateKey:
        """A dev account's key (keys/NAME.key of the home; dev keys are public)."""
        if name not in self._keys:
            path = self.home / "keys" / f"{name}.key"
            self._keys[name] = keys.read_account(path, dev_home.DEV_PASSWORD)
        return self._keys[name]

    def submit(self, key: ed25519.PrivateKey, message: Message, fee: int = fee_min) -> str:
        """Sign `message` at the account's next nonce and submit it: its hash."""
        sender = Address.from_public_key(key.public_key)
        if sender not in self._nonces:
            self._nonces[sender] = int(self.request("GET", f"/api/v1/accounts/{sender}")["nonce"])
        unsigned = Transaction(
            self.chain_id,
            key.public_key,
            self._nonces[sender],
            fee,
            self._height + tx_lifetime_blocks,
            message,
        )
        tx = unsigned.with_signature(key.sign(unsigned.signing_message()))
        headers = {"content-type": "application/cbor"}
        self.request("POST", "/api/v1/txs", content=tx.encode(), headers=headers)
        self._nonces[sender] += 1
        return tx.hash().hex()

    def wait(self, tx_hash: str) -> dict[str, Any]:
        """The committed transaction's record (receipt, height); the gateway holds the read
        until the commit."""
        record: dict[str, Any] = self.request(
            "GET", f"/api/v1/txs/{tx_hash}", params={"wait_ms": COMMIT_WAIT_MS}
        )
        if not record["committed"]:
            raise DevChainError(f"{tx_hash} not committed within {COMMIT_WAIT_MS} ms")
        self._height = max(self._height, record["height"])
        return record

    def send(self, key: ed25519.PrivateKey, message: Message, fee: int = fee_min) -> dict[str, Any]:
        """Submit and wait for the commit: the transaction's record."""
        return self.wait(self.submit(key, message, fee))

    def transfer(
        self, key: ed25519.PrivateKey, to: Address, amount: int, denom: Denom = Denom.FLX
    ) -> dict[str, Any]:
        return self.send(key, Transfer(to, amount, denom))

    # Dev tools ---------------------------------------------------------------------------------

    def snapshot(self) -> int:
        return int(self.request("POST", "/api/v1/dev/snapshot")["id"])

    def revert(self, snapshot_id: int) -> dict[str, Any]:
        self._nonces.clear()  # the chain's nonces went back with it
        result: dict[str, Any] = self.request(
            "POST", "/api/v1/dev/revert", json={"id": snapshot_id}
        )
        return result

    def advance(self, seconds: int) -> int:
        answer = self.request("POST", "/api/v1/dev/time", json={"advance_s": seconds})
        return int(answer["clock_offset_ms"])

    def fund(self, address: Address, amount: int, denom: Denom = Denom.FLX) -> dict[str, Any]:
        body = {"address": str(address), "amount": amount, "denom": denom.name}
        return self.wait(self.request("POST", "/api/v1/dev/fund", json=body)["hash"])
