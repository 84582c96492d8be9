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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from metanode.cli.bpi import module_bytes
from metanode.cli.wallet import problem_detail
from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.docklock import constants as cage_constants
from metanode.docklock.cage import OK
from metanode.errors import MetanodeError
from metanode.net import http
from metanode.net.ports import free_port_block
from metanode.node import config as node_config
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.types import Address, CallApp, Denom, DeployApp, Transaction, Transfer
from metanode.types.messages import Message

START_TIMEOUT_S = 60.0
# A call's receipt is read this often until it is there, at most this long.
RECEIPT_POLL_S = 0.002
RECEIPT_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
# How long one read of a transaction waits for its commit (the gateway holds it).
COMMIT_WAIT_MS = 30_000
REQUEST_TIMEOUT_S = COMMIT_WAIT_MS / 1000 + 5
tx_lifetime_blocks = 1_000
fee_min = 1_000


class DevChainError(MetanodeError):
    """The dev chain did not start, or refused or failed a request (the message says which)."""


@dataclass(frozen=True, slots=True)
class CallResult:
    """A committed app call: its transaction's record, its seq, and the executor's receipt
    (None for both when the chain refused the call: `record["receipt"]` says why)."""

    record: dict[str, Any]
    seq: int | None
    receipt: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        """Committed, and the app ran to its end (no trap, fuel sufficed)."""
        return (
            bool(self.record["ok"]) and self.receipt is not None and self.receipt["outcome"] == OK
        )

    @property
    def fuel_used(self) -> int:
        return 0 if self.receipt is None else int(self.receipt["fuel_used"])

    @property
    def output(self) -> bytes:
        return b"" if self.receipt is None else bytes.fromhex(self.receipt["output"])


def _called_seq(record: dict[str, Any]) -> int | None:
    for event in (record.get("receipt") or {}).get("events", []):
        if event["kind"] == "app_called":
            return int(event["attributes"]["seq"], 16)
    return None


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
        self.client = http.client(REQUEST_TIMEOUT_S)
        self.chain_id = dev_home.DEV_CHAIN_ID
        self._nonces: dict[Address, int] = {}
        # The highest height seen: what a transaction's expiry counts from, with no request.
        self._height = 0
        self._keys: dict[str, ed25519.PrivateKey] = {}
        self._fuel_limits: dict[str, int] = {}

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

    # Apps ------------------------------------------------------------------------------------

    def deploy(
        self,
        key: ed25519.PrivateKey,
        module: str | Path | bytes,
        *,
        replicas: int = 1,
        fuel_price: int = 1,
        fuel_limit: int = cage_constants.fuel_max,
    ) -> str:
        """Deploy a module (.wat or .wasm file, or WASM bytes): the app id (hex)."""
        code = module if isinstance(module, bytes) else module_bytes(Path(module))
        record = self.send(key, DeployApp(code, replicas, fuel_price, fuel_limit))
        if not record["ok"]:
            raise DevChainError(f"deploy failed: {record['receipt']['code_name']}")
        app_id = cage.app_id(code).hex()
        self._fuel_limits[app_id] = fuel_limit
        return app_id

    def call(
        self,
        key: ed25519.PrivateKey,
        app_id: str,
        function: str,
        data: bytes = b"",
        *,
        fuel_limit: int | None = None,
    ) -> CallResult:
        """Call `function` of the app, wait for the commit, then for this node's executor's
        receipt (served by the gateway: it runs on the chain's node)."""
        if fuel_limit is None:
            if app_id not in self._fuel_limits:
                self._fuel_limits[app_id] = self.request("GET", f"/api/v1/apps/{app_id}")[
                    "fuel_limit"
                ]
            fuel_limit = self._fuel_limits[app_id]
        message = CallApp(bytes.fromhex(app_id), 0, function, data, fuel_limit)
        record = self.send(key, message)
        seq = _called_seq(record)
        if seq is None:
            return CallResult(record, None, None)
        return CallResult(record, seq, self.receipt(app_id, seq))

    def receipt(self, app_id: str, seq: int) -> dict[str, Any]:
        """The executor's receipt of call `seq` (outcome, fuel_used, output hex, …), waited for:
        the executor runs a call just after its block commits."""
        deadline = time.monotonic() + RECEIPT_TIMEOUT_S
        path = f"/api/v1/apps/{app_id}/receipts"
        while time.monotonic() < deadline:
            page = self.request("GET", path, params={"from": seq, "limit": 1})
            found = [item for item in page["receipts"] if item["seq"] == seq]
            if found:
                receipt: dict[str, Any] = found[0]
                return receipt
            time.sleep(RECEIPT_POLL_S)
        raise DevChainError(f"no receipt for call {seq} of app {app_id} in {RECEIPT_TIMEOUT_S} s")

    # Dev tools ---------------------------------------------------------------------------------

    def snapshot(self) -> int:
        return int(self.request("POST", "/api/v1/dev/snapshot")["id"])

    def revert(self, snapshot_id: int, *, keep: bool = True) -> dict[str, Any]:
        """Back to the snapshot; `keep=False` consumes it (node/devchain.py)."""
        self._nonces.clear()  # the chain's nonces went back with it
        body = {"id": snapshot_id, "keep": keep}
        result: dict[str, Any] = self.request("POST", "/api/v1/dev/revert", json=body)
        return result

    def advance(self, seconds: int) -> int:
        answer = self.request("POST", "/api/v1/dev/time", json={"advance_s": seconds})
        return int(answer["clock_offset_ms"])

    def fund(self, address: Address, amount: int, denom: Denom = Denom.FLX) -> dict[str, Any]:
        body = {"address": str(address), "amount": amount, "denom": denom.name}
        return self.wait(self.request("POST", "/api/v1/dev/fund", json=body)["hash"])
