"""A dev network of real validator processes, one per network namespace, a steady stream of
transfers through their gateways, the fault schedule played against it, and the checks
afterwards (docs/testnet.md):

- forks: heights at which two validators hold different blocks (must be 0);
- lost_committed: transactions a gateway answered as committed that some validator's chain
  lacks once every validator has caught up (must be 0);
- supply: every validator's store holds its bank supply (balances sum to genesis + minted −
  burned) when it stops;
- recovery: after each heal, the seconds until every validator commits a block above the
  highest height any of them held at the heal (bounded by `recovery_bound_s`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from metanode.consensus.validators import quorum
from metanode.crypto import ed25519
from metanode.errors import InvariantViolation, MetanodeError
from metanode.net import http
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.state.bank.invariants import supply_is_held
from metanode.state.store import Snapshot, Store
from metanode.testnet.fabric import Fabric
from metanode.testnet.faults import Fault
from metanode.types import Address, Denom, Transaction, Transfer

log = logging.getLogger("metanode.testnet")
P2P_PORT_BASE = 26600
API_PORT_BASE = 8600
TRANSFER_FEE = 1_000
POLL_S = 0.25
TX_WAIT_MS = 3_000
STOP_S = 15.0


class TestnetError(MetanodeError):
    """A run that could not be carried out (a node that never answered, a fabric that failed)."""


@dataclass
class Report:
    scenarios: int = 0
    forks: int = 0
    lost_committed: int = 0
    supply_violations: int = 0
    acknowledged: int = 0
    max_recovery_s: float = 0.0
    not_recovered: int = 0
    majority_scenarios: int = 0
    majority_stalled: int = 0
    # Majority partitions in which the highest height grew by more than one, every new block
    # proposed before the cut (certified or applied late): no liveness without a quorum.
    in_flight_at_cut: int = 0
    # Blocks proposed after the cut of a majority partition and committed before its heal:
    # a quorum where none can be, a safety problem (must be 0).
    committed_without_quorum: int = 0
    # Majority partitions one side of which held a quorum of the set at the cut (a set that
    # shrank, or no set read): not judged.
    majority_quorum_side: int = 0
    skipped: list[str] = field(default_factory=list)
    heights: int = 0
    shaping: str = ""  # how latency and loss ran: netem, iptables or none
    # Validators that had not answered, or caught up, when the checks ran (must be 0).
    unchecked: int = 0

    def line(self) -> str:
        return (
            f"scenarios={self.scenarios} forks={self.forks} "
            f"lost_committed={self.lost_committed} max_recovery_s={self.max_recovery_s:.1f} "
            f"not_recovered={self.not_recovered} supply_violations={self.supply_violations} "
            f"acknowledged={self.acknowledged} heights={self.heights} "
            f"majority_stalled={self.majority_stalled}/{self.majority_scenarios} "
            f"in_flight_at_cut={self.in_flight_at_cut} "
            f"committed_without_quorum={self.committed_without_quorum} "
            f"quorum_side={self.majority_quorum_side} "
            f"skipped={len(self.skipped)} shaping={self.shaping} unchecked={self.unchecked}"
        )


def libfaketime() -> Path:
    """Debian's multithreaded libfaketime (package faketime, tools/install-native.sh)."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
    if not found:
        raise TestnetError(
            "clock skew needs libfaketime: apt-get install faketime (tools/install-native.sh)"
        )
    return found[0]


class Network:
    """The validators of `home`, each in its namespace of `fabric`."""

    def __init__(self, home: Path, fabric: Fabric) -> None:
        self.home = home
        self.fabric = fabric
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.client = http.client(5)
        self.addresses: list[str] = []  # each host's validator address, once all answered

    @classmethod
    def init(cls, home: Path, fabric: Fabric, accounts: int) -> Network:
        hosts = [fabric.address(index) for index in range(fabric.hosts)]
        dev_home.init_dev(
            home,
            validators=fabric.hosts,
            accounts=accounts,
            port_base=P2P_PORT_BASE,
            api_port_base=API_PORT_BASE,
        )
        dev_home.place_hosts(home, hosts, "0.0.0.0")
        # The faults are downtime on purpose: jailing for it would shrink the set the
        # scenarios are drawn for (a 2|2 split of hosts would leave one side 2 of 3 validators,
        # a quorum). The downtime rule has its own tests (tests/state/test_downtime.py).
        genesis = home / dev_home.GENESIS
        document = json.loads(genesis.read_text())
        document["parameters"].setdefault("registry", {})["min_signed_per_window_bps"] = 0
        genesis.write_text(json.dumps(document, indent=2))
        return cls(home, fabric)

    def url(self, index: int) -> str:
        return f"http://{self.fabric.address(index)}:{API_PORT_BASE + index}"

    def start(self, index: int, skew_s: int = 0) -> None:
        """Run validator `index` in its namespace; with `skew_s`, under libfaketime with its
        wall clock moved by that many seconds (monotonic clocks left alone)."""
        node_dir = self.home / "nodes" / f"v{index}"
        argv = [sys.executable, "-m", "metanode.cli.main", "start", "--home", str(node_dir),
                "--no-log-console"]  # fmt: skip
        env = dict(os.environ)
        if skew_s:
            # The library itself rather than the `faketime` command, which runs the node as
            # its child: a signal to the process started here must reach the node.
            env |= {"LD_PRELOAD": str(libfaketime()), "FAKETIME": f"{skew_s:+d}s"}
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"  # timeouts keep their length
        with (node_dir / "stderr.log").open("ab") as printed:
            self.processes[index] = subprocess.Popen(
                self.fabric.inside(index, argv),
                stdin=subprocess.DEVNULL,
                stdout=printed,
                stderr=subprocess.STDOUT,
                env=env,
            )
        log.info("started", extra={"node": f"v{index}", "skew_s": skew_s})

    def stop(self, index: int, sig: signal.Signals = signal.SIGTERM) -> None:
        process = self.processes.pop(index)
        process.send_signal(sig)
        try:
            process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def signal(self, index: int, sig: signal.Signals) -> None:
        self.processes[index].send_signal(sig)

    def stop_all(self) -> None:
        for index in list(self.processes):
            self.processes[index].send_signal(signal.SIGCONT)  # a paused node cannot stop
            self.stop(index)

    def height(self, index: int) -> int:
        try:
            status = self.status(index)
            return -1 if status is None else int(status["height"])
        except (ValueError, KeyError):
            return -1

    def heights(self) -> list[int]:
        return [self.height(index) for index in range(self.fabric.hosts)]

    def wait(self, condition: object, timeout_s: float) -> float | None:
        """Seconds until `condition()` holds, or None after `timeout_s`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if condition():  # type: ignore[operator]
                return time.monotonic() - started
            time.sleep(POLL_S)
        return None

    def status(self, index: int) -> dict[str, Any] | None:
        try:
            answer = self.client.get(f"{self.url(index)}/api/v1/status")
        except httpx.HTTPError:
            return None
        return dict(answer.json()) if answer.status_code == 200 else None

    def set_power(self) -> dict[str, int] | None:
        """The validator set the newest block of the first gateway that answers names:
        each member's power by its address."""
        for index in range(self.fabric.hosts):
            try:
                answer = self.client.get(f"{self.url(index)}/api/v1/validators")
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                return {item["address"]: int(item["power"]) for item in answer.json()["validators"]}
        return None

    def block(self, index: int, height: int) -> dict[str, Any] | None:
        try:
            answer = self.client.get(f"{self.url(index)}/api/v1/blocks/{height}")
        except httpx.HTTPError:
            return None
        return dict(answer.json()) if answer.status_code == 200 else None

    def block_hash(self, index: int, height: int) -> str | None:
        block = self.block(index, height)
        return None if block is None else str(block["hash"])

    def has_committed(self, index: int, tx_hash: str) -> bool:
        answer = self.client.get(f"{self.url(index)}/api/v1/txs/{tx_hash}")
        return answer.status_code == 200 and bool(answer.json()["committed"])


def spending_keys(home: Path) -> list[ed25519.PrivateKey]:
    """The dev accounts' keys (not the faucet's nor the authorities')."""
    others = {dev_home.FAUCET_KEY.removesuffix(".key"), *dev_home.DEV_AUTHORITIES}
    return [
        keys.read_account(path, dev_home.DEV_PASSWORD)
        for path in dev_home.account_key_files(home)
        if path.stem not in others
    ]


class Load:
    """Transfers from the dev accounts, round-robin over the gateways, in a thread; a
    transaction whose gateway answers it committed is kept in `acknowledged`."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.keys = spending_keys(network.home)
        self.acknowledged: dict[str, int] = {}  # tx hash: the height its gateway named
        self.client = http.client(TX_WAIT_MS / 1000 + 5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="testnet-load", daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            gateway = self.network.url(turn % self.network.fabric.hosts)
            key = self.keys[turn % len(self.keys)]
            turn += 1
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                self._one(gateway, key, self.keys[turn % len(self.keys)])

    def _one(self, gateway: str, key: ed25519.PrivateKey, to_key: ed25519.PrivateKey) -> None:
        sender = Address.from_public_key(key.public_key)
        account = self.client.get(f"{gateway}/api/v1/accounts/{sender}").json()
        unsigned = Transaction(
            dev_home.DEV_CHAIN_ID,
            key.public_key,
            int(account["nonce"]),
            TRANSFER_FEE,
            max(self.acknowledged.values(), default=0) + 10_000,
            Transfer(Address.from_public_key(to_key.public_key), 1, Denom.FLX),
        )
        tx = unsigned.with_signature(key.sign(unsigned.signing_message()))
        answer = self.client.post(f"{gateway}/api/v1/txs", json={"tx": tx.encode().hex()})
        if answer.status_code != 202:
            time.sleep(POLL_S)
            return
        tx_hash = answer.json()["hash"]
        view = self.client.get(f"{gateway}/api/v1/txs/{tx_hash}", params={"wait_ms": TX_WAIT_MS})
        if view.status_code == 200 and view.json()["committed"]:
            self.acknowledged[tx_hash] = int(view.json()["height"])


def play(network: Network, fault: Fault, recovery_bound_s: float, report: Report) -> None:
    """Hold `fault`, heal it, and measure how long every validator takes to commit again."""
    fabric = network.fabric
    target = fault.groups[0][0]  # the host a one-host fault hits
    log.info("fault", extra={"fault": fault.describe()})
    if fault.kind in ("partition-minority", "partition-majority"):
        fabric.partition(fault.groups)
    elif fault.kind == "partition-bridge":
        _, left, right = fault.groups
        for a in left:
            for b in right:
                fabric.cut_link(a, b)
    elif fault.kind == "latency":
        fabric.shape(target, fault.amount, fault.amount // 4, 0, fault.seed)
    elif fault.kind == "loss":
        fabric.shape(target, 0, 0, fault.amount, fault.seed)
    elif fault.kind == "clock-skew":
        network.stop(target)
        network.start(target, skew_s=fault.amount)
    elif fault.kind == "kill":
        network.stop(target, signal.SIGKILL)
    elif fault.kind == "pause":
        network.signal(target, signal.SIGSTOP)
    cut_ms = time.time_ns() // 1_000_000  # the proposers' clock: the same machine's
    power = network.set_power() if fault.stops_liveness else None
    before = network.heights()
    time.sleep(fault.hold_s)
    during = network.heights()
    log.info("held", extra={"fault": fault.describe(), "before": before, "during": during})
    if fault.stops_liveness:
        judge_stall(network, fault, cut_ms, before, during, power, report)
    fabric.heal()
    if fault.kind in ("kill", "clock-skew"):
        if target in network.processes:
            network.stop(target)
        network.start(target)
    elif fault.kind == "pause":
        network.signal(target, signal.SIGCONT)
    healed_at = max(network.heights())
    took = network.wait(lambda: min(network.heights()) > healed_at, timeout_s=recovery_bound_s)
    report.scenarios += 1
    if took is None:
        report.not_recovered += 1
        report.max_recovery_s = max(report.max_recovery_s, recovery_bound_s)
        log.warning(
            "not recovered", extra={"fault": fault.describe(), "heights": network.heights()}
        )
    else:
        report.max_recovery_s = max(report.max_recovery_s, took)
        log.info("recovered", extra={"fault": fault.describe(), "recovery_s": round(took, 1)})


STALLED, IN_FLIGHT, COMMITTED = "stalled", "in flight at the cut", "committed without a quorum"
QUORUM_SIDE = "a side held a quorum"


def late_heights(cut_ms: int, stamps: dict[int, int | None]) -> list[int]:
    """The heights of blocks stamped after the cut (or that no gateway showed)."""
    return [height for height, stamp in sorted(stamps.items()) if stamp is None or stamp > cut_ms]


def quorum_side(groups: tuple[tuple[int, ...], ...], addresses: list[str],
                power: dict[str, int]) -> bool:  # fmt: skip
    """Whether one side of a partition holds a quorum of the set `power` (by address):
    `quorum(total)`, as consensus counts it, of the power of its hosts' validators."""
    total = sum(power.values())
    return any(
        sum(power.get(addresses[host], 0) for host in group) >= quorum(total) for group in groups
    )


def stall_verdict(
    cut_ms: int, before: list[int], during: list[int], stamps: dict[int, int | None]
) -> str:
    """Whether a partition that leaves no side a quorum stopped the chain, from the heights
    answered at the cut (`before`) and at the heal (`during`, -1: no answer) and the stamp of
    each block above the highest height in `before` (None: no gateway showed it).

    The heights alone cannot tell: a block certified just before the cut may be applied
    after it, a lagging node may apply several, a gateway that does not answer hides a
    height. The stamps can: a proposer stamps its block with its wall clock (this same
    machine's) when it proposes it, and the chain raises a stamp only to its parent's. A
    block stamped after the cut and committed before the heal had a quorum across the cut:
    COMMITTED, a safety problem. Otherwise STALLED, or IN_FLIGHT when the highest height
    still grew by more than one."""
    if late_heights(cut_ms, stamps):
        return COMMITTED
    return IN_FLIGHT if max(during) > max(before) + 1 else STALLED


def judge_stall(
    network: Network,
    fault: Fault,
    cut_ms: int,
    before: list[int],
    during: list[int],
    power: dict[str, int] | None,
    report: Report,
) -> None:
    """The stall verdict of a majority partition, counted in `report` (before its heal). A
    partition of hosts is one of validators only while the set is the one it was drawn for:
    against the set at the cut (`power`), a side that holds a quorum is QUORUM_SIDE, and its
    blocks are no fault."""
    report.majority_scenarios += 1
    if power is None or quorum_side(fault.groups, network.addresses, power):
        report.majority_quorum_side += 1
        log.warning(QUORUM_SIDE, extra={"fault": fault.describe(), "power": power,
                                        "addresses": network.addresses})  # fmt: skip
        return
    holders = sorted(range(len(during)), key=lambda index: -during[index])  # highest first
    blocks = {}
    for height in range(max(*before, 0) + 1, max(during) + 1):
        blocks[height] = next(
            filter(None, (network.block(index, height) for index in holders)), None
        )
    stamps = {height: None if block is None else int(block["timestamp_ms"])
              for height, block in blocks.items()}  # fmt: skip
    verdict = stall_verdict(cut_ms, before, during, stamps)
    report.majority_stalled += verdict != COMMITTED
    report.in_flight_at_cut += verdict == IN_FLIGHT
    if verdict == COMMITTED:
        report.committed_without_quorum += len(late_heights(cut_ms, stamps))
    proposers = {height: None if block is None else block["proposer"]
                 for height, block in blocks.items()}  # fmt: skip
    log.log(
        logging.ERROR if verdict == COMMITTED else logging.INFO,
        verdict,
        extra={"fault": fault.describe(), "cut_ms": cut_ms, "before": before, "during": during,
               "stamps": stamps, "proposers": proposers},
    )  # fmt: skip


def caught_up(network: Network, report: Report, catch_up_s: float) -> None:
    """Wait until every validator reaches the highest height any of them answered; one that
    does not (or never answers) is `unchecked`, narrowing what the stores' checks cover."""
    top = max(network.heights())
    network.wait(lambda: min(network.heights()) >= top, timeout_s=catch_up_s)
    final = network.heights()
    report.unchecked = sum(height < max(top, 1) for height in final)  # none answered: all
    if report.unchecked:
        log.error("unchecked", extra={"top": top, "heights": final})


def check_stores(home: Path, hosts: int, acknowledged: dict[str, int], report: Report) -> None:
    """Once the validators stopped, from their stores read directly: a fork is a height of the
    common chain whose block differs between stores, a lost transaction one a gateway
    acknowledged committed that a store lacks, and each store must hold its supply. Reading
    them through the gateways after an hour's soak took tens of thousands of requests, which
    the gateways' guard answered with a ban, and a read it refused looked like a fork."""
    chains: list[list[bytes]] = []
    for index in range(hosts):
        node = f"v{index}"
        with Store.open(home / "nodes" / node / "ledger", readonly=True) as store:
            with store.snapshot() as snapshot:
                chains.append([_block_hash(snapshot, height)
                               for height in range(1, snapshot.height + 1)])  # fmt: skip
                try:
                    supply_is_held(snapshot.state().reader)
                except InvariantViolation as violation:
                    report.supply_violations += 1
                    log.error("supply", extra={"node": node, "violation": str(violation)})
            for tx_hash, height in sorted(acknowledged.items()):
                if height <= len(chains[-1]) and store.find_tx(bytes.fromhex(tx_hash)) is None:
                    report.lost_committed += 1
                    log.error("lost", extra={"tx": tx_hash, "node": node, "height": height})
    common = min(len(chain) for chain in chains)
    report.heights = common
    report.acknowledged = len(acknowledged)
    for height in range(1, common + 1):
        hashes = {chain[height - 1] for chain in chains}
        if len(hashes) > 1:
            report.forks += 1
            log.error("fork", extra={"height": height, "hashes": sorted(h.hex() for h in hashes)})


def _block_hash(snapshot: Snapshot, height: int) -> bytes:
    block = snapshot.block(height)
    if block is None:  # below a state-synced store's first block: nothing to compare
        return b""
    return block.hash()


@contextlib.contextmanager
def running(network: Network, start_timeout_s: float) -> Iterator[Network]:
    for index in range(network.fabric.hosts):
        network.start(index)
    try:
        if network.wait(lambda: min(network.heights()) >= 1, start_timeout_s) is None:
            raise TestnetError(
                f"the validators did not all commit block 1 within {start_timeout_s:.0f} s "
                f"(heights {network.heights()}); their logs: {network.home}/nodes/*/node.log"
            )
        statuses = [network.status(index) for index in range(network.fabric.hosts)]
        network.addresses = [str(status["node_id"]) if status else "" for status in statuses]
        yield network
    finally:
        network.stop_all()
        network.client.close()
