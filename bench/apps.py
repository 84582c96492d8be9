"""Apps end to end on a real 4-validator dev network (processes, TLS sockets, LMDB): deploy
examples/counter.wat with 2 replicas, submit N calls in one batch, and time each call from its
submission to the first receipt a gateway serves and to the LogBlock on chain that holds it.

The calls come from fresh accounts that the dev accounts fund first, by real transfers: a
sender's calls all wait in the pool at once only within the mempool's `nonce_gap_max` (64), so
the 19 dev accounts alone would cap a batch near 1,200 calls.

    python -m bench.apps [--calls N] [--epoch-blocks B]    (from the repository's root)

`--epoch-blocks` sets the genesis `staking.epoch_blocks` (default: the genesis default,
`StakingParams`, 100). The executor draw is made per epoch, so with epochs of one block the
app's two replicas change at nearly every height, and a node drawn again after a block it was
not drawn for first runs the calls it missed (or is handed the state): in a 2,000-call run the
four nodes ran 6,288 calls for the 4,000 receipts of two replicas. catch_up_calls counts those
runs, from the nodes' "executing calls" log lines, and unchecked_receipts the peers' receipts
the notaries took no signature check for (held already, or of calls notarised since: "peer
receipts held already").

call_to_receipt is the time from the submission's start (the batch sent to the four gateways
at once) to the first answer of a gateway's `GET /api/v1/apps/{app}/receipts` that holds the
call's receipt: the executor has committed it to its store (`executor.service`), which a gateway
serves. Times are seen by polling all gateways at once, POLL_S after the last poll's answers,
so they are late by up to that and a poll's own time (`ReceiptPoll`). calls_per_s is N over
the time from the submission to the last call's LogBlock on chain.
nodes_cpu_s is the CPU seconds (user and system, from /proc) the four node processes spent
from the submission to the last LogBlock seen, and client_cpu_s this process's own in that
time: on the shared machine the rate follows the cores a run gets, the CPU spent for the same
calls does not. (A node's start, funding and deploy alone took ~11.6 s of the nodes' CPU, a
20-call run at a load of 6, so the whole processes' CPU would hide the calls' share.) Idle,
the four nodes still spend CPU on their empty heights, so nodes_cpu_s grows with a run's
length; nodes_cpu_ms_per_call takes off what they spent at the rate of an idle window of
IDLE_S just before the submission and divides the rest by the calls.

Last line: calls_per_s=… call_to_receipt_p50_ms=… call_to_logblock_p50_ms=… nodes_cpu_s=…
nodes_cpu_ms_per_call=… client_cpu_s=… catch_up_calls=… unchecked_receipts=…
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from tests.cli.test_apps_cli import COUNTER, bpi
from tests.cli.test_apps_e2e import calls
from tests.node.cluster import Cluster, running

from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.errors import BenchError
from metanode.executor import constants
from metanode.mempool import constants as mempool_constants
from metanode.types import Address, Transaction
from metanode.types.messages import BASE_UNITS_PER_COIN

CALLS = 200  # well under a minute on the shared 2-core VM, network start included
REPLICAS = 2
POLL_S = 0.05
IDLE_S = 3.0
TIMEOUT_S = 600.0
# The wait for the LogBlocks grows with the calls: on the loaded VM a 5,000-call run had 1,536
# notarised after 600 s (about 2.5 calls/s).
TIMEOUT_PER_CALL_S = 0.5
# Calls per fresh account, under the nonce gap so that all of them wait in the pool at once.
CALLS_PER_ACCOUNT = 50
# Per fresh account: its calls' fees (1,000 base units) and escrow (fuel limit 100,000 at a
# fuel price of 2) many times over.
FUNDING = BASE_UNITS_PER_COIN

assert mempool_constants.nonce_gap_max >= CALLS_PER_ACCOUNT


def fresh_accounts(count: int) -> list[ed25519.PrivateKey]:
    """`count` keys for the calls' senders, derived from their index (the same every run)."""
    return [
        ed25519.PrivateKey.from_seed(hashlib.sha256(f"bench/apps {index}".encode()).digest())
        for index in range(math.ceil(count / CALLS_PER_ACCOUNT))
    ]


def funding(
    funders: list[ed25519.PrivateKey], accounts: list[ed25519.PrivateKey], cluster: Cluster
) -> list[Transaction]:
    """One transfer of FUNDING to each account, in turn from each funder (nonces from 0)."""
    if math.ceil(len(accounts) / len(funders)) > mempool_constants.nonce_gap_max:
        raise BenchError(f"{len(accounts)} accounts are more than the dev accounts can fund")
    return [
        cluster.transfer(
            funders[index % len(funders)],
            index // len(funders),
            Address.from_public_key(account.public_key),
            FUNDING,
        )
        for index, account in enumerate(accounts)
    ]


def fund(cluster: Cluster, accounts: list[ed25519.PrivateKey]) -> None:
    """Fund the accounts from every dev account but dev0 (it deploys) and wait until the
    transfers are on chain."""
    txs = funding(cluster.dev_keys()[1:], accounts, cluster)
    results = cluster.submit("v0", txs)
    refused = [result for result in results if not result["accepted"]]
    if refused:
        raise BenchError(f"{len(refused)} funding transfers refused, first: {refused[0]}")
    waiting = [tx.hash().hex() for tx in txs]
    deadline = time.monotonic() + TIMEOUT_S
    while waiting:
        if time.monotonic() > deadline:
            raise BenchError(f"{len(waiting)} funding transfers not on chain in {TIMEOUT_S} s")
        waiting = [tx_hash for tx_hash in waiting if not cluster.committed("v0", tx_hash)]
        time.sleep(POLL_S)


def read(cluster: Cluster, name: str, path: str) -> dict[str, Any]:
    """A gateway's answer, or nothing if it timed out: a node busy with thousands of calls
    on the shared VM may answer a poll late, and the next poll asks again."""
    try:
        return cluster.get(name, path)
    except httpx.TimeoutException:
        return {}


class ReceiptPoll:
    """When each call's first receipt was served, and where each gateway's next page starts.

    A gateway serves the receipts its node signed for the app in seq order, and its executor
    commits them in seq order, so it is asked only from after the last one it served: asked
    from the lowest call not seen anywhere, each of the four gateways encoded up to a page of
    500 receipts already seen at every poll, ~50 ms of its event loop each (a 1,000-call run),
    and one poll of the four one after the other took ~250 ms, late by that much."""

    def __init__(self, names: list[str], app: str) -> None:
        self.app = app
        self.seen: dict[int, float] = {}
        self.next = dict.fromkeys(names, 0)

    def path(self, name: str) -> str:
        page = constants.receipts_page_max
        return f"/api/v1/apps/{self.app}/receipts?from={self.next[name]}&limit={page}"

    def take(self, name: str, answered: float, page: dict[str, Any]) -> None:
        for receipt in page.get("receipts", []):
            self.seen.setdefault(receipt["seq"], answered)
            self.next[name] = max(self.next[name], receipt["seq"] + 1)


def answered(cluster: Cluster, name: str, path: str) -> tuple[float, dict[str, Any]]:
    """A gateway's answer, with when it came (monotonic seconds)."""
    page = read(cluster, name, path)
    return time.monotonic(), page


def watch(cluster: Cluster, app: str, count: int) -> tuple[dict[int, float], dict[int, float]]:
    """When each call's first receipt and its LogBlock were first seen (monotonic seconds):
    the gateways are polled at once, each poll every POLL_S after the last one answered."""
    receipts = ReceiptPoll(cluster.names, app)
    logblock_seen: dict[int, float] = {}
    logblocks, covered = 0, -1  # LogBlocks seen, and the last call they cover
    wait_s = TIMEOUT_S + count * TIMEOUT_PER_CALL_S
    deadline = time.monotonic() + wait_s
    with ThreadPoolExecutor(len(cluster.names) + 1) as pollers:
        while len(logblock_seen) < count:
            if time.monotonic() > deadline:
                raise BenchError(f"{len(logblock_seen)} of {count} calls notarised in {wait_s} s")
            asked = [] if len(receipts.seen) == count else cluster.names
            pages = [
                (name, pollers.submit(answered, cluster, name, receipts.path(name)))
                for name in asked
            ]
            # Only the LogBlocks not seen yet: from 0 each poll, v0 decoded every LogBlock of
            # the run (512 leaves each) on its event loop 20 times a second, 4% of the four
            # nodes' CPU in a 2,000-call run, and its own consensus waited on it.
            path = f"/api/v1/logblocks?app={app}&start={logblocks}&limit=100"
            found_at, found = answered(cluster, "v0", path)
            for name, page in pages:
                receipts.take(name, *page.result())
            blocks = found.get("logblocks", [])
            logblocks += len(blocks)
            covered = max([block["last_seq"] for block in blocks] + [covered])
            for seq in range(min(covered + 1, count)):
                logblock_seen.setdefault(seq, found_at)
            time.sleep(POLL_S)
    return receipts.seen, logblock_seen


# A full pool (`pool_full`), or one whose transactions behind a missing nonce fill half of it
# (`queue_full`: a block drained the pool inside a batch, so a later nonce got in before an
# earlier one refused); half the pool always takes the earlier nonce, so retries converge.
RETRIED = ("pool_full", "queue_full")


def submit_all(cluster: Cluster, txs: list[Transaction]) -> None:
    """Submit each sender's calls through one gateway, the senders spread over all of them and
    the gateways sent to at once, as four clients would: one after the other, a batch reached
    the last gateway's pool a second or two after the first's (a request of 250 calls is
    admitted in 0.3-0.6 s on the loaded machine), so it spread over 3-5 heights. A node holds
    at most its share of the pool for its own clients (1/4 here), and what it refuses for a
    full pool is submitted again, in nonce order, as the pools drain."""
    senders = sorted({tx.sender for tx in txs})
    gateway = {
        sender: cluster.names[index % len(cluster.names)] for index, sender in enumerate(senders)
    }
    deadline = time.monotonic() + TIMEOUT_S
    with ThreadPoolExecutor(len(cluster.names)) as clients:
        while txs:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{len(txs)} calls still refused for a full pool after {TIMEOUT_S} s"
                )
            batches = [
                (name, [tx for tx in txs if gateway[tx.sender] == name]) for name in cluster.names
            ]
            answers = clients.map(lambda batch: cluster.submit(*batch) if batch[1] else [], batches)
            again: list[Transaction] = []
            for (_name, batch), results in zip(batches, answers, strict=True):
                for tx, result in zip(batch, results, strict=True):
                    if result["accepted"]:
                        continue
                    if result["reason"] not in RETRIED:
                        raise BenchError(f"a call refused: {result}")
                    again.append(tx)
            txs = again
            if txs:
                time.sleep(POLL_S)


def cpu_seconds(pid: int) -> float:
    """A process's user and system CPU seconds so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nodes_cpu_seconds(cluster: Cluster) -> float:
    return sum(cpu_seconds(process.pid) for process in cluster.processes.values())


class Figures(NamedTuple):
    calls_per_s: float
    call_to_receipt_p50_ms: float
    call_to_logblock_p50_ms: float
    nodes_cpu_s: float
    nodes_cpu_ms_per_call: float
    client_cpu_s: float
    catch_up_calls: int
    unchecked_receipts: int

    def line(self) -> str:
        return (
            f"calls_per_s={self.calls_per_s:.1f} "
            f"call_to_receipt_p50_ms={self.call_to_receipt_p50_ms:.0f} "
            f"call_to_logblock_p50_ms={self.call_to_logblock_p50_ms:.0f} "
            f"nodes_cpu_s={self.nodes_cpu_s:.1f} "
            f"nodes_cpu_ms_per_call={self.nodes_cpu_ms_per_call:.2f} "
            f"client_cpu_s={self.client_cpu_s:.1f} "
            f"catch_up_calls={self.catch_up_calls} "
            f"unchecked_receipts={self.unchecked_receipts}"
        )


def logged(logs: str, message: str, field: str) -> int:
    """The sum of `field` over the nodes' log lines of `message` (JSON lines)."""
    total = 0
    for line in logs.splitlines():
        if f'"{message}"' in line:
            total += json.loads(line).get(field, 0)
    return total


def run(count: int, epoch_blocks: int | None = None) -> Figures:
    with (
        tempfile.TemporaryDirectory() as directory,
        running(Path(directory) / "net", epoch_blocks=epoch_blocks) as cluster,
    ):
        cluster.wait_height(1, timeout_s=180)  # four processes importing on a busy VM
        senders = fresh_accounts(count)
        fund(cluster, senders)
        module = Path(directory) / "counter.wat"
        module.write_text(COUNTER.read_text())
        (Path(directory) / "app.toml").write_text(
            f"[app]\nreplicas = {REPLICAS}\nfuel_limit = 100000\n"
        )
        bpi(cluster, "deploy", str(module), "--fuel-price", "0.000000002")
        app_id = cage.app_id(cage.wat_to_wasm(COUNTER.read_text()))
        txs = calls(cluster, app_id, count, senders=senders)
        idle_from, idle_cpu = time.monotonic(), nodes_cpu_seconds(cluster)
        time.sleep(IDLE_S)
        submitted = time.monotonic()
        nodes_cpu, client_cpu = nodes_cpu_seconds(cluster), time.process_time()
        idle_rate = (nodes_cpu - idle_cpu) / (submitted - idle_from)
        submit_all(cluster, txs)
        receipt_seen, logblock_seen = watch(cluster, app_id.hex(), count)
        took = max(logblock_seen.values()) - submitted
        nodes_cpu = nodes_cpu_seconds(cluster) - nodes_cpu
        per_call_ms = (nodes_cpu - idle_rate * (time.monotonic() - submitted)) / count * 1000
        client_cpu = time.process_time() - client_cpu
        to_receipt = statistics.median(seen - submitted for seen in receipt_seen.values())
        to_logblock = statistics.median(seen - submitted for seen in logblock_seen.values())
        logs = "\n".join(cluster.log(name) for name in cluster.names)
        return Figures(
            count / took,
            to_receipt * 1000,
            to_logblock * 1000,
            nodes_cpu,
            per_call_ms,
            client_cpu,
            logged(logs, "executing calls", "catching_up"),
            logged(logs, "peer receipts held already", "unchecked"),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS, help=f"calls (default {CALLS})")
    parser.add_argument(
        "--epoch-blocks", type=int, default=None, help="staking.epoch_blocks (default: genesis)"
    )
    arguments = parser.parse_args()
    count = arguments.calls
    figures = run(count, arguments.epoch_blocks)
    epochs = (
        "" if arguments.epoch_blocks is None else f", epochs of {arguments.epoch_blocks} blocks"
    )
    print(f"4 validators, counter.wat, {REPLICAS} replicas, {count} calls in one batch{epochs}")
    print(figures.line())


if __name__ == "__main__":
    main()
